"""Pure parsing and mapping of the feeds: teams, statuses, markets, matching, quota, backoff."""

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest

from app.feeds.http import RetryPolicy, redacted_url, retry_after_seconds
from app.feeds.odds import odds_params
from app.feeds.schedule import day_is_over
from app.ingest import rules
from app.ingest.feed_source import MalformedResponse, load_json
from app.ingest.odds_feed import (
    OddsEvent,
    match_game,
    odds_payloads,
    parse_events,
    quota_from_headers,
)
from app.ingest.schedule_feed import parse_game, parse_schedule, schedule_payloads
from app.ingest.teams import (
    CANONICAL_TEAMS,
    MLB_ABBREVIATION_TO_CANONICAL,
    MLB_TEAM_ID_TO_CANONICAL,
    canonical_from_mlb_team,
    canonical_from_team_name,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "feeds"
FETCHED_AT = datetime(2024, 6, 15, 14, 30, tzinfo=UTC)

# The 30 clubs: MLB Stats API id, abbreviation, the full name The Odds API uses, our code.
CLUBS = [
    (108, "LAA", "Los Angeles Angels", "ANA"),
    (109, "AZ", "Arizona Diamondbacks", "ARI"),
    (110, "BAL", "Baltimore Orioles", "BAL"),
    (111, "BOS", "Boston Red Sox", "BOS"),
    (112, "CHC", "Chicago Cubs", "CHN"),
    (113, "CIN", "Cincinnati Reds", "CIN"),
    (114, "CLE", "Cleveland Guardians", "CLE"),
    (115, "COL", "Colorado Rockies", "COL"),
    (116, "DET", "Detroit Tigers", "DET"),
    (117, "HOU", "Houston Astros", "HOU"),
    (118, "KC", "Kansas City Royals", "KCA"),
    (119, "LAD", "Los Angeles Dodgers", "LAN"),
    (120, "WSH", "Washington Nationals", "WAS"),
    (121, "NYM", "New York Mets", "NYN"),
    (133, "ATH", "Athletics", "OAK"),
    (134, "PIT", "Pittsburgh Pirates", "PIT"),
    (135, "SD", "San Diego Padres", "SDN"),
    (136, "SEA", "Seattle Mariners", "SEA"),
    (137, "SF", "San Francisco Giants", "SFN"),
    (138, "STL", "St. Louis Cardinals", "SLN"),
    (139, "TB", "Tampa Bay Rays", "TBA"),
    (140, "TEX", "Texas Rangers", "TEX"),
    (141, "TOR", "Toronto Blue Jays", "TOR"),
    (142, "MIN", "Minnesota Twins", "MIN"),
    (143, "PHI", "Philadelphia Phillies", "PHI"),
    (144, "ATL", "Atlanta Braves", "ATL"),
    (145, "CWS", "Chicago White Sox", "CHA"),
    (146, "MIA", "Miami Marlins", "MIA"),
    (147, "NYY", "New York Yankees", "NYA"),
    (158, "MIL", "Milwaukee Brewers", "MIL"),
]


def test_all_thirty_clubs_map_by_id_abbreviation_and_name() -> None:
    assert len(CLUBS) == 30 and {code for *_, code in CLUBS} == CANONICAL_TEAMS
    assert set(MLB_TEAM_ID_TO_CANONICAL) == {team_id for team_id, *_ in CLUBS}
    assert set(MLB_TEAM_ID_TO_CANONICAL.values()) == CANONICAL_TEAMS
    assert set(MLB_ABBREVIATION_TO_CANONICAL.values()) == CANONICAL_TEAMS
    for team_id, abbreviation, name, code in CLUBS:
        assert canonical_from_mlb_team(team_id) == code
        assert canonical_from_mlb_team(None, abbreviation) == code
        assert canonical_from_mlb_team(None, None, name) == code
        assert canonical_from_team_name(name) == code


def test_an_unknown_team_id_is_not_rescued_by_its_name() -> None:
    assert canonical_from_mlb_team(159, "AL", "American League All-Stars") is None
    assert canonical_from_mlb_team(999, None, "New York Yankees") is None


def _preview() -> list:
    return schedule_payloads(
        json.loads((FIXTURES / "schedule-2024-06-15-preview.json").read_text())
    )


def test_a_schedule_day_parses_with_its_doubleheader() -> None:
    parsed = parse_schedule(_preview())
    assert parsed.findings == [] and len(parsed.games) == 15
    doubleheader = [game for game in parsed.games if game.home_team == "NYA"]
    assert [(g.game_number, g.game_key) for g in doubleheader] == [
        (1, "20240615-NYA-BAL-1"),
        (2, "20240615-NYA-BAL-2"),
    ]
    assert all(game.status == "scheduled" for game in parsed.games)
    late = next(game for game in parsed.games if game.home_team == "SFN")
    assert late.official_date == date(2024, 6, 15)
    assert late.start_time == datetime(2024, 6, 16, 2, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ({"abstractGameState": "Preview", "codedGameState": "S"}, "scheduled"),
        ({"abstractGameState": "Live", "codedGameState": "I"}, "live"),
        ({"abstractGameState": "Final", "codedGameState": "F"}, "final"),
        ({"abstractGameState": "Final", "codedGameState": "O"}, "final"),
        ({"abstractGameState": "Final", "codedGameState": "D"}, "postponed"),
        ({"abstractGameState": "Final", "detailedState": "Postponed"}, "postponed"),
        ({"abstractGameState": "Final", "codedGameState": "C"}, "cancelled"),
        ({"abstractGameState": "Live", "codedGameState": "T"}, "suspended"),
    ],
)
def test_statuses(status: dict, expected: str) -> None:
    payload = {**_preview()[0], "status": status}
    assert parse_game(1, payload, []).status == expected


