"""A backfill walks a date range of the schedule provider: polite, resumable, and through the
CLI, the job runtime and the API alike."""

import copy
import itertools
import json
import time
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
import redis
import sqlalchemy as sa
from click.testing import CliRunner

from app.cli import main
from app.config import Settings
from app.db.session import get_engine, session_scope
from app.features.definitions import FEATURE_SET
from app.features.refresh import refresh_features
from app.feeds.http import FeedClient, RetryPolicy
from app.feeds.run import backfill_schedule
from app.feeds.schedule import SCHEDULE_PATH
from app.ingest.jobs import refresh_after_changed_results
from app.ingest.retrosheet import parse as retrosheet
from app.ingest.sources import ingest
from tests.gamelogs import game_log_with, opener_schedule, shifted_game_log
from tests.integration.conftest import redis_database, start_worker, stop_worker
from tests.integration.feeds.conftest import FIXTURES, Provider, Reply
from workers.api import create_api

pytestmark = pytest.mark.integration

FINALS = json.loads((FIXTURES / "schedule-2024-06-15-finals.json").read_bytes())
FIXTURE_DAY = date(2024, 6, 15)
FAST = RetryPolicy(attempts=2, base_delay=0.05, max_delay=5.0, jitter=0.0)
LATER = datetime(2024, 7, 1, 12, tzinfo=UTC)  # "now" for these walks: every day is past
BROKER_DB = 10  # a broker of its own (the services pass uses 14 and 15 for the session)


def _day(day: date, *, over: bool) -> Reply:
    """The fixture's slate moved to ``day`` (new gamePks); ``over``: every game final."""
    document = copy.deepcopy(FINALS)
    shift = (day - FIXTURE_DAY).days
    for entry in document["dates"]:
        entry["date"] = day.isoformat()
        for game in entry["games"]:
            game["gamePk"] += 1000 * shift
            start = datetime.fromisoformat(game["gameDate"].replace("Z", "+00:00"))
            game["gameDate"] = (start + timedelta(days=shift)).strftime("%Y-%m-%dT%H:%M:%SZ")
            game["officialDate"] = day.isoformat()
            if over:
                game["status"] = {
                    "abstractGameState": "Final", "codedGameState": "F", "detailedState": "Final"
                }  # fmt: skip
                for side, runs in (("away", 3), ("home", 4)):
                    game["teams"][side].setdefault("score", runs)
                    if game["teams"][side]["score"] is None:
                        game["teams"][side]["score"] = runs
    return Reply(200, json.dumps(document).encode())


NO_GAMES = Reply(200, json.dumps({"totalGames": 0, "dates": []}).encode())
RATE_LIMITED = Reply(429, b'{"message": "slow down"}', {"Retry-After": "3600"})


def _rows(url: str, sql: str) -> list:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.text(sql)).all()


def _asked_dates(provider: Provider) -> list[str]:
    return [seen.query["date"][0] for seen in provider.requests_to(SCHEDULE_PATH)]


