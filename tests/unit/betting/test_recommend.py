import pytest

from app.betting.recommend import (
    MARKETS,
    market_fields,
    market_probability,
    recommendation,
    risk_level,
)

MONEYLINE = MARKETS["moneyline"]


def test_market_probability_is_de_vigged():
    assert market_probability(-110, -110) == pytest.approx(0.5)
    assert market_probability(None, -110) is None
    assert market_probability(-50, 120) is None  # not an American price


def test_market_fields_with_and_without_a_model():
    fields = market_fields(MONEYLINE, 0.6, 0.55)

    assert fields["home_ml_binary"] == 1
    assert fields["home_ml_confidence"] == pytest.approx(0.6)
    assert fields["home_ml_edge"] == pytest.approx(0.05)
    empty = market_fields(MONEYLINE, None, 0.55)
    assert empty["home_ml_probability"] is None
    assert empty["home_ml_market_probability"] == 0.55


def test_the_side_with_value_is_recommended():
    bet = recommendation(MONEYLINE, 0.40, -150, 140, bankroll=1000)

    assert bet["side"] == "away"  # 60% at +140: EV = 0.6 * 2.4 - 1 = 0.44
    assert bet["expected_value"] == pytest.approx(0.44)
    assert bet["min_odds"] == -150
    assert 0 < bet["recommended_bet_size"] <= 50


def test_no_value_no_bet():
    assert recommendation(MONEYLINE, 0.5, -120, -120, bankroll=1000) is None
    assert risk_level({}) == "none"
