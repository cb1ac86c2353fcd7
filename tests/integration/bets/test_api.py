"""The bets, bankroll and live performance endpoints on real PostgreSQL."""

from datetime import UTC, datetime

import numpy as np
import pytest

from app.bets.settlement import settle_games
from app.db.session import session_scope
from app.games.models import Game
from app.jobs.models import Job
from app.ml.metrics import log_loss
from app.ml.models import Prediction
from tests.integration.bets.conftest import add_game

pytestmark = pytest.mark.integration


def _post(client, **body):
    return client.post("/api/v1/bets", json=body)


def test_a_recorded_bet_is_listed_settled_and_counted_in_the_bankroll(
    clean_client, clean_database, games
):
    won = _post(clean_client, game_id=games["final"], market="home_ml", side="home", odds=150,
                stake=100, book="pin")  # fmt: skip
    lost = _post(clean_client, game_id=games["final"], market="total_over", side="over",
                 odds=-110, stake=55, line=8.5)  # fmt: skip
    waiting = _post(clean_client, game_id=games["upcoming"], market="home_spread", side="away",
                    odds=-150, stake=30, line=-1.5)  # fmt: skip

    assert [r.status_code for r in (won, lost, waiting)] == [201, 201, 201]
    body = won.get_json()
    assert (body["origin"], body["status"], body["book"], body["odds"]) == ("user", "open", "pin",
                                                                           150)  # fmt: skip
    listed = clean_client.get("/api/v1/bets?status=open&page_size=2")
    assert listed.status_code == 200
    assert len(listed.get_json()) == 2
    assert '"total": 3' in listed.headers["X-Pagination"]
    by_date = clean_client.get("/api/v1/bets?date=2019-07-01&market=total_over").get_json()
    assert [row["bet_id"] for row in by_date] == [lost.get_json()["bet_id"]]

    with session_scope(clean_database) as session:
        settle_games(session, [games["final"], games["upcoming"]])
    report = clean_client.get("/api/v1/bankroll").get_json()

    summary = report["summary"]
    assert (summary["bets"], summary["won"], summary["lost"]) == (2, 1, 1)
    assert summary["profit"] == pytest.approx(150 - 55)
    assert summary["roi"] == pytest.approx(95 / 155)
    assert summary["hit_rate"] == 0.5
    assert summary["final_bankroll"] == pytest.approx(1000 + 95)
    assert (summary["open_bets"], summary["open_stake"]) == (1, 30)
    assert summary["mean_clv"] is not None
    assert [point["bankroll"] for point in report["curve"]] == [pytest.approx(1095)]
    settled = clean_client.get("/api/v1/bets?status=won").get_json()
    assert settled[0]["profit"] == pytest.approx(150) and settled[0]["settled_at"]
    assert (
        clean_client.get("/api/v1/bankroll?from=2000-01-01&to=2000-01-02").get_json()["summary"][
            "bets"
        ]
        == 0
    )


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "market"),
        ({"game_id": "seven"}, 422, "game_id"),
        ({"game_id": 999_999, "market": "home_ml", "side": "home", "odds": -110, "stake": 5},
         404, "game_id"),
        ({"market": "winner", "side": "home", "odds": -110, "stake": 5}, 422, "market"),
        ({"market": "home_ml", "side": "over", "odds": -110, "stake": 5}, 422, "side"),
        ({"market": "home_ml", "side": "home", "odds": 50, "stake": 5}, 422, "odds"),
        ({"market": "home_ml", "side": "home", "odds": "-110x", "stake": 5}, 422, "odds"),
        ({"market": "home_ml", "side": "home", "odds": -110, "stake": 0}, 422, "stake"),
        ({"market": "home_ml", "side": "home", "odds": -110, "stake": -3}, 422, "stake"),
        ({"market": "total_over", "side": "over", "odds": -110, "stake": 5}, 422, "line"),
        ({"market": "home_ml", "side": "home", "odds": -110, "stake": 5, "line": 1.5}, 422,
         "line"),
    ],
)  # fmt: skip
def test_bad_bets_get_a_4xx_with_field_errors(clean_client, games, body, status, field):
    response = _post(clean_client, **({"game_id": games["final"]} | body))

    assert response.status_code == status
    error = response.get_json()
    assert error["code"] == status and error["message"]
    assert field in error["errors"]


