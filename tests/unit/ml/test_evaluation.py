"""Model vs market on the same games, each market quote graded against its own line."""

import numpy as np
import pandas as pd
import pytest

from app.ml.evaluation import edge_evidence, evaluate, json_safe
from app.ml.metrics import log_loss


def _games(**columns) -> pd.DataFrame:
    n = len(next(iter(columns.values())))
    base = {
        "game_date": pd.to_datetime(["2019-04-01"] * n),
        "home_ml_open": [-110.0] * n, "away_ml_open": [-110.0] * n,
        "home_ml_close": [-110.0] * n, "away_ml_close": [-110.0] * n,
        "total_open": [8.5] * n, "over_open": [-110.0] * n, "under_open": [-110.0] * n,
        "total_close": [8.5] * n, "over_close": [-110.0] * n, "under_close": [-110.0] * n,
        "home_rl": [-1.5] * n, "home_rl_price": [150.0] * n, "away_rl_price": [-170.0] * n,
    }  # fmt: skip
    return pd.DataFrame({**base, **columns})


def test_moneyline_market_and_model_are_scored_on_the_same_priced_games():
    games = _games(
        home_score=[5.0, 2.0, 3.0], away_score=[1.0, 4.0, 3.0],  # the third is a tie
        home_ml_open=[-150.0, 120.0, -110.0], away_ml_open=[130.0, -140.0, -110.0],
        home_ml_close=[-160.0, np.nan, -110.0],  # the second has no closing price
    )  # fmt: skip
    p_model = np.array([0.7, 0.4, 0.5])

    result = evaluate(games, "moneyline", p_model)

    assert result.n_labelled == 2
    assert result.metrics["n"] == 1
    open_home = (150 / 250) / (150 / 250 + 100 / 230)
    assert result.metrics["market_open"]["log_loss"] == pytest.approx(log_loss([1], [open_home]))
    assert result.metrics["model"]["log_loss"] == pytest.approx(log_loss([1], [0.7]))
    assert result.metrics["model_all_labelled"]["n"] == 2


def test_the_closing_total_is_graded_against_the_closing_line():
    # 9 runs: over the opening 8.5, under the closing 9.5.
    games = _games(home_score=[5.0], away_score=[4.0], total_close=[9.5])

    result = evaluate(games, "total_over", np.array([0.6]))

    assert result.metrics["model"]["log_loss"] == pytest.approx(log_loss([1], [0.6]))
    assert result.metrics["market_open"]["log_loss"] == pytest.approx(log_loss([1], [0.5]))
    assert result.metrics["market_close"]["log_loss"] == pytest.approx(log_loss([0], [0.5]))
    # Closing price of another line: no closing-line value.
    assert result.simulation.mean_clv is None


def test_home_spread_has_no_opening_market_and_bets_at_closing_prices():
    games = _games(home_score=[5.0, 2.0], away_score=[1.0, 1.0])

    result = evaluate(games, "home_spread", np.array([0.6, 0.6]))

    assert result.metrics["market_open"] is None
    assert result.metrics["betting_prices"] == "close"
    assert result.metrics["betting"]["bets"] == 2  # 0.6 at +150 has value
    assert result.metrics["betting"]["wins"] == 1  # 5-1 covers -1.5, 2-1 does not


def test_json_safe_turns_nan_into_none():
    assert json_safe({"a": float("nan"), "b": [np.float64(1.5)]}) == {"a": None, "b": [1.5]}


DATES = np.repeat(np.arange(250), 20)  # 250 dates of 20 games


def test_a_model_that_only_echoes_the_market_may_not_bet():
    rng = np.random.default_rng(1)
    market = rng.uniform(0.3, 0.7, 5000)
    y = (rng.uniform(size=5000) < market).astype(float)

    evidence = edge_evidence(y, market + rng.normal(0, 0.01, 5000), market, DATES)

    assert evidence["bets_enabled"] is False
    assert evidence["n"] == 5000 and evidence["dates"] == 250


def test_a_model_that_knows_more_than_the_market_may_bet():
    rng = np.random.default_rng(2)
    truth = rng.uniform(0.2, 0.8, 5000)
    y = (rng.uniform(size=5000) < truth).astype(float)

    evidence = edge_evidence(y, truth, np.full(5000, 0.5), DATES)

    assert evidence["bets_enabled"] is True
    assert evidence["advantage"] > 2 * evidence["standard_error"] > 0
    # Three targets: each is tested at 0.05 / 3.
    assert evidence["p_value"] < evidence["alpha"] == pytest.approx(0.05 / 3)