@pytest.mark.parametrize(
    ("double_header", "number", "expected"),
    [("N", 1, 0), ("Y", 1, 1), ("Y", 2, 2), ("S", 2, 2), ("Y", 3, None), ("X", 1, None)],
)
def test_game_numbers(double_header: str, number: int, expected: int | None) -> None:
    findings: list = []
    payload = {**_preview()[0], "doubleHeader": double_header, "gameNumber": number}
    game = parse_game(1, payload, findings)
    if expected is None:
        assert game is None and findings[0].rule is rules.FEEDS_UNPARSEABLE_GAME
    else:
        assert game.game_number == expected


def test_final_scores_and_scheduled_innings() -> None:
    finals = json.loads((FIXTURES / "schedule-2024-06-15-finals.json").read_text())
    payload = {**schedule_payloads(finals)[0], "scheduledInnings": 7}
    game = parse_game(1, payload, [])
    assert (game.status, game.home_score, game.away_score) == ("final", 5, 2)
    assert game.is_final and game.scheduled_innings == 7


@pytest.mark.parametrize(
    ("change", "rule"),
    [
        ({"gameType": "S"}, rules.FEEDS_NOT_A_LEAGUE_GAME),
        ({"gamePk": "745001"}, rules.FEEDS_UNPARSEABLE_GAME),
        ({"gameDate": "tomorrow"}, rules.FEEDS_UNPARSEABLE_GAME),
        ({"status": None}, rules.FEEDS_UNPARSEABLE_GAME),
    ],
)
def test_games_that_cannot_be_curated_name_their_rule(change: dict, rule: rules.Rule) -> None:
    findings: list = []
    assert parse_game(7, {**_preview()[0], **change}, findings) is None
    assert [(f.rule, f.row_numbers) for f in findings] == [(rule, (7,))]


@pytest.mark.parametrize("body", [b"{", b"<html>502</html>", b"\xff\xfe"])
def test_malformed_bodies(body: bytes) -> None:
    with pytest.raises(MalformedResponse):
        load_json(body)


def test_shapes_are_checked() -> None:
    with pytest.raises(MalformedResponse):
        schedule_payloads({"games": []})
    with pytest.raises(MalformedResponse):
        odds_payloads({"message": "error"})


def _morning() -> list:
    return json.loads((FIXTURES / "odds-2024-06-15-morning.json").read_text())


def test_odds_events_parse_into_quotes_per_book() -> None:
    events, findings = parse_events(_morning(), FETCHED_AT)
    assert len(events) == 14
    assert sorted(f.rule.name for f in findings) == [
        "feeds_odds_market_implausible",
        "feeds_unknown_team",
        "feeds_unparseable_event",
    ]
    first = events[0]
    assert (first.home_team, first.away_team) == ("NYA", "BAL")
    assert [quote.book for quote in first.quotes] == [
        "draftkings",
        "fanduel",
        "williamhill_us",
        "betmgm",
    ]
    quote = first.quotes[0]
    assert quote.captured_at == datetime(2024, 6, 15, 14, 2, 11, tzinfo=UTC)
    assert (quote.total, quote.over_price, quote.under_price) == (8.5, -110, -110)
    assert (quote.home_rl, quote.home_rl_price, quote.away_rl_price) == (-1.5, 141, -166)
    assert (quote.home_ml, quote.away_ml) == (-135, 115)
    implausible = events[2].quotes[1]
    assert implausible.home_ml is None and implausible.total == 8.5


