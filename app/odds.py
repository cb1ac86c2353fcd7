"""The odds maths, in one place: prices, implied probability, de-vig, EV, profit and CLV.

An American price is valid when ``|price| >= 100``: ``+150`` wins 150 per 100 staked,
``-150`` must stake 150 to win 100. ``+100`` and ``-100`` both mean even money.

Scalar functions validate and raise :class:`ValueError`; the ``*_array`` variants work
on numpy arrays (or anything ``np.asarray`` accepts, including ``None`` and ``NaN``)
and return ``NaN`` wherever an input is missing or invalid, so a column of prices
with gaps can be converted in one call.

De-vigging uses multiplicative (proportional) normalization: each side's raw implied
probability is divided by their sum, so the bookmaker's margin is taken from both
sides in proportion to their probability. The *overround* reported alongside is that
margin, ``sum(raw implied) - 1`` (about 0.0476 for -110/-110).
"""

import math

import numpy as np
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]


def validate_american(price: float) -> float:
    """Return ``price`` as a float, or raise ValueError unless it is finite with |price| >= 100."""
    value = float(price)
    if not math.isfinite(value) or abs(value) < 100:
        raise ValueError(
            f"invalid American price {price!r}: need a finite number with |price| >= 100"
        )
    return value


def american_to_decimal(price: float) -> float:
    """Decimal odds (total return per unit staked, stake included) of an American price."""
    value = validate_american(price)
    return 1.0 + value / 100.0 if value > 0 else 1.0 + 100.0 / -value


def american_to_implied(price: float) -> float:
    """Raw implied probability of an American price, vig included."""
    return 1.0 / american_to_decimal(price)


def decimal_to_american(decimal_odds: float) -> float:
    """American price of decimal odds (> 1); even money (2.0) maps to +100."""
    value = _validate_decimal(decimal_odds)
    return (value - 1.0) * 100.0 if value >= 2.0 else -100.0 / (value - 1.0)


def implied_to_decimal(probability: float) -> float:
    """Fair decimal odds of a probability in (0, 1)."""
    return 1.0 / _validate_probability(probability)


def implied_to_american(probability: float) -> float:
    """Fair American price of a probability in (0, 1)."""
    return decimal_to_american(implied_to_decimal(probability))


def devig_two_way(price_a: float, price_b: float) -> tuple[float, float, float]:
    """De-vigged probabilities of both sides of a two-way market and its overround.

    Multiplicative normalization: ``p_a = q_a / (q_a + q_b)`` with ``q`` the raw implied
    probabilities; the overround is ``q_a + q_b - 1``.
    """
    implied_a = american_to_implied(price_a)
    implied_b = american_to_implied(price_b)
    booksum = implied_a + implied_b
    return implied_a / booksum, implied_b / booksum, booksum - 1.0


def market_probability(price_yes: float | None, price_no: float | None) -> float | None:
    """The de-vigged probability of the 'yes' side, or None when a price is missing or invalid."""
    if price_yes is None or price_no is None:
        return None
    try:
        return devig_two_way(price_yes, price_no)[0]
    except ValueError:
        return None


def expected_value(probability: float, decimal_odds: float) -> float:
    """Expected profit per unit staked at ``decimal_odds`` on a side won with ``probability``:
    ``EV = p * decimal - 1``."""
    return probability * decimal_odds - 1.0


def profit(status: str, stake: float, odds: int) -> float:
    """Profit of a graded bet at American ``odds``: a win pays ``stake * (decimal - 1)``, a loss
    costs the stake, a push or a void returns it."""
    if status == "won":
        return stake * (american_to_decimal(odds) - 1.0)
    if status == "lost":
        return -stake
    return 0.0


def closing_line_value(fair_close: float, price_taken: float) -> float:
    """CLV: the side's fair (de-vigged) closing probability minus the implied probability of
    the price taken, vig included. Positive when the market closed toward the bet."""
    return fair_close - american_to_implied(price_taken)


def american_to_decimal_array(prices: ArrayLike) -> FloatArray:
    """Vectorized :func:`american_to_decimal`; NaN where a price is missing or invalid."""
    values = _as_float_array(prices)
    valid = np.isfinite(values) & (np.abs(values) >= 100)
    safe = np.where(valid, values, 100.0)
    decimal_odds = np.where(safe > 0, 1.0 + safe / 100.0, 1.0 + 100.0 / -safe)
    return np.where(valid, decimal_odds, np.nan)


def american_to_implied_array(prices: ArrayLike) -> FloatArray:
    """Vectorized :func:`american_to_implied`; NaN where a price is missing or invalid."""
    return 1.0 / american_to_decimal_array(prices)


def devig_two_way_array(
    prices_a: ArrayLike, prices_b: ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Vectorized :func:`devig_two_way`; NaN in all three outputs where either price is bad."""
    implied_a = american_to_implied_array(prices_a)
    implied_b = american_to_implied_array(prices_b)
    booksum = implied_a + implied_b  # NaN propagates from either side
    return implied_a / booksum, implied_b / booksum, booksum - 1.0


def _validate_decimal(decimal_odds: float) -> float:
    value = float(decimal_odds)
    if not math.isfinite(value) or value <= 1.0:
        raise ValueError(f"invalid decimal odds {decimal_odds!r}: need a finite number > 1")
    return value


def _validate_probability(probability: float) -> float:
    value = float(probability)
    if not math.isfinite(value) or not 0.0 < value < 1.0:
        raise ValueError(f"invalid probability {probability!r}: need a number in (0, 1)")
    return value


def _as_float_array(values: ArrayLike) -> FloatArray:
    """A float64 copy of ``values``; None and pandas NA become NaN."""
    return np.array(values, dtype=np.float64, copy=True)
