"""Dates that stay right, through the feeds, the slate and settlement.

A game's date is its US Eastern date (MLB's ``officialDate``): a 10:10 pm Eastern start is
after midnight UTC and keeps its day; the system's "today" is the US Eastern date; the odds
feed's day is the Eastern day, 23 or 25 hours long on the daylight-saving switch days; a
doubleheader's games settle on their own scores; a game suspended past midnight and finished
on a later day keeps its date and first pitch (so its slate, its closing line and its bets).
"""

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
import redis

from app import clock
from app.bets.ledger import record_user_bet
from app.bets.models import Bet
from app.bets.settlement import settle_open_bets
from app.bets.slate import slate
from app.config import Settings
from app.db.session import session_scope
from app.feeds.http import FeedClient, RetryPolicy
from app.feeds.odds import ODDS_PATH
from app.feeds.run import pull_odds, pull_schedule
from app.feeds.schedule import SCHEDULE_PATH
from app.games.models import Game
from tests.integration.conftest import redis_database
from tests.integration.feeds.conftest import Provider, Reply

pytestmark = pytest.mark.integration

FAST = RetryPolicy(attempts=2, base_delay=0.05, max_delay=1.0, jitter=0.0)
CLOCK_DB = 3  # a Redis database no other test uses
TEAMS = {
    "NYY": (147, "New York Yankees"),
    "BAL": (110, "Baltimore Orioles"),
    "SEA": (136, "Seattle Mariners"),
    "OAK": (133, "Oakland Athletics"),
    "SF": (137, "San Francisco Giants"),
    "LAD": (119, "Los Angeles Dodgers"),
}
STATUS = {
    "scheduled": ("Preview", "S", "Scheduled"),
    "live": ("Live", "I", "In Progress"),
    "suspended": ("Live", "U", "Suspended: Rain"),
    "final": ("Final", "F", "Final"),
}


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _game(
    pk: int,
    away: str,
    home: str,
    start: str,
    official: str,
    status: str,
    scores: tuple[int, int] | None = None,
    number: int = 1,
    double_header: str = "N",
    **extra: object,
) -> dict:
    """One game of a schedule response, in the MLB Stats API's shape."""
    abstract, coded, detailed = STATUS[status]

    def side(code: str, score: int | None) -> dict:
        team_id, name = TEAMS[code]
        entry: dict = {"team": {"id": team_id, "name": name, "abbreviation": code}}
        if score is not None:
            entry["score"] = score
        return entry

    away_score, home_score = scores or (None, None)
    return {
        "gamePk": pk,
        "gameType": "R",
        "gameDate": start,
        "officialDate": official,
        "status": {
            "abstractGameState": abstract,
            "codedGameState": coded,
            "detailedState": detailed,
        },
        "teams": {"away": side(away, away_score), "home": side(home, home_score)},
        "doubleHeader": double_header,
        "gameNumber": number,
        "scheduledInnings": 9,
        **extra,
    }


def _schedule(*games: dict) -> Reply:
    days: dict[str, list[dict]] = {}
    for game in games:
        days.setdefault(game["officialDate"], []).append(game)
    body = {"dates": [{"date": day, "games": listed} for day, listed in sorted(days.items())]}
    return Reply(200, json.dumps(body).encode())


def _odds(away: str, home: str, commence: str, at: str, home_ml: int, away_ml: int) -> Reply:
    """One event of The Odds API v4 with one bookmaker's moneyline."""
    home_name, away_name = TEAMS[home][1], TEAMS[away][1]
    event = {
        "id": f"e-{home}-{commence}",
        "sport_key": "baseball_mlb",
        "commence_time": commence,
        "home_team": home_name,
        "away_team": away_name,
        "bookmakers": [
            {
                "key": "draftkings",
                "title": "DraftKings",
                "last_update": at,
                "markets": [
                    {
                        "key": "h2h",
                        "last_update": at,
                        "outcomes": [
                            {"name": home_name, "price": home_ml},
                            {"name": away_name, "price": away_ml},
                        ],
                    }
                ],
            }
        ],
    }
    return Reply(200, json.dumps([event]).encode())