def test_a_quote_without_any_readable_market_is_rejected() -> None:
    event = _morning()[0]
    event["bookmakers"] = [{"key": "lowvig", "last_update": "2024-06-15T14:00:00Z", "markets": []}]
    events, findings = parse_events([event], FETCHED_AT)
    assert events[0].quotes == ()
    assert [f.rule for f in findings] == [rules.FEEDS_ODDS_NO_MARKET]


def test_a_quote_without_last_update_is_stamped_with_its_markets_or_the_fetch() -> None:
    event = _morning()[0]
    book = event["bookmakers"][0]
    del book["last_update"]
    events, _ = parse_events([event], FETCHED_AT)
    assert events[0].quotes[0].captured_at == datetime(2024, 6, 15, 14, 2, 11, tzinfo=UTC)
    for market in book["markets"]:
        del market["last_update"]
    events, _ = parse_events([event], FETCHED_AT)
    assert events[0].quotes[0].captured_at == FETCHED_AT


def _game(game_id: int, start: datetime | None, status: str | None = "scheduled"):
    return SimpleNamespace(id=game_id, start_time=start, status=status)


def _event(commence: datetime) -> OddsEvent:
    return OddsEvent(1, "e", commence, "NYA", "BAL", ())


def test_a_doubleheader_event_matches_the_nearest_start() -> None:
    first = _game(1, datetime(2024, 6, 15, 17, 5, tzinfo=UTC))
    second = _game(2, datetime(2024, 6, 15, 23, 5, tzinfo=UTC))
    assert (
        match_game(_event(datetime(2024, 6, 15, 22, 40, tzinfo=UTC)), [first, second])[0] is second
    )
    assert match_game(_event(datetime(2024, 6, 15, 17, 5, tzinfo=UTC)), [first, second])[0] is first
    untimed = [_game(1, None), _game(2, None)]
    game, why = match_game(_event(datetime(2024, 6, 15, 17, 5, tzinfo=UTC)), untimed)
    assert game is None and "start time" in why
    postponed = _game(3, None, "postponed")
    assert (
        match_game(_event(datetime(2024, 6, 15, 17, 5, tzinfo=UTC)), [postponed, first])[0] is first
    )


def test_the_eastern_date_of_a_late_game() -> None:
    late = _event(datetime(2024, 6, 16, 2, 10, tzinfo=UTC))
    assert late.local_date == date(2024, 6, 15)


def test_odds_query_of_a_day_spans_its_eastern_hours() -> None:
    params = odds_params("KEY", date(2024, 6, 15))
    assert params["commenceTimeFrom"] == "2024-06-15T04:00:00Z"
    assert params["commenceTimeTo"] == "2024-06-16T03:59:59Z"
    assert "commenceTimeFrom" not in odds_params("KEY", None)
    assert "KEY" not in redacted_url("http://x/v4", params)


def test_quota_headers() -> None:
    quota = quota_from_headers(
        {"X-Requests-Remaining": "12", "x-requests-used": "488", "x-requests-last": "3"}
    )
    assert (quota.remaining, quota.used, quota.last) == (12, 488, 3)
    assert quota_from_headers({}).as_dict() == {}


def test_retry_after_and_backoff() -> None:
    now = datetime(2024, 6, 15, 12, 0, tzinfo=UTC)
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds("Sat, 15 Jun 2024 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5)
    assert [policy.backoff(n, lambda: 0.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert policy.backoff(1, lambda: 1.0) == 1.5
    assert timedelta(seconds=policy.backoff(2, lambda: 0.5)) == timedelta(seconds=2.5)


def test_a_day_is_over_once_every_game_is_final_postponed_or_cancelled() -> None:
    day, later = date(2024, 6, 15), date(2024, 7, 1)
    finals = (FIXTURES / "schedule-2024-06-15-finals.json").read_bytes()
    assert day_is_over(finals, day, later) == (15, False)  # OAK@SEA still live
    document = json.loads(finals)
    for game in document["dates"][0]["games"]:
        if game["status"]["codedGameState"] == "I":
            game["status"] = {"abstractGameState": "Final", "codedGameState": "F"}
    assert day_is_over(json.dumps(document).encode(), day, later) == (15, True)
    empty = b'{"dates": []}'
    assert day_is_over(empty, day, later) == (0, True)  # a past day without games
    assert day_is_over(empty, later, later) == (0, False)  # today may still get its games
    assert day_is_over(b"not json", day, later) == (0, False)
