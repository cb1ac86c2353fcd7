"""Strategies on real PostgreSQL: watch until the CLV evidence holds, live, back; by hand."""

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete

from app.bets.models import Bet, StrategyState
from app.bets.strategies import configured, review
from app.config import Settings
from app.db.session import session_scope
from tests.integration.bets.conftest import add_game
from workers.api import create_api

pytestmark = pytest.mark.integration

NOW = datetime(2019, 8, 1, 12, tzinfo=UTC)
MIN_BETS = 10


def _settled(session, game_id: int, clv: float, paper: bool = True) -> None:
    session.add(
        Bet(bet_id=uuid.uuid4(), game_id=game_id, market="home_ml", side="home", book="soft",
            odds=110, stake=10.0, origin="served", status="won", profit=11.0, clv=clv,
            strategy="fair", paper=paper, settled_at=NOW)
    )  # fmt: skip


@pytest.fixture
def strategy_settings(settings: Settings, clean_database: str) -> Settings:
    return replace(settings, database_url=clean_database, strategy_min_bets=MIN_BETS)


def test_watch_until_proven_then_live_then_back(strategy_settings, clean_database):
    strategies = configured(strategy_settings)
    with session_scope(clean_database) as session:
        games = [
            add_game(session, f"2019070{day}-NYA-BOS-0", 5, 3, game_date=date(2019, 7, day)).id
            for day in range(1, 6)
        ]
        for index in range(MIN_BETS - 1):  # one short of enough, all beating the close
            _settled(session, games[index % 5], 0.02 + 0.002 * (index % 3))
    with session_scope(clean_database) as session:
        assert review(session, strategies, NOW) == {"fair": "watch"}
    with session_scope(clean_database) as session:
        _settled(session, games[0], 0.021)
    with session_scope(clean_database) as session:
        assert review(session, strategies, NOW) == {"fair": "live"}
        assert "10 settled bets" in session.get(StrategyState, "fair").reason
    # Losing to the close wipes out the evidence: back to watch.
    with session_scope(clean_database) as session:
        for index in range(MIN_BETS):
            _settled(session, games[index % 5], -0.05, paper=False)
    with session_scope(clean_database) as session:
        assert review(session, strategies, NOW + timedelta(days=1)) == {"fair": "watch"}


def test_an_admin_forces_a_state_and_sets_it_back_to_auto(strategy_settings, clean_database):
    keys = {"admin-key": frozenset({"read", "admin"}), "reader": frozenset({"read"})}
    client = create_api(replace(strategy_settings, api_keys=keys)).test_client()
    admin = {"Authorization": "Bearer admin-key"}
    reader = {"Authorization": "Bearer reader"}
    with session_scope(clean_database) as session:
        session.execute(delete(StrategyState))

    listed = client.get("/api/v1/strategies", headers=reader).get_json()
    assert [(s["name"], s["state"], s["min_bets"]) for s in listed] == [("fair", "watch", MIN_BETS)]
    url = "/api/v1/strategies/fair/state"
    assert client.post(url, json={"state": "live"}, headers=reader).status_code == 403
    assert client.post(url, json={"state": "bold"}, headers=admin).status_code == 422
    assert client.post("/api/v1/strategies/nope/state", json={"state": "live"},
                       headers=admin).status_code == 404  # fmt: skip
    forced = client.post(url, json={"state": "live"}, headers=admin).get_json()
    assert (forced["state"], forced["forced"]) == ("live", True)
    with session_scope(clean_database) as session:  # the evidence does not override a hand
        assert review(session, configured(strategy_settings), NOW) == {"fair": "live"}
    back = client.post(url, json={"state": "auto"}, headers=admin).get_json()
    assert back["forced"] is False
    with session_scope(clean_database) as session:
        assert review(session, configured(strategy_settings), NOW) == {"fair": "watch"}
    assert client.get("/api/v1/strategies/fair", headers=reader).get_json()["state"] == "watch"
    ledger = client.get("/bets", headers=reader).get_data(as_text=True)
    assert 'data-strategy="fair"' in ledger and "watch" in ledger


def test_paper_bets_never_move_the_bankroll(strategy_settings, clean_database, games):
    with session_scope(clean_database) as session:
        _settled(session, games["final"], 0.01, paper=True)
    client = create_api(strategy_settings).test_client()
    summary = client.get("/api/v1/bankroll").get_json()["summary"]
    assert summary["bets"] == 0 and summary["final_bankroll"] == strategy_settings.bankroll
    listed = client.get("/api/v1/bets").get_json()
    assert [(b["strategy"], b["paper"]) for b in listed] == [("fair", True)]