@pytest.fixture
def at(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Set the system's clock (the replay clock every 'now' of the system reads)."""
    url = redis_database(settings.broker_url, CLOCK_DB)
    monkeypatch.setenv(clock.CLOCK_URL_ENV, url)

    def set_to(moment: str | datetime) -> datetime:
        moment = _utc(moment) if isinstance(moment, str) else moment
        clock.set_clock(url, moment)
        return moment

    yield set_to
    redis.Redis.from_url(url).flushdb()


def _pull(settings: Settings, provider: Provider, day: date, reply: Reply) -> None:
    provider.serve(SCHEDULE_PATH, reply)
    run = pull_schedule(settings, dates=[day], client=FeedClient(policy=FAST))
    assert run.ok and run.errors == [], run.errors


def _game_by_pk(session, pk: int) -> Game:
    return session.query(Game).filter(Game.mlb_game_pk == pk).one()


def _bet(session, game_id: int, side: str) -> Bet:
    return record_user_bet(
        session,
        {"game_id": game_id, "market": "home_ml", "side": side, "odds": 120,
         "stake": 10.0, "book": "draftkings"},
    )  # fmt: skip


def _settle(url: str) -> dict[str, tuple]:
    with session_scope(url) as session:
        settle_open_bets(session)
        return {
            str(bet.bet_id): (bet.status, bet.closing_odds)
            for bet in session.query(Bet).order_by(Bet.placed_at)
        }


@pytest.mark.parametrize(
    ("day", "start", "window"),
    [
        # 2024-03-10: clocks go forward at 2 am; the Eastern day is 23 hours, 05:00Z-04:00Z.
        ("2024-03-10", "2024-03-11T02:10:00Z", ("2024-03-10T05:00:00Z", "2024-03-11T03:59:59Z")),
        # 2024-11-03: clocks go back at 2 am; the Eastern day is 25 hours, 04:00Z-05:00Z.
        ("2024-11-03", "2024-11-04T03:08:00Z", ("2024-11-03T04:00:00Z", "2024-11-04T04:59:59Z")),
    ],
)
def test_a_late_game_on_a_daylight_saving_day_keeps_its_eastern_date(
    feed_settings: Settings, provider: Provider, at, day: str, start: str, window: tuple
) -> None:
    url, local = feed_settings.database_url, date.fromisoformat(day)
    scheduled = _game(900, "LAD", "SF", start, day, "scheduled")
    _pull(feed_settings, provider, local, _schedule(scheduled))
    # An hour before first pitch (after midnight UTC), the odds of the Eastern day.
    before = at(_utc(start) - timedelta(hours=1))
    provider.serve(ODDS_PATH, _odds("LAD", "SF", start, before.isoformat(), -125, 105))
    odds = pull_odds(feed_settings, day=local, client=FeedClient(policy=FAST))
    assert odds.ok, odds.errors
    (request,) = provider.requests_to(ODDS_PATH)
    assert (request.query["commenceTimeFrom"][0], request.query["commenceTimeTo"][0]) == window
    assert odds.reports[0].snapshots == 1  # joined to the game of its Eastern date

    assert before.date() != local and clock.today() == local  # UTC says tomorrow; it is today
    with session_scope(url) as session:
        (view,) = slate(session, clock.today())
        assert view.game.game_date == local and view.game.start_time == _utc(start)
        assert slate(session, before.date()) == []
        _bet(session, view.game.id, "home")

    at(_utc(start) + timedelta(hours=3))  # final, still the same Eastern day
    final = _game(900, "LAD", "SF", start, day, "final", (2, 5))
    _pull(feed_settings, provider, local, _schedule(final))
    ((status, closing),) = _settle(url).values()
    assert (status, closing) == ("won", -125)


def test_a_doubleheader_settles_each_game_on_its_own_score(
    feed_settings: Settings, provider: Provider, at
) -> None:
    url, day = feed_settings.database_url, date(2024, 6, 15)
    first, second = "2024-06-15T17:05:00Z", "2024-06-15T23:05:00Z"

    def listing(status: str, scores: dict[int, tuple[int, int]] | None = None) -> Reply:
        return _schedule(
            *(
                _game(pk, "BAL", "NYY", start, "2024-06-15", status, (scores or {}).get(pk),
                      number=number, double_header="S")
                for pk, start, number in ((701, first, 1), (702, second, 2))
            )
        )  # fmt: skip

    _pull(feed_settings, provider, day, listing("scheduled"))
    at("2024-06-15T16:00:00Z")
    with session_scope(url) as session:
        views = slate(session, clock.today())
        assert [(v.game.game_number, v.game.start_time) for v in views] == [
            (1, _utc(first)),
            (2, _utc(second)),
        ]
        bets = {v.game.game_number: str(_bet(session, v.game.id, "home").bet_id) for v in views}

    at("2024-06-16T03:30:00Z")  # 11:30 pm Eastern: both games over, still the 15th
    _pull(feed_settings, provider, day, listing("final", {701: (2, 5), 702: (6, 3)}))
    graded = _settle(url)
    assert graded[bets[1]][0] == "won" and graded[bets[2]][0] == "lost"


def test_a_game_suspended_past_midnight_keeps_its_date_first_pitch_and_bets(
    feed_settings: Settings, provider: Provider, at
) -> None:
    url, day = feed_settings.database_url, date(2024, 6, 15)
    start = "2024-06-16T02:10:00Z"  # 10:10 pm Eastern on the 15th
    scheduled = _game(800, "OAK", "SEA", start, "2024-06-15", "scheduled")
    _pull(feed_settings, provider, day, _schedule(scheduled))
    at("2024-06-16T01:00:00Z")
    provider.serve(ODDS_PATH, _odds("OAK", "SEA", start, "2024-06-16T01:00:00Z", -130, 110))
    assert pull_odds(feed_settings, day=day, client=FeedClient(policy=FAST)).ok
    with session_scope(url) as session:
        game = _game_by_pk(session, 800)
        game_id, key = game.id, game.game_key
        _bet(session, game_id, "home")

    # 1:30 am Eastern: suspended in the 7th, to be finished the next afternoon.
    at("2024-06-16T05:30:00Z")
    suspended = _game(800, "OAK", "SEA", start, "2024-06-15", "suspended", (3, 3))
    _pull(feed_settings, provider, day, _schedule(suspended))
    assert [status for status, _ in _settle(url).values()] == ["open"]  # not final: pending
    with session_scope(url) as session:
        assert _game_by_pk(session, 800).status == "suspended"

    # The next day's schedule lists it again, resumed at its resumption time, then final.
    at("2024-06-16T23:00:00Z")
    resumed = _game(
        800, "OAK", "SEA", "2024-06-16T20:10:00Z", "2024-06-16", "final", (3, 5),
        resumedFrom="2024-06-15",
    )  # fmt: skip
    _pull(feed_settings, provider, date(2024, 6, 16), _schedule(resumed))
    with session_scope(url) as session:
        game = session.get(Game, game_id)
        assert (game.game_key, game.game_date, game.start_time) == (key, day, _utc(start))
        assert (game.status, game.away_score, game.home_score) == ("final", 3, 5)
        assert [view.game.id for view in slate(session, day)] == [game_id]
        assert slate(session, date(2024, 6, 16)) == []
    ((status, closing),) = _settle(url).values()
    # Graded on the finished game, closed at the last price before the first pitch.
    assert (status, closing) == ("won", -130)


def test_an_unplayed_game_is_void_three_eastern_days_after_its_date(
    feed_settings: Settings, provider: Provider, at
) -> None:
    url, day = feed_settings.database_url, date(2024, 6, 15)
    postponed = _game(600, "BAL", "NYY", "2024-06-15T23:05:00Z", "2024-06-15", "scheduled")
    _pull(feed_settings, provider, day, _schedule(postponed))
    with session_scope(url) as session:
        _bet(session, _game_by_pk(session, 600).id, "home")
    at("2024-06-19T02:00:00Z")  # the 19th in UTC, 10 pm on the 18th in the East: not yet
    assert [status for status, _ in _settle(url).values()] == ["open"]
    at("2024-06-19T04:30:00Z")  # 12:30 am on the 19th Eastern: three days past
    assert [status for status, _ in _settle(url).values()] == ["void"]
