"""The live feeds against a real local HTTP server and a real PostgreSQL."""

import time
from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from app.config import Settings
from app.db.session import get_engine, session_scope
from app.features.loading import load_snapshots_frame
from app.feeds.http import FeedClient, RetryPolicy
from app.feeds.odds import ODDS_PATH
from app.feeds.run import pull_odds, pull_schedule
from app.feeds.schedule import SCHEDULE_PATH
from app.games.models import Game
from app.games.queries import load_games_frame
from tests.integration.feeds.conftest import FIXTURES, Provider, Reply

pytestmark = pytest.mark.integration

DAY = date(2024, 6, 15)
FAST = RetryPolicy(attempts=4, base_delay=0.05, max_delay=5.0, jitter=0.0)
QUOTA = {"x-requests-remaining": "4997", "x-requests-used": "3", "x-requests-last": "3"}


def _rows(url: str, sql: str, **params: object) -> list:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.text(sql), params).all()


def _games(url: str) -> dict[str, tuple]:
    rows = _rows(
        url,
        "SELECT game_key, id, mlb_game_pk, status, home_score, away_score, home_pitcher,"
        " away_pitcher, start_time, scheduled_innings FROM games",
    )
    return {key: tuple(rest) for key, *rest in rows}


def _quarantined(url: str) -> dict[str, int]:
    return dict(_rows(url, "SELECT rule, count(*) FROM quarantine GROUP BY rule"))


def _archive_games(url: str) -> dict[str, int]:
    """Two games curated before the feed ran (as an archive would have): the feed updates them."""
    with session_scope(url) as session:
        games = [
            Game(
                game_key=key,
                season=2024,
                game_date=DAY,
                game_number=number,
                home_team=home,
                away_team=away,
            )
            for key, home, away, number in (
                ("20240615-NYA-BAL-1", "NYA", "BAL", 1),
                ("20240615-TOR-BOS-0", "TOR", "BOS", 0),
            )
        ]
        session.add_all(games)
        session.flush()
        return {game.game_key: game.id for game in games}


def test_a_day_of_games_then_its_finals(feed_settings: Settings, provider: Provider) -> None:
    url = feed_settings.database_url
    archived = _archive_games(url)
    provider.serve(
        SCHEDULE_PATH,
        Reply.fixture("schedule-2024-06-15-preview.json"),
        Reply.fixture("schedule-2024-06-15-finals.json"),
    )

    morning = pull_schedule(feed_settings, dates=[DAY], client=FeedClient(policy=FAST))

    assert morning.ok and morning.errors == []
    (report,) = morning.reports
    assert report.raw_rows == 15 and report.quarantined == {}
    assert len(report.games_created) == 13 and sorted(report.games_updated) == sorted(
        archived.values()
    )
    assert report.became_final == []
    (request,) = provider.requests_to(SCHEDULE_PATH)
    assert request.query == {
        "sportId": ["1"],
        "date": ["2024-06-15"],
        "hydrate": ["probablePitcher,linescore,lineups"],
    }
    games = _games(url)
    assert len(games) == 15
    # The archive's games were updated, not duplicated.
    assert games["20240615-NYA-BAL-1"][0] == archived["20240615-NYA-BAL-1"]
    assert games["20240615-NYA-BAL-1"][1] == 745001
    assert games["20240615-TOR-BOS-0"][0] == archived["20240615-TOR-BOS-0"]
    # The doubleheader's second game, its start, its probable pitchers.
    _, pk, status, home, away, home_pitcher, away_pitcher, start, innings = games[
        "20240615-NYA-BAL-2"
    ]
    assert (pk, status, home, away) == (745002, "scheduled", None, None)
    assert (home_pitcher, away_pitcher) == ("Luis Gil", "Grayson Rodriguez")
    assert start == datetime(2024, 6, 15, 23, 5, tzinfo=UTC) and innings == 9
    # No probable pitcher announced: none stored.
    assert games["20240615-TEX-HOU-0"][5:7] == (None, "Framber Valdez")
    # The late West Coast games keep their US date (first pitch is 2024-06-16 in UTC).
    assert "20240615-SEA-OAK-0" in games and "20240615-SFN-LAN-0" in games
    # Every game of the response is a raw row pointing to its curated game.
    assert _rows(url, "SELECT count(*), count(game_id) FROM raw_feed_rows") == [(15, 15)]

    evening = pull_schedule(feed_settings, dates=[DAY], client=FeedClient(policy=FAST))

    (final_report,) = evening.reports
    games = _games(url)
    finals = {key: row for key, row in games.items() if row[2] == "final"}
    assert len(finals) == 13
    assert sorted(evening.became_final) == sorted(row[0] for row in finals.values())
    assert games["20240615-NYA-BAL-1"][2:5] == ("final", 5, 2)
    assert games["20240615-NYA-BAL-2"][2:5] == ("final", 3, 6)
    assert games["20240615-SLN-CHN-0"][2:5] == ("postponed", None, None)
    assert games["20240615-SEA-OAK-0"][2:5] == ("live", None, None)
    assert set(final_report.status_changed) == {row[0] for row in games.values()}
    assert len(games) == 15

    # The same response again: nothing written, nothing becomes final twice.
    provider.serve(SCHEDULE_PATH, Reply.fixture("schedule-2024-06-15-finals.json"))
    again = pull_schedule(feed_settings, dates=[DAY], client=FeedClient(policy=FAST))
    assert again.reports[0].skipped_unchanged and again.became_final == []
    assert _games(url) == games
    assert _rows(url, "SELECT count(*) FROM ingested_files WHERE source = 'schedule_feed'") == [
        (2,)
    ]


