"""De-vig methods: a two-way quote's fair probabilities, its bookmaker's margin taken out.

Notation: ``q_i = 1 / d_i`` is side i's raw implied probability at decimal odds ``d_i`` and
``B = q_yes + q_no`` the booksum (``B - 1`` is the overround). Each method returns
``p_yes + p_no = 1`` except ``worst_case``. A quote with no margin (``B <= 1``, as when two
books' prices are mixed) has nothing to take out: every method then returns ``q_i / B``.

Which method is right is an empirical question (the favourite-longshot bias puts more of the
margin on the longshot); ``bench/devig_calibration.py`` measures each against results and
``BULLPEN_DEVIG`` picks one (README, "Fair line").
"""

from collections.abc import Callable, Iterable

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import brentq

from app.markets import MARKETS
from app.ml.metrics import expected_calibration_error, log_loss
from app.odds import american_to_implied_array

FloatArray = NDArray[np.float64]
Pair = tuple[float, float]

# brentq's absolute tolerance on the root: far below any probability we would print.
_XTOL = 1e-14


def multiplicative(q_yes: float, q_no: float) -> Pair:
    """Proportional: ``p_i = q_i / B``: the margin is taken from each side in proportion
    to its probability."""
    booksum = q_yes + q_no
    return q_yes / booksum, q_no / booksum


def additive(q_yes: float, q_no: float) -> Pair:
    """Equal shares: ``p_i = q_i - (B - 1) / 2``: each side gives up the same amount, so the
    longshot loses more of its probability (always positive for two ways: ``q_i < 1``)."""
    margin = (q_yes + q_no - 1.0) / 2.0
    return q_yes - margin, q_no - margin


def power(q_yes: float, q_no: float) -> Pair:
    """Power: ``p_i = q_i ** k`` with ``k`` solving ``q_yes**k + q_no**k = 1`` (``k > 1`` for a
    margin); found by Brent's method. The longshot's probability shrinks more."""
    k = brentq(lambda k: q_yes**k + q_no**k - 1.0, 1e-9, 1e4, xtol=_XTOL)
    return q_yes**k, q_no**k


def shin(q_yes: float, q_no: float) -> Pair:
    """Shin (1993): a share ``z`` of the money is from insiders;
    ``p_i = (sqrt(z**2 + 4 (1 - z) q_i**2 / B) - z) / (2 (1 - z))`` with ``z`` in [0, 1)
    solving ``p_yes + p_no = 1``; found by Brent's method."""
    booksum = q_yes + q_no

    def fair(z: float, q: float) -> float:
        return (np.sqrt(z * z + 4.0 * (1.0 - z) * q * q / booksum) - z) / (2.0 * (1.0 - z))

    # At z = 0 the sum is sqrt(B) >= 1; as z -> 1 it falls to (q_yes**2 + q_no**2) / B < 1.
    z = brentq(lambda z: fair(z, q_yes) + fair(z, q_no) - 1.0, 0.0, 1.0 - 1e-12, xtol=_XTOL)
    return fair(z, q_yes), fair(z, q_no)


def odds_ratio(q_yes: float, q_no: float) -> Pair:
    """Odds ratio (logit): every side's odds are divided by one ``c``,
    ``p_i / (1 - p_i) = (q_i / (1 - q_i)) / c``, i.e. ``p_i = q_i / (c + q_i - c q_i)``, with
    ``c`` solving ``p_yes + p_no = 1`` (equal shifts in log-odds); found by Brent's method."""

    def fair(c: float, q: float) -> float:
        return q / (c + q - c * q)

    c = brentq(lambda c: fair(c, q_yes) + fair(c, q_no) - 1.0, 1e-9, 1e9, xtol=_XTOL)
    return fair(c, q_yes), fair(c, q_no)


_FAIR: dict[str, Callable[[float, float], Pair]] = {
    "multiplicative": multiplicative,
    "additive": additive,
    "power": power,
    "shin": shin,
    "odds_ratio": odds_ratio,
}


