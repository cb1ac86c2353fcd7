"""The fair board's date: the system's US Eastern today by default; a retired game is not on it."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import redis
from sqlalchemy import update

from app import clock
from app.config import Settings
from app.db.session import session_scope
from app.games.models import Game
from tests.integration.conftest import redis_database

pytestmark = pytest.mark.integration

CLOCK_DB = 2  # a Redis database no other test uses


@pytest.fixture
def at(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    """Set the system's clock (the replay clock every 'now' of the system reads)."""
    url = redis_database(settings.broker_url, CLOCK_DB)
    monkeypatch.setenv(clock.CLOCK_URL_ENV, url)
    yield lambda moment: clock.set_clock(url, moment)
    redis.Redis.from_url(url).flushdb()


def test_the_board_of_today_is_the_eastern_date(clean_client, games, at):
    at(datetime(2019, 7, 2, 2, 0, tzinfo=UTC))  # 10 pm Eastern on July 1: UTC is July 2 already
    for path in ("/api/v1/fair", "/api/v1/arbitrage"):
        body = clean_client.get(path).get_json()
        assert body["date"] == "2019-07-01", path
    board = clean_client.get("/api/v1/fair").get_json()
    assert games["final"] in {game["game_id"] for game in board["games"]}


def test_a_retired_game_is_not_on_the_board(clean_client, clean_database, games):
    with session_scope(clean_database) as session:
        session.execute(
            update(Game).where(Game.id == games["final"]).values(retired_at=datetime.now(UTC))
        )
    board = clean_client.get("/api/v1/fair?date=2019-07-01").get_json()
    listed = {game["game_id"] for game in board["games"]}
    assert games["final"] not in listed
    assert {games["short"], games["unplayed"]} <= listed