def test_unknown_teams_and_unreadable_games_are_quarantined_the_rest_written(
    feed_settings: Settings, provider: Provider
) -> None:
    url = feed_settings.database_url
    provider.serve(SCHEDULE_PATH, Reply.fixture("schedule-2024-06-16-defects.json"))

    run = pull_schedule(feed_settings, dates=[date(2024, 6, 16)], client=FeedClient(policy=FAST))

    (report,) = run.reports
    assert report.quarantined == {"feeds_unknown_team": 1, "feeds_unparseable_game": 1}
    assert list(_games(url)) == ["20240616-WAS-ANA-0"]
    (file_id,) = _rows(url, "SELECT id FROM ingested_files WHERE source = 'schedule_feed'")[0]
    rows = _rows(url, "SELECT rule, file_id, row_numbers, raw FROM quarantine ORDER BY rule")
    assert [(rule, fid, numbers) for rule, fid, numbers, _ in rows] == [
        ("feeds_unknown_team", file_id, [2]),
        ("feeds_unparseable_game", file_id, [3]),
    ]
    # The raw JSON of the quarantined game is kept.
    unknown_raw = rows[0][3][0]["json"]
    assert unknown_raw["teams"]["home"]["team"]["name"] == "Springfield Isotopes"


def test_malformed_json_is_quarantined_and_not_retried(
    feed_settings: Settings, provider: Provider
) -> None:
    url = feed_settings.database_url
    provider.serve(SCHEDULE_PATH, Reply.fixture("schedule-truncated.json"))

    run = pull_schedule(feed_settings, dates=[DAY], client=FeedClient(policy=FAST))

    assert not run.ok
    (report,) = run.reports
    assert report.refused is not None and report.refused.startswith("not JSON")
    assert len(provider.requests_to(SCHEDULE_PATH)) == 1
    assert _quarantined(url) == {"feeds_malformed_response": 1}
    assert _rows(url, "SELECT count(*) FROM games") == [(0,)]
    ((raw,),) = _rows(url, "SELECT raw FROM quarantine")
    truncated = (FIXTURES / "schedule-truncated.json").read_text()
    assert raw[0]["json"] == truncated


def test_429_with_retry_after_then_5xx_then_success(
    feed_settings: Settings, provider: Provider
) -> None:
    provider.serve(
        SCHEDULE_PATH,
        Reply(429, b'{"message": "slow down"}', {"Retry-After": "1"}),
        Reply(503, b"unavailable"),
        Reply.fixture("schedule-2024-06-15-preview.json"),
    )
    client = FeedClient(policy=FAST)

    run = pull_schedule(feed_settings, dates=[DAY], client=client)

    assert run.ok and run.reports[0].raw_rows == 15
    seen = provider.requests_to(SCHEDULE_PATH)
    assert len(seen) == 3
    # Retry-After was honoured (1 s), then the exponential backoff (2 x 0.05 s).
    assert seen[1].at - seen[0].at >= 1.0
    assert 0.1 <= seen[2].at - seen[1].at < 1.0
    assert len(_games(feed_settings.database_url)) == 15