def test_a_backfill_walks_the_range_politely_and_resumes_where_it_stopped(
    feed_settings: Settings, provider: Provider
) -> None:
    url = feed_settings.database_url
    settings = replace(feed_settings, schedule_backfill_interval=0.3)
    d1, d2, d3, d4 = (date(2024, 6, 12) + timedelta(days=n) for n in range(4))
    # d1 over, d2 a day without games, d3 one game still live, d4 refused: rate limited for
    # an hour (longer than the client waits).
    provider.serve(SCHEDULE_PATH, _day(d1, over=True), NO_GAMES, _day(d3, over=False), RATE_LIMITED)
    client = FeedClient(policy=FAST)

    first = backfill_schedule(settings, d1, d4, client=client, now=lambda: LATER)

    assert first.days_pulled == [d1, d2, d3] and first.stopped_at == d4
    assert "rate limited (429)" in first.errors[0] and not first.ok
    assert "stopped at 2024-06-15: run it again to resume" in first.walk_summary()
    assert _asked_dates(provider) == [d.isoformat() for d in (d1, d2, d3, d4)]
    # Polite: at least the interval between two calls (a loaded machine only adds to it).
    moments = [seen.at for seen in provider.requests_to(SCHEDULE_PATH)]
    assert min(b - a for a, b in itertools.pairwise(moments)) >= 0.3 - 0.01
    finals = "SELECT count(*) FROM games WHERE home_score IS NOT NULL AND status = 'final'"
    assert _rows(url, finals) == [(15 + 13,)]  # d1 all final; d3 13 (one postponed, one live)
    assert dict(_rows(url, "SELECT day, complete FROM feed_days")) == {
        d1: True,
        d2: True,
        d3: False,
    }

    # The re-run skips the days that are over and pulls the rest: d3 (now over) and d4.
    provider.seen.clear()
    provider.serve(SCHEDULE_PATH, _day(d3, over=True), _day(d4, over=True))
    second = backfill_schedule(settings, d1, d4, client=client, now=lambda: LATER)
    assert second.ok and second.stopped_at is None
    assert second.days_skipped == [d1, d2] and second.days_pulled == [d3, d4]
    assert _asked_dates(provider) == [d3.isoformat(), d4.isoformat()]
    assert _rows(url, finals) == [(4 * 15 - 15,)]  # d1, d3, d4: 15 each (d2 had none)
    assert len(second.became_final) == 2 + 15  # d3's postponed and live games, d4's slate

    # Nothing left: no call at all; --force pulls again (the same bytes: a no-op ingest).
    provider.seen.clear()
    third = backfill_schedule(settings, d1, d4, client=client, now=lambda: LATER)
    assert third.days_skipped == [d1, d2, d3, d4] and not provider.seen
    forced = backfill_schedule(settings, d3, d3, client=client, now=lambda: LATER, force=True)
    assert forced.days_pulled == [d3] and forced.reports[0].skipped_unchanged
    assert _rows(url, "SELECT count(*) FROM games") == [(45,)]


