"""Odds arithmetic: hand-checked values, validation, NaN handling and properties."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.odds import (
    american_to_decimal,
    american_to_decimal_array,
    american_to_implied,
    american_to_implied_array,
    closing_line_value,
    decimal_to_american,
    devig_two_way,
    devig_two_way_array,
    expected_value,
    implied_to_american,
    implied_to_decimal,
    market_probability,
    profit,
    validate_american,
)

american_prices = st.one_of(st.integers(100, 100_000), st.integers(-100_000, -100))
probabilities = st.floats(0.001, 0.999)


@pytest.mark.parametrize(
    ("price", "decimal_odds", "implied"),
    [(150, 2.5, 0.4), (-150, 1 + 100 / 150, 0.6), (100, 2.0, 0.5), (-100, 2.0, 0.5)],
)
def test_known_prices(price: int, decimal_odds: float, implied: float) -> None:
    assert american_to_decimal(price) == pytest.approx(decimal_odds)
    assert american_to_implied(price) == pytest.approx(implied)


def test_devig_of_a_standard_market() -> None:
    home, away, overround = devig_two_way(-110, -110)
    assert (home, away) == pytest.approx((0.5, 0.5))
    assert overround == pytest.approx(2 * 110 / 210 - 1)

    home, away, overround = devig_two_way(-150, 130)
    raw_home, raw_away = 0.6, 100 / 230
    assert home == pytest.approx(raw_home / (raw_home + raw_away))
    assert away == pytest.approx(raw_away / (raw_home + raw_away))
    assert overround == pytest.approx(raw_home + raw_away - 1)


@pytest.mark.parametrize("price", [0, 50, -99.5, 99, float("nan"), float("inf")])
def test_invalid_american_prices_raise(price: float) -> None:
    with pytest.raises(ValueError, match="invalid American price"):
        validate_american(price)
    with pytest.raises(ValueError, match="invalid American price"):
        devig_two_way(-110, price)


@pytest.mark.parametrize("value", [1.0, 0.5, float("nan")])
def test_invalid_decimal_odds_raise(value: float) -> None:
    with pytest.raises(ValueError, match="invalid decimal odds"):
        decimal_to_american(value)


@pytest.mark.parametrize("value", [0.0, 1.0, -0.2, 1.5, float("nan")])
def test_invalid_probabilities_raise(value: float) -> None:
    with pytest.raises(ValueError, match="invalid probability"):
        implied_to_decimal(value)


def test_arrays_give_nan_for_missing_and_invalid() -> None:
    prices = [-150, None, 50, float("nan"), 150, 0]
    decimal_odds = american_to_decimal_array(prices)
    np.testing.assert_allclose(decimal_odds[[0, 4]], [1 + 100 / 150, 2.5])
    assert np.isnan(decimal_odds[[1, 2, 3, 5]]).all()
    assert np.isnan(american_to_implied_array([None])).all()

    home, away, overround = devig_two_way_array([-110, -110, None], [-110, 20, -110])
    np.testing.assert_allclose(home, [0.5, np.nan, np.nan])
    np.testing.assert_allclose(away, [0.5, np.nan, np.nan])
    assert np.isnan(overround[1:]).all()


def test_arrays_accept_pandas_nullable_integers() -> None:
    pd = pytest.importorskip("pandas")
    prices = pd.Series([-110, None], dtype="Int64")
    np.testing.assert_allclose(american_to_implied_array(prices), [110 / 210, np.nan])


@given(american_prices, american_prices)
def test_devig_sums_to_one_inside_unit_interval(price_a: int, price_b: int) -> None:
    p_a, p_b, overround = devig_two_way(price_a, price_b)
    assert 0 < p_a < 1 and 0 < p_b < 1
    assert p_a + p_b == pytest.approx(1.0, abs=1e-12)
    assert overround == pytest.approx(
        american_to_implied(price_a) + american_to_implied(price_b) - 1
    )


@given(st.lists(st.tuples(american_prices, american_prices), min_size=1, max_size=20))
def test_array_devig_matches_scalar(pairs: list[tuple[int, int]]) -> None:
    prices_a, prices_b = np.array(pairs, dtype=float).T
    p_a, p_b, overround = devig_two_way_array(prices_a, prices_b)
    expected = np.array([devig_two_way(a, b) for a, b in pairs])
    np.testing.assert_allclose(np.column_stack([p_a, p_b, overround]), expected, rtol=1e-12)
    np.testing.assert_allclose(p_a + p_b, 1.0, rtol=1e-12)


@given(american_prices)
def test_american_decimal_round_trip(price: int) -> None:
    back = decimal_to_american(american_to_decimal(price))
    expected = 100 if price == -100 else price  # -100 and +100 are the same price
    assert back == pytest.approx(expected, rel=1e-9)


@given(st.floats(1.001, 1000.0))
def test_decimal_american_round_trip(decimal_odds: float) -> None:
    american = decimal_to_american(decimal_odds)
    assert abs(american) >= 100
    assert american_to_decimal(american) == pytest.approx(decimal_odds, rel=1e-9)


@given(probabilities)
def test_probability_round_trips(probability: float) -> None:
    assert 1 / implied_to_decimal(probability) == pytest.approx(probability)
    assert american_to_implied(implied_to_american(probability)) == pytest.approx(
        probability, rel=1e-9
    )


def test_market_probability_is_de_vigged_or_none() -> None:
    assert market_probability(-110, -110) == pytest.approx(0.5)
    assert market_probability(None, -110) is None
    assert market_probability(-50, 120) is None  # not an American price


def test_ev_profit_and_clv_by_hand() -> None:
    assert expected_value(0.6, 2.4) == pytest.approx(0.44)
    assert profit("won", 10.0, 150) == pytest.approx(15.0)
    assert profit("won", 15.0, -150) == pytest.approx(10.0)
    assert profit("lost", 10.0, 150) == -10.0
    assert profit("push", 10.0, 150) == profit("void", 10.0, 150) == 0.0
    # Taken at +150 (implied 0.4), closed fair at 0.45: 0.05 of closing-line value.
    assert closing_line_value(0.45, 150) == pytest.approx(0.05)