def test_timeouts_are_retried_and_a_dead_provider_is_one_clear_error(
    feed_settings: Settings, provider: Provider
) -> None:
    slow = Reply(200, b"[]", delay=1.5)
    provider.serve(SCHEDULE_PATH, slow, Reply.fixture("schedule-2024-06-15-preview.json"))
    client = FeedClient(read_timeout=0.5, policy=FAST)

    recovered = pull_schedule(feed_settings, dates=[DAY], client=client)

    assert recovered.ok and recovered.reports[0].raw_rows == 15
    assert len(provider.requests_to(SCHEDULE_PATH)) == 2

    provider.serve(SCHEDULE_PATH, slow)
    started = time.monotonic()
    failed = pull_schedule(feed_settings, dates=[date(2024, 6, 16)], client=client)

    assert failed.reports == [] and len(failed.errors) == 1
    assert "timed out" in failed.errors[0] and "gave up after 4 attempts" in failed.errors[0]
    assert len(provider.requests_to(SCHEDULE_PATH)) == 2 + 4
    assert time.monotonic() - started >= 4 * 0.5


def test_a_client_error_is_not_retried(feed_settings: Settings, provider: Provider) -> None:
    provider.serve(ODDS_PATH, Reply(401, b'{"message": "API key is not valid"}'))

    run = pull_odds(feed_settings, client=FeedClient(policy=FAST))

    assert run.errors and "HTTP 401" in run.errors[0] and "API key is not valid" in run.errors[0]
    assert "test-key" not in run.errors[0]
    assert len(provider.requests_to(ODDS_PATH)) == 1