def test_the_cli_walks_a_range_and_refuses_half_a_range(
    feed_settings: Settings, provider: Provider, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in replace(feed_settings, schedule_backfill_interval=0.0).as_env().items():
        monkeypatch.setenv(key, value)
    d1 = date(2024, 6, 12)
    provider.serve(SCHEDULE_PATH, _day(d1, over=True), _day(d1 + timedelta(days=1), over=True))
    runner = CliRunner()

    result = runner.invoke(main, ["feed", "schedule", "--from", "2024-06-12", "--to", "2024-06-13"])
    assert result.exit_code == 0, result.output
    assert "[1/2] " in result.output and "[2/2] " in result.output
    assert "schedule backfill: 2 days pulled, 0 skipped (over already), 30 games created" in (
        result.output
    )
    again = runner.invoke(main, ["feed", "schedule", "--from", "2024-06-12", "--to", "2024-06-13"])
    assert "0 days pulled, 2 skipped" in again.output

    half = runner.invoke(main, ["feed", "schedule", "--from", "2024-06-12"])
    assert half.exit_code != 0 and "needs both --from and --to" in half.output
    backwards = runner.invoke(
        main, ["feed", "schedule", "--from", "2024-06-13", "--to", "2024-06-12"]
    )
    assert backwards.exit_code != 0 and "is before --from" in backwards.output


def test_the_backfill_job_runs_through_the_api_on_a_real_worker(
    settings: Settings, clean_database: str, provider: Provider
) -> None:
    broker = redis_database(settings.broker_url, BROKER_DB)
    redis.Redis.from_url(broker).flushdb()
    worker_settings = replace(
        settings,
        database_url=clean_database,
        broker_url=broker,
        schedule_api_url=provider.url,
        schedule_backfill_interval=0.0,
    )
    days = [date(2024, 6, 12) + timedelta(days=n) for n in range(3)]
    provider.serve(SCHEDULE_PATH, *(_day(day, over=True) for day in days))
    client = create_api(worker_settings).test_client()

    bad = client.post("/api/v1/feeds/schedule", json={"from": "2024-06-14", "to": "2024-06-12"})
    assert bad.status_code == 422 and "to" in bad.json["errors"]

    worker = start_worker(worker_settings, concurrency=1)
    try:
        response = client.post(
            "/api/v1/feeds/schedule", json={"from": "2024-06-12", "to": "2024-06-14"}
        )
        assert response.status_code == 202, response.json
        job_url = response.headers["Location"]
        deadline = time.monotonic() + 120  # a cold worker on a loaded 2-core machine
        while (job := client.get(f"{job_url}?wait=10").json)["status"] in ("queued", "running"):
            assert time.monotonic() < deadline, job
        assert job["status"] == "succeeded", job
        assert job["kind"] == "schedule_backfill"
        assert job["progress"] == {"done": 3, "total": 3}
        assert _rows(clean_database, "SELECT count(*) FROM games") == [(45,)]
        assert _rows(clean_database, "SELECT count(*) FROM feed_days WHERE complete") == [(3,)]
    finally:
        stop_worker(worker)


def test_a_log_after_the_feed_prices_nothing_but_settles_the_final_by_the_named_rule(
    feed_settings: Settings, provider: Provider, sample_dir: Path, tmp_path: Path
) -> None:
    url = feed_settings.database_url
    provider.serve(SCHEDULE_PATH, Reply.fixture("schedule-2024-06-15-finals.json"))
    client = FeedClient(policy=FAST)
    backfill_schedule(feed_settings, FIXTURE_DAY, FIXTURE_DAY, client=client, now=lambda: LATER)
    game = "SELECT id, home_score, away_score FROM games WHERE game_key = '20240615-TOR-BOS-0'"
    ((game_id, home, away),) = _rows(url, game)
    assert (home, away) == (1, 4)  # the feed's final

    # The official log of that day says 4-2 (line scores agreeing with it).
    log = game_log_with(
        sample_dir / "GL2019.TXT.gz",
        tmp_path,
        "GL2024.TXT",
        [
            {
                retrosheet.DATE: "20240615", retrosheet.GAME_NUMBER: "0",
                retrosheet.AWAY_TEAM: "BOS", retrosheet.HOME_TEAM: "TOR",
                retrosheet.AWAY_SCORE: "4", retrosheet.HOME_SCORE: "2",
                retrosheet.AWAY_LINE_SCORE: "400000000", retrosheet.HOME_LINE_SCORE: "00000002x",
            }
        ],
    )  # fmt: skip
    with session_scope(url) as session:
        (report,) = ingest(session, "retrosheet", [log])
    assert report.games_curated == 1 and report.results_only == 1
    assert report.conflicts == {"sources_final_score_disagree": 1}
    assert _rows(url, game) == [(game_id, 2, 4)]  # the same game; the official final
    ((values,),) = _rows(url, "SELECT values FROM source_conflicts")
    assert values == {
        "schedule_feed": {"home": 1, "away": 4},
        "retrosheet": {"home": 2, "away": 4},
    }
    assert _rows(url, "SELECT count(*) FROM games") == [(15,)]

    # The feed again, its final still 4-1: named again, the official final kept.
    provider.serve(SCHEDULE_PATH, _day(FIXTURE_DAY, over=False))
    backfill_schedule(
        feed_settings, FIXTURE_DAY, FIXTURE_DAY, client=client, now=lambda: LATER, force=True
    )
    assert _rows(url, game) == [(game_id, 2, 4)]
    fired = "SELECT count(*) FROM quarantine WHERE rule = 'sources_final_score_disagree'"
    assert _rows(url, fired) == [(1,)]


class _Captured:
    """A feature writer keeping what it is given (the feature store's ``put_many``)."""

    feature_set = FEATURE_SET

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, float]] = {}

    def put_many(self, features) -> int:
        for game_id, row in features.items():
            self.rows[game_id] = dict(zip(FEATURE_SET.names, row.tolist(), strict=True))
        return len(features)


