import pytest

from app.bets.slate import _markets
from app.staking.pricing import BookQuote

PREDICTION = {
    "home_ml_probability": 0.55,
    "home_ml_market_probability": 0.52,
    "home_ml_edge": 0.03,
    "total_over_probability": 0.48,
    "total_over_market_probability": 0.5,
    "total_over_edge": -0.02,
    "home_spread_probability": 0.40,
    "home_spread_market_probability": None,
    "home_spread_edge": None,
    "lines": {"total_over": 8.5, "home_spread": None},
    "betting_recommendations": {
        "home_ml": {
            "side": "home",
            "odds": 105,
            "book": "b",
            "recommended_bet_size": 12.5,
            "kelly_fraction": 0.0125,
        }
    },
}
QUOTES = {
    "home_ml": [BookQuote("a", -110, -105), BookQuote("b", 105, -125)],
    "total_over": [BookQuote("a", -110, -110, 8.5), BookQuote("b", 120, -140, 9.5)],
    "home_spread": [BookQuote("a", 150, -170, -1.5)],
}


def test_each_target_shows_the_predictions_numbers_and_the_best_price_at_its_line():
    views = {view.market: view for view in _markets(PREDICTION, QUOTES, {"total_over": 9.5})}

    moneyline = views["home_ml"]
    assert (moneyline.model_probability, moneyline.market_probability) == (0.55, 0.52)
    assert moneyline.served["recommended_bet_size"] == 12.5
    assert moneyline.risk_level == "medium"  # a Kelly fraction of 1.25% of the bankroll
    assert (moneyline.offer["side"], moneyline.offer["odds"], moneyline.offer["book"]) == (
        "home",
        105,
        "b",
    )
    total = views["total_over"]
    assert total.line == 8.5  # the prediction's own line, not the stored one
    assert (total.offer["side"], total.offer["odds"], total.offer["book"]) == ("under", -110, "a")
    assert total.offer["expected_value"] == pytest.approx(0.52 * (1 + 100 / 110) - 1)
    assert total.served is None and total.risk_level == "none"
    run_line = views["home_spread"]
    assert run_line.line is None and run_line.offer is None  # no run line when it predicted


def test_a_prediction_without_its_lines_is_priced_at_the_opening_total_only():
    old = {key: value for key, value in PREDICTION.items() if key != "lines"}

    views = {view.market: view for view in _markets(old, QUOTES, {"total_over": 9.5})}

    assert views["total_over"].line == 9.5
    assert views["total_over"].offer["book"] == "b"
    assert views["home_spread"].offer is None


def test_a_game_without_a_prediction_has_nothing_to_price():
    views = _markets(None, QUOTES, {"total_over": 8.5})

    assert [view.market for view in views] == ["home_ml", "total_over", "home_spread"]
    assert all(view.model_probability is None and view.offer is None for view in views)