@pytest.mark.parametrize(
    "query",
    ["/api/v1/bets?status=maybe", "/api/v1/bets?market=winner", "/api/v1/bets?date=yesterday",
     "/api/v1/bets?page=0", "/api/v1/bankroll?from=2019-07-02&to=2019-07-01",
     "/api/v1/bankroll?from=soon", "/api/v1/models/bullpen-moneyline/performance?source=dream"],
)  # fmt: skip
def test_bad_queries_get_a_422(clean_client, query):
    response = clean_client.get(query)

    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_a_body_that_is_not_json_is_a_4xx(clean_client):
    response = clean_client.post("/api/v1/bets", data="nope", content_type="application/json")

    assert 400 <= response.status_code < 500


def _prediction(session, game: Game, p_home: float, created_at: datetime) -> None:
    job = Job(kind="predict", status="succeeded", params={})
    session.add(job)
    session.flush()
    payload = {
        "game_id": game.id,
        "home_ml_probability": p_home,
        "models": {"moneyline": {"name": "bullpen-moneyline", "version": "7"}},
    }
    session.add(
        Prediction(job_id=job.id, item_key=str(game.id), item_index=0, game_id=game.id,
                   payload=payload, created_at=created_at)
    )  # fmt: skip


def test_live_performance_scores_pre_game_predictions_next_to_the_market(
    clean_client, clean_database, games
):
    from app.games.models import Odds

    outcomes = [(5, 3), (2, 4), (7, 1), (3, 6)]
    p_model = [0.6, 0.45, 0.55, 0.4]
    with session_scope(clean_database) as session:
        for index, ((home, away), p) in enumerate(zip(outcomes, p_model, strict=True)):
            start = datetime(2019, 7, 2 + index, 23, 5, tzinfo=UTC)
            game = add_game(session, f"2019070{2 + index}-NYA-BOS-0", home, away,
                            game_date=start.date(), start_time=start)  # fmt: skip
            session.add(Odds(game_id=game.id, book="sbro", home_ml_open=-120, away_ml_open=110,
                             home_ml_close=-125, away_ml_close=115))  # fmt: skip
            _prediction(session, game, p, start.replace(hour=12))
            # Made after first pitch: not live, never scored.
            _prediction(session, game, 0.99, start.replace(hour=23, minute=30))

    response = clean_client.get("/api/v1/models/bullpen-moneyline/performance?source=live")

    assert response.status_code == 200
    live = response.get_json()["live"]
    y = np.array([1, 0, 1, 0], dtype=float)
    assert live["n"] == 4
    assert live["model"]["log_loss"] == pytest.approx(log_loss(y, np.array(p_model)))
    open_home = (120 / 220) / (120 / 220 + 100 / 210)
    assert live["market_open"]["log_loss"] == pytest.approx(log_loss(y, np.full(4, open_home)))
    assert live["market_close"]["n"] == 4
    assert live["betting"] is None
    backtest = clean_client.get("/api/v1/models/bullpen-moneyline/performance?source=backtest")
    assert backtest.status_code == 200 and "live" not in backtest.get_json()


def test_live_performance_bets_leave_out_paper_bets(clean_client, clean_database, games):
    import uuid

    from app.bets.models import Bet

    with session_scope(clean_database) as session:
        for strategy, paper in (("fair", False), ("conservative", True), ("moneyline", True)):
            session.add(
                Bet(bet_id=uuid.uuid4(), game_id=games["final"], market="home_ml", side="home",
                    book="pin", odds=120, stake=10.0, origin="served", status="open",
                    model_name="bullpen-moneyline", model_version="7", strategy=strategy,
                    paper=paper, placed_at=datetime(2019, 7, 1, 15, tzinfo=UTC))
            )  # fmt: skip
        settle_games(session, [games["final"]])

    live = clean_client.get("/api/v1/models/bullpen-moneyline/performance?source=live")
    betting = live.get_json()["live"]["betting"]
    assert (betting["bets"], betting["won"]) == (1, 1)  # the one decision the bankroll staked
    assert betting["profit"] == pytest.approx(12.0)
