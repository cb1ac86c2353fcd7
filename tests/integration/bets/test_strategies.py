"""Strategies on real PostgreSQL: watch until the CLV evidence holds, live, back; by hand."""

import uuid
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import delete

from app.bets.models import Bet, StrategyState
from app.bets.strategies import configured, review
from app.config import Settings, parse_strategies
from app.db.session import session_scope
from tests.integration.bets.conftest import add_game
from workers.api import create_api

pytestmark = pytest.mark.integration

NOW = datetime(2019, 8, 1, 12, tzinfo=UTC)
MIN_BETS = 10


def _settled(session, game_id: int, clv: float, paper: bool = True, strategy: str = "fair") -> None:
    session.add(
        Bet(bet_id=uuid.uuid4(), game_id=game_id, market="home_ml", side="home", book="soft",
            odds=110, stake=10.0, origin="served", status="won", profit=11.0, clv=clv,
            strategy=strategy, paper=paper, settled_at=NOW)
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
        assert review(session, strategies, NOW) == dict.fromkeys(strategies, "watch")
    with session_scope(clean_database) as session:
        _settled(session, games[0], 0.021)
    with session_scope(clean_database) as session:
        # Only the strategy whose own bets prove it goes live; the others keep watching.
        assert review(session, strategies, NOW) == dict.fromkeys(strategies, "watch") | {
            "fair": "live"
        }
        assert "10 settled bets" in session.get(StrategyState, "fair").reason
    # Losing to the close wipes out the evidence: back to watch.
    with session_scope(clean_database) as session:
        for index in range(MIN_BETS):
            _settled(session, games[index % 5], -0.05, paper=False)
    with session_scope(clean_database) as session:
        assert review(session, strategies, NOW + timedelta(days=1)) == dict.fromkeys(
            strategies, "watch"
        )


def test_each_configured_strategy_is_judged_by_its_own_bets(strategy_settings, clean_database):
    raw = (
        '[{"name": "sharp-ml", "markets": ["home_ml"], "min_bets": 6},'
        ' {"name": "wide", "method": "worst_case", "min_ev": 0.05}]'
    )
    settings = replace(strategy_settings, strategies=parse_strategies(raw))
    strategies = configured(settings)
    with session_scope(clean_database) as session:
        games = [
            add_game(session, f"2019070{day}-NYA-BOS-1", 5, 3, game_date=date(2019, 7, day)).id
            for day in range(1, 7)
        ]
        for index in range(12):  # sharp-ml beats the close; wide, on the same games, does not
            _settled(session, games[index % 6], 0.02 + 0.002 * (index % 3), strategy="sharp-ml")
            _settled(session, games[index % 6], -0.01 - 0.002 * (index % 3), strategy="wide")
    with session_scope(clean_database) as session:
        assert review(session, strategies, NOW) == {"sharp-ml": "live", "wide": "watch"}
    client = create_api(settings).test_client()
    listed = {s["name"]: s for s in client.get("/api/v1/strategies").get_json()}
    assert list(listed) == ["sharp-ml", "wide"]
    assert (listed["sharp-ml"]["markets"], listed["sharp-ml"]["min_bets"]) == (["home_ml"], 6)
    assert (listed["wide"]["method"], listed["wide"]["min_ev"]) == ("worst_case", 0.05)
    assert listed["wide"]["min_bets"] == MIN_BETS  # BULLPEN_STRATEGY_MIN_BETS
    assert listed["sharp-ml"]["evidence"]["n"] == listed["wide"]["evidence"]["n"] == 12
    assert listed["sharp-ml"]["evidence"]["mean_clv"] == pytest.approx(0.022)
    assert listed["wide"]["evidence"]["mean_clv"] == pytest.approx(-0.012)
    assert listed["sharp-ml"]["state"] == "live" and listed["wide"]["state"] == "watch"
    clv = client.get("/api/v1/bets/clv?group_by=strategy").get_json()
    assert {row["strategy"] for row in clv["groups"]} >= {"sharp-ml", "wide"}
    assert client.get("/api/v1/strategies/fair").status_code == 404  # not configured here


def test_an_admin_forces_a_state_and_sets_it_back_to_auto(strategy_settings, clean_database):
    keys = {"admin-key": frozenset({"read", "admin"}), "reader": frozenset({"read"})}
    client = create_api(replace(strategy_settings, api_keys=keys)).test_client()
    admin = {"Authorization": "Bearer admin-key"}
    reader = {"Authorization": "Bearer reader"}
    with session_scope(clean_database) as session:
        session.execute(delete(StrategyState))

    listed = client.get("/api/v1/strategies", headers=reader).get_json()
    assert [(s["name"], s["state"], s["min_bets"]) for s in listed] == [
        (name, "watch", MIN_BETS) for name in ("fair", "conservative", "moneyline", "totals")
    ]
    url = "/api/v1/strategies/fair/state"
    assert client.post(url, json={"state": "live"}, headers=reader).status_code == 403
    assert client.post(url, json={"state": "bold"}, headers=admin).status_code == 422
    assert client.post("/api/v1/strategies/nope/state", json={"state": "live"},
                       headers=admin).status_code == 404  # fmt: skip
    forced = client.post(url, json={"state": "live"}, headers=admin).get_json()
    assert (forced["state"], forced["forced"]) == ("live", True)
    with session_scope(clean_database) as session:  # the evidence does not override a hand
        assert review(session, configured(strategy_settings), NOW)["fair"] == "live"
    back = client.post(url, json={"state": "auto"}, headers=admin).get_json()
    assert back["forced"] is False
    with session_scope(clean_database) as session:
        assert review(session, configured(strategy_settings), NOW)["fair"] == "watch"
    assert client.get("/api/v1/strategies/fair", headers=reader).get_json()["state"] == "watch"
    ledger = client.get("/bets", headers=reader).get_data(as_text=True)
    for name in configured(strategy_settings):  # every strategy, its state, on the page
        assert f'data-strategy="{name}"' in ledger
    assert "watch" in ledger


def test_paper_bets_never_move_the_bankroll(strategy_settings, clean_database, games):
    with session_scope(clean_database) as session:
        _settled(session, games["final"], 0.01, paper=True)
    client = create_api(strategy_settings).test_client()
    summary = client.get("/api/v1/bankroll").get_json()["summary"]
    assert summary["bets"] == 0 and summary["final_bankroll"] == strategy_settings.bankroll
    listed = client.get("/api/v1/bets").get_json()
    assert [(b["strategy"], b["paper"]) for b in listed] == [("fair", True)]
