"""De-vig methods: hand-checked values and properties every method must keep."""

import math

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from app.bets.devig import METHODS, fair_pair, fair_pairs, method_named, multiplicative
from app.odds import american_to_implied

american_prices = st.one_of(st.integers(100, 5000), st.integers(-5000, -100))
PROPER = [name for name in METHODS if name != "worst_case"]


def implied(price_a: int, price_b: int) -> tuple[float, float]:
    return american_to_implied(price_a), american_to_implied(price_b)


def test_a_standard_market_is_even_under_every_method() -> None:
    for method in METHODS:
        assert fair_pair(*implied(-110, -110), method) == pytest.approx((0.5, 0.5))


def test_hand_checked_values() -> None:
    q_fav, q_dog = implied(-200, 170)  # 0.6667, 0.3704: booksum 1.037
    booksum = q_fav + q_dog
    assert fair_pair(q_fav, q_dog, "multiplicative")[0] == pytest.approx(q_fav / booksum)
    assert fair_pair(q_fav, q_dog, "additive")[0] == pytest.approx(q_fav - (booksum - 1) / 2)
    k = fair_pair(q_fav, q_dog, "power")
    exponent = math.log(k[0]) / math.log(q_fav)
    assert k[1] == pytest.approx(q_dog**exponent)
    # Odds ratio: both sides' odds divided by the same constant.
    p_fav, p_dog = fair_pair(q_fav, q_dog, "odds_ratio")
    ratio_fav = (q_fav / (1 - q_fav)) / (p_fav / (1 - p_fav))
    ratio_dog = (q_dog / (1 - q_dog)) / (p_dog / (1 - p_dog))
    assert ratio_fav == pytest.approx(ratio_dog)


def test_unknown_method_and_bad_probabilities_are_errors() -> None:
    with pytest.raises(ValueError, match="unknown de-vig method"):
        method_named("vibes")
    with pytest.raises(ValueError, match=r"in \(0, 1\)"):
        fair_pair(1.2, 0.4)


@given(american_prices, american_prices, st.sampled_from(PROPER))
def test_fair_probabilities_sum_to_one_and_stay_inside(a: int, b: int, method: str) -> None:
    p_a, p_b = fair_pair(*implied(a, b), method)
    assert 0 < p_a < 1 and 0 < p_b < 1
    assert p_a + p_b == pytest.approx(1.0, abs=1e-9)


@given(american_prices, american_prices, st.sampled_from(list(METHODS)))
def test_a_margin_is_taken_out_never_added(a: int, b: int, method: str) -> None:
    q_a, q_b = implied(a, b)
    assume(q_a + q_b > 1.0)
    p_a, p_b = fair_pair(q_a, q_b, method)
    assert p_a <= q_a + 1e-12 and p_b <= q_b + 1e-12


@given(american_prices, american_prices, st.sampled_from(list(METHODS)))
def test_sides_are_symmetric_and_order_is_kept(a: int, b: int, method: str) -> None:
    q_a, q_b = implied(a, b)
    p_a, p_b = fair_pair(q_a, q_b, method)
    swapped = fair_pair(q_b, q_a, method)
    assert swapped == pytest.approx((p_b, p_a), abs=1e-9)
    if q_a > q_b:
        assert p_a >= p_b - 1e-12


@given(american_prices, american_prices, st.sampled_from(PROPER))
def test_the_favourite_keeps_at_least_its_proportional_share(a: int, b: int, method: str) -> None:
    # The favourite-longshot bias: every other method takes more of the margin from the longshot.
    q_a, q_b = implied(a, b)
    assume(q_a + q_b > 1.0 and q_a > q_b)
    assert fair_pair(q_a, q_b, method)[0] >= multiplicative(q_a, q_b)[0] - 1e-9


@given(american_prices, american_prices)
def test_worst_case_is_the_lowest_of_the_methods(a: int, b: int) -> None:
    q_a, q_b = implied(a, b)
    worst = fair_pair(q_a, q_b, "worst_case")
    for method in PROPER:
        fair = fair_pair(q_a, q_b, method)
        assert worst[0] <= fair[0] + 1e-12 and worst[1] <= fair[1] + 1e-12
    assert sum(worst) <= 1.0 + 1e-9


@given(
    st.lists(st.tuples(american_prices, american_prices), min_size=1, max_size=10),
    st.sampled_from(list(METHODS)),
)
def test_arrays_match_the_scalar_and_give_nan_for_gaps(pairs: list, method: str) -> None:
    q = np.array([implied(a, b) for a, b in pairs] + [(np.nan, 0.5), (0.5, 1.0)])
    yes, no = fair_pairs(q[:, 0], q[:, 1], method)
    expected = np.array([fair_pair(a, b, method) for a, b in q[:-2]])
    np.testing.assert_allclose(np.column_stack([yes, no])[:-2], expected, rtol=1e-9)
    assert np.isnan(yes[-2:]).all() and np.isnan(no[-2:]).all()


def test_a_quote_without_margin_is_only_normalised() -> None:
    # Best prices of two books can sum below 1: nothing to take out, every method agrees.
    for method in METHODS:
        assert fair_pair(0.45, 0.5, method) == pytest.approx((0.45 / 0.95, 0.5 / 0.95))