def worst_case(q_yes: float, q_no: float) -> Pair:
    """For the side bet, the lowest fair probability over the other methods:
    ``p_i = min_m p_i(m)``. Conservative: the two no longer sum to 1."""
    fairs = [method(q_yes, q_no) for method in _FAIR.values()]
    return min(f[0] for f in fairs), min(f[1] for f in fairs)


METHODS: dict[str, Callable[[float, float], Pair]] = {**_FAIR, "worst_case": worst_case}
# The best calibrated on the shipped and shared SBRO closes (bench/devig_calibration.py, README).
DEFAULT_METHOD = "additive"


def method_named(name: str) -> Callable[[float, float], Pair]:
    """The method called ``name``; ValueError listing the known ones."""
    try:
        return METHODS[name]
    except KeyError:
        raise ValueError(f"unknown de-vig method {name!r}: one of {', '.join(METHODS)}") from None


def fair_pair(q_yes: float, q_no: float, method: str = DEFAULT_METHOD) -> Pair:
    """Fair probabilities of both sides from their raw implied ones (each in (0, 1))."""
    if not (0.0 < q_yes < 1.0 and 0.0 < q_no < 1.0):
        raise ValueError(f"implied probabilities must be in (0, 1): {q_yes!r}, {q_no!r}")
    if q_yes + q_no <= 1.0:
        return multiplicative(q_yes, q_no)
    return method_named(method)(q_yes, q_no)


def fair_pairs(
    q_yes: ArrayLike, q_no: ArrayLike, method: str = DEFAULT_METHOD
) -> tuple[FloatArray, FloatArray]:
    """:func:`fair_pair` over arrays; NaN where either side is missing or out of (0, 1)."""
    yes = np.asarray(q_yes, dtype=np.float64)
    no = np.asarray(q_no, dtype=np.float64)
    out_yes, out_no = np.full(yes.shape, np.nan), np.full(no.shape, np.nan)
    valid = np.isfinite(yes) & np.isfinite(no) & (yes > 0) & (yes < 1) & (no > 0) & (no < 1)
    if method == "multiplicative":  # the common case, in closed form
        booksum = yes + no
        return np.where(valid, yes / booksum, np.nan), np.where(valid, no / booksum, np.nan)
    for index in np.flatnonzero(valid):
        out_yes[index], out_no[index] = fair_pair(float(yes[index]), float(no[index]), method)
    return out_yes, out_no


def calibration(games: pd.DataFrame, methods: Iterable[str] = tuple(METHODS)) -> list[dict]:
    """Each method's fair probability of every market's yes side at the open and the close,
    against the results: ``{market, moment, method, n, log_loss, ece}`` rows.

    The games scored for a market and moment are those with both prices, the line and a
    result at that line (``app.markets.Market.outcome``: pushes and voided games are out),
    the same games for every method.
    """
    rows = []
    for market in MARKETS.values():
        for moment, quote in (("open", market.open), ("close", market.close)):
            if quote is None or not set(quote.columns) <= set(games.columns):
                continue
            q_yes = american_to_implied_array(
                games[quote.yes].to_numpy(np.float64, na_value=np.nan)
            )
            q_no = american_to_implied_array(games[quote.no].to_numpy(np.float64, na_value=np.nan))
            y = market.outcome(games, quote.line).to_numpy()
            keep = np.isfinite(q_yes) & np.isfinite(q_no) & np.isfinite(y)
            for method in methods:
                p_yes = fair_pairs(q_yes[keep], q_no[keep], method)[0]
                rows.append(
                    {
                        "market": market.short,
                        "moment": moment,
                        "method": method,
                        "n": int(keep.sum()),
                        "log_loss": log_loss(y[keep], p_yes),
                        "ece": expected_calibration_error(y[keep], p_yes),
                    }
                )
    return rows