def test_odds_become_line_snapshots_per_book(feed_settings: Settings, provider: Provider) -> None:
    url = feed_settings.database_url
    pull_schedule(feed_settings, from_file=FIXTURES / "schedule-2024-06-15-preview.json")
    provider.serve(
        ODDS_PATH,
        Reply.fixture("odds-2024-06-15-morning.json", **QUOTA),
        Reply.fixture("odds-2024-06-15-afternoon.json", **{**QUOTA, "x-requests-used": "6"}),
    )

    morning = pull_odds(feed_settings, day=DAY, client=FeedClient(policy=FAST))

    (report,) = morning.reports
    assert report.quota == {"remaining": 4997, "used": 3, "last": 3}
    assert report.raw_rows == 16 and report.snapshots == 14 * 3
    assert report.quarantined == {
        "feeds_odds_after_first_pitch": 1,
        "feeds_unknown_team": 1,
        "feeds_unparseable_event": 1,
    }
    assert report.corrections == {"feeds_odds_market_implausible": 1}
    (request,) = provider.requests_to(ODDS_PATH)
    assert request.query["apiKey"] == ["test-key"]
    assert request.query["markets"] == ["h2h,totals,spreads"]
    assert request.query["oddsFormat"] == ["american"]
    assert request.query["commenceTimeFrom"] == ["2024-06-15T04:00:00Z"]
    assert _rows(url, "SELECT count(*) FROM ingested_files WHERE path LIKE '%test-key%'") == [(0,)]
    # Each doubleheader event went to the game nearest its start.
    by_game = dict(
        _rows(
            url,
            "SELECT g.game_key, min(s.home_ml) FROM odds_snapshots s JOIN games g"
            " ON g.id = s.game_id GROUP BY g.game_key",
        )
    )
    assert len(by_game) == 14 and "20240615-SLN-CHN-0" not in by_game
    assert {"20240615-NYA-BAL-1", "20240615-NYA-BAL-2", "20240615-SFN-LAN-0"} <= set(by_game)
    # The implausible moneyline of one book is null; its total and run line are kept.
    ((home_ml, total, home_rl),) = _rows(
        url,
        "SELECT s.home_ml, s.total, s.home_rl FROM odds_snapshots s JOIN games g"
        " ON g.id = s.game_id WHERE g.game_key = '20240615-TOR-BOS-0' AND s.book = 'fanduel'",
    )
    assert (home_ml, total, home_rl) == (None, 8.5, -1.5)

    afternoon = pull_odds(feed_settings, day=DAY, client=FeedClient(policy=FAST))
    # Only DraftKings moved: its new quotes are new snapshots, the others already stored.
    assert afternoon.reports[0].snapshots == 14
    provider.serve(ODDS_PATH, Reply.fixture("odds-2024-06-15-afternoon.json", **QUOTA))
    again = pull_odds(feed_settings, day=DAY, client=FeedClient(policy=FAST))
    assert again.reports[0].skipped_unchanged
    assert _rows(url, "SELECT count(*) FROM odds_snapshots") == [(14 * 4,)]
    assert _rows(
        url,
        "SELECT count(*) FROM (SELECT game_id, book, captured_at FROM odds_snapshots"
        " GROUP BY 1, 2, 3 HAVING count(*) > 1) duplicates",
    ) == [(0,)]

    # The features' line history reads them: the opening line is the first snapshot.
    with session_scope(url) as session:
        (game_id,) = session.execute(
            sa.select(Game.id).where(Game.game_key == "20240615-NYA-BAL-2")
        ).one()
        frame = load_snapshots_frame(session, game_ids=[game_id])
    draftkings = frame[frame["book"] == "draftkings"].sort_values("captured_at")
    assert list(draftkings["home_ml"]) == [-140.0, -150.0]

    # The feed's odds row: per market the first quote seen opens and the last pre-game one
    # closes; the games frame the features and models read falls back to it.
    history = _rows(
        url,
        "SELECT s.home_ml, s.away_ml, s.total, s.over_price FROM odds_snapshots s"
        " JOIN games g ON g.id = s.game_id WHERE g.game_key = '20240615-NYA-BAL-2'"
        " AND s.home_ml IS NOT NULL AND s.total IS NOT NULL ORDER BY s.captured_at, s.book",
    )
    ((feed_row),) = _rows(
        url,
        "SELECT o.home_ml_open, o.away_ml_open, o.home_ml_close, o.away_ml_close, o.total_open,"
        " o.over_open, o.total_close, o.over_close FROM odds o JOIN games g ON g.id = o.game_id"
        " WHERE g.game_key = '20240615-NYA-BAL-2' AND o.book = 'feed'",
    )
    first, last = history[0], history[-1]
    assert feed_row == (first[0], first[1], last[0], last[1], first[2], first[3], last[2], last[3])
    with session_scope(url) as session:
        games = load_games_frame(session, game_ids=[game_id])
    assert games["home_ml_open"].tolist() == [float(first[0])]
    assert games["total_close"].tolist() == [float(last[2])]


def test_no_call_once_the_quota_is_used_up(feed_settings: Settings, provider: Provider) -> None:
    pull_schedule(feed_settings, from_file=FIXTURES / "schedule-2024-06-15-preview.json")
    provider.serve(
        ODDS_PATH,
        Reply.fixture(
            "odds-2024-06-15-morning.json",
            **{"x-requests-remaining": "0", "x-requests-used": "500", "x-requests-last": "3"},
        ),
    )

    last = pull_odds(feed_settings, client=FeedClient(policy=FAST))
    refused = pull_odds(feed_settings, client=FeedClient(policy=FAST))

    assert last.ok and last.reports[0].snapshots == 42
    assert refused.reports == [] and "quota is used up" in refused.errors[0]
    assert len(provider.requests_to(ODDS_PATH)) == 1


def test_the_odds_feed_without_a_key_calls_nothing(
    feed_settings: Settings, provider: Provider
) -> None:
    from dataclasses import replace

    run = pull_odds(replace(feed_settings, odds_api_key=None), client=FeedClient(policy=FAST))

    assert run.errors == ["BULLPEN_ODDS_API_KEY is not set: the odds feed is off"]
    assert provider.seen == []
