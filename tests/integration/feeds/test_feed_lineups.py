"""Starting lineups from the schedule feed (MLB Stats API ``hydrate=lineups``) against a real
local HTTP server, PostgreSQL and Redis: stored when posted, players mapped to Retrosheet ids
by name, and a game predicted again when its lineup arrives, once per lineup."""

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
import redis
import sqlalchemy as sa

from app.after_pull import reprice_posted_lineups
from app.clock import eastern_date
from app.config import Settings
from app.db.session import get_engine, session_scope
from app.features.definitions import FEATURE_SET
from app.features.store import FeatureStore
from app.feeds.http import FeedClient, RetryPolicy
from app.feeds.run import pull_schedule
from app.feeds.schedule import SCHEDULE_PATH
from app.games.models import Game, LineupSlot
from app.kinds import PREDICT
from tests.integration.conftest import redis_database
from tests.integration.feeds.conftest import Provider, Reply
from workers.celery_app import make_celery
from workers.dispatch import CeleryJobQueue

pytestmark = pytest.mark.integration

FAST = RetryPolicy(attempts=2, base_delay=0.05, max_delay=1.0, jitter=0.0)
# A Redis database no other test uses, for a broker no worker consumes (the job stays
# queued) and a feature store of this test's own games (their keys do not meet the broker's).
SCRATCH_DB = 2
HOME = [(665000 + i, f"Home Player{i}") for i in range(1, 9)] + [(592450, "Julio Rodríguez")]
AWAY = [(660000 + i, f"Away Player{i}") for i in range(1, 10)]


def _person(mlb_id: int, name: str, code: str = "8") -> dict:
    return {"id": mlb_id, "fullName": name, "link": f"/api/v1/people/{mlb_id}",
            "primaryPosition": {"code": code, "name": "Outfielder", "type": "Outfielder",
                                "abbreviation": "CF"}}  # fmt: skip


def _schedule(day: date, start: datetime, home: list, away: list | None) -> bytes:
    """One SEA-OAK game of ``day`` in the provider's shape, with the lineups given."""
    game = {
        "gamePk": 778001, "gameType": "R", "season": str(day.year),
        "gameDate": start.strftime("%Y-%m-%dT%H:%M:%SZ"), "officialDate": day.isoformat(),
        "status": {"abstractGameState": "Preview", "codedGameState": "S",
                   "detailedState": "Scheduled"},
        "teams": {
            "away": {"team": {"id": 133, "name": "Oakland Athletics"},
                     "probablePitcher": {"id": 1, "fullName": "Away Starter"}},
            "home": {"team": {"id": 136, "name": "Seattle Mariners"},
                     "probablePitcher": {"id": 2, "fullName": "Home Starter"}},
        },
        "doubleHeader": "N", "gameNumber": 1, "scheduledInnings": 9,
        "lineups": {"homePlayers": [_person(*player) for player in home]},
    }  # fmt: skip
    if away is not None:
        game["lineups"]["awayPlayers"] = [_person(*player) for player in away]
    return json.dumps({"dates": [{"date": day.isoformat(), "games": [game]}]}).encode()


def _rows(url: str, sql: str) -> list:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.text(sql)).all()


def test_a_posted_lineup_is_stored_and_its_game_predicted_again_once(
    settings: Settings, clean_database: str, provider: Provider
) -> None:
    now = datetime.now(UTC)
    start = (now + timedelta(hours=5)).replace(second=0, microsecond=0)
    day = eastern_date(start)
    test_settings = replace(
        settings,
        database_url=clean_database,
        schedule_api_url=provider.url,
        broker_url=redis_database(settings.broker_url, SCRATCH_DB),
    )
    store_client = redis.Redis.from_url(test_settings.broker_url)
    store_client.flushdb()
    store = FeatureStore(store_client, FEATURE_SET)
    # Last season's game log named Julio Rodriguez (no accent): his Retrosheet id.
    with session_scope(clean_database) as session:
        earlier = Game(game_key="earlier", season=day.year - 1, game_date=date(day.year - 1, 6, 1),
                       home_team="SEA", away_team="OAK", home_score=3, away_score=2)  # fmt: skip
        session.add(earlier)
        session.flush()
        session.add(LineupSlot(game_id=earlier.id, side="home", batting_order=3,
                               player_id="rodrj007", player_name="Julio Rodriguez",
                               source="retrosheet"))  # fmt: skip
    client = FeedClient(policy=FAST)
    queue = CeleryJobQueue(make_celery(test_settings))

    # Morning: no lineup yet; an unreadable away lineup (eight players) is a finding.
    provider.serve(SCHEDULE_PATH, Reply(200, _schedule(day, start, [], AWAY[:8])))
    morning = pull_schedule(test_settings, dates=[day], client=client)
    assert morning.ok and morning.lineups_posted == []
    assert morning.reports[0].corrections == {"feeds_lineup_unreadable": 1}
    (request,) = provider.requests_to(SCHEDULE_PATH)
    assert request.query["hydrate"] == ["probablePitcher,linescore,lineups"]

    # The lineups post: stored in batting order, a name the logs know mapped to its id.
    provider.serve(SCHEDULE_PATH, Reply(200, _schedule(day, start, HOME, AWAY)))
    posted = pull_schedule(test_settings, dates=[day], client=client)
    (game_id,) = posted.lineups_posted
    slots = _rows(
        clean_database,
        f"SELECT side, batting_order, player_id, player_name, mlb_player_id, source, position "
        f"FROM game_lineups WHERE game_id = {game_id} ORDER BY side DESC, batting_order",
    )
    assert len(slots) == 18
    assert slots[0] == ("home", 1, "m665001", "Home Player1", 665001, "schedule_feed", 8)
    assert slots[8][:5] == ("home", 9, "rodrj007", "Julio Rodríguez", 592450)
    assert slots[9][:3] == ("away", 1, "m660001")

    # The game is predicted again: its features recomputed, one job keyed by its lineups.
    job = reprice_posted_lineups(test_settings, posted.lineups_posted, queue, now, store)
    assert job is not None and store.get_many([game_id]).found.all()
    (stored,) = _rows(clean_database, f"SELECT kind, params FROM jobs WHERE id = '{job.id}'")
    assert stored[0] == PREDICT.name and stored[1]["game_ids"] == [game_id]
    again = reprice_posted_lineups(test_settings, [game_id], queue, now, store)
    assert again is not None and again.id == job.id  # the same lineups: the same job

    # The same lineups in a new response: nothing posted. A change: posted again, a new job.
    provider.serve(SCHEDULE_PATH, Reply(200, _schedule(day, start, HOME, AWAY).replace(
        b'"Scheduled"', b'"Pre-Game"')))  # fmt: skip
    assert pull_schedule(test_settings, dates=[day], client=client).lineups_posted == []
    swapped = [HOME[1], HOME[0], *HOME[2:]]
    provider.serve(SCHEDULE_PATH, Reply(200, _schedule(day, start, swapped, AWAY)))
    changed = pull_schedule(test_settings, dates=[day], client=client)
    assert changed.lineups_posted == [game_id]
    later = reprice_posted_lineups(test_settings, changed.lineups_posted, queue, now, store)
    assert later is not None and later.id != job.id
    assert _rows(clean_database, "SELECT count(*) FROM jobs") == [(2,)]
    assert _rows(
        clean_database, f"SELECT player_id FROM game_lineups WHERE game_id = {game_id} "
        "AND side = 'home' AND batting_order = 1"
    ) == [("m665002",)]  # fmt: skip