CARRIED = (
    "home_pythag", "away_pythag", "home_sp_runs_allowed_per_start",
    "away_sp_runs_allowed_per_start", "home_sp_team_win_rate", "away_sp_team_win_rate",
)  # fmt: skip


def test_a_later_seasons_day_through_the_feed_reads_a_results_only_season(
    feed_settings: Settings, provider: Provider, sample_dir: Path, tmp_path: Path
) -> None:
    url = feed_settings.database_url
    # A season never seen: the shipped 2019 log moved to 2022, no odds archive for it.
    log = shifted_game_log(sample_dir / "GL2019.TXT.gz", 3, tmp_path)
    opener = opener_schedule(log)
    day = date.fromisoformat(opener["dates"][0]["date"])
    provider.serve(SCHEDULE_PATH, Reply(200, json.dumps(opener).encode()))
    run = backfill_schedule(feed_settings, day, day, client=FeedClient(policy=FAST))
    (game_id,) = run.reports[0].games_created

    before = _Captured()
    with session_scope(url) as session:
        refresh_features(session, before, game_ids=[game_id])
    assert all(np.isnan(before.rows[game_id][name]) for name in CARRIED)
    assert before.rows[game_id]["home_win_rate"] == 0.5

    after = _Captured()
    with session_scope(url) as session:
        reports = ingest(session, "retrosheet", [log])
        assert reports[0].seasons_added == [2022]
        # The next season's stored features are stale: refreshed in the same transaction.
        assert refresh_after_changed_results(session, after, reports) == 1
    carried = after.rows[game_id]
    assert not any(np.isnan(carried[name]) for name in CARRIED), carried
    assert carried["home_win_rate"] != 0.5 and carried["away_win_rate"] != 0.5


def test_the_feed_after_a_log_finds_its_games_even_numbered_differently(
    feed_settings: Settings, provider: Provider, sample_dir: Path, tmp_path: Path
) -> None:
    url = feed_settings.database_url
    # The log numbers 2024-06-15 BOS at TOR as a doubleheader's second game; the feed lists a
    # single game (number 0) with the same final, 4-1.
    log = game_log_with(
        sample_dir / "GL2019.TXT.gz",
        tmp_path,
        "GL2024.TXT",
        [
            {
                retrosheet.DATE: "20240615", retrosheet.GAME_NUMBER: "2",
                retrosheet.AWAY_TEAM: "BOS", retrosheet.HOME_TEAM: "TOR",
                retrosheet.AWAY_SCORE: "4", retrosheet.HOME_SCORE: "1",
                retrosheet.AWAY_LINE_SCORE: "400000000", retrosheet.HOME_LINE_SCORE: "000000010",
            }
        ],
    )  # fmt: skip
    with session_scope(url) as session:
        ingest(session, "retrosheet", [log])
    ((game_id,),) = _rows(url, "SELECT id FROM games")

    provider.serve(SCHEDULE_PATH, Reply.fixture("schedule-2024-06-15-finals.json"))
    backfill_schedule(feed_settings, FIXTURE_DAY, FIXTURE_DAY, client=FeedClient(policy=FAST))
    assert _rows(url, "SELECT count(*) FROM games") == [(15,)]
    assert _rows(
        url, "SELECT id, game_key, mlb_game_pk FROM games WHERE retrosheet_game_id IS NOT NULL"
    ) == [(game_id, "20240615-TOR-BOS-0", 745003)]
    assert _rows(url, "SELECT count(*) FROM quarantine") == [(0,)]
