"""The statistics that decide: paired tests clustered by date, calibration noise, blend weights.

- **Paired test (Diebold-Mariano).** Two forecasts of the same games are compared by the
  per-game difference of their log losses, ``d = loss_a - loss_b`` (positive: ``b`` better).
  Its mean's standard error is clustered by game date (the games of one date share weather,
  news and line moves, so they are not independent): statsmodels' OLS of ``d`` on a constant
  with ``cov_type="cluster"``; the p-value is one-sided, from Student's t with ``G - 1``
  degrees of freedom (G dates), for ``mean(d) > margin``.
- **Three targets.** Promotion and the bets gate are asked once per target, three questions
  at a time: each is significant only at ``ALPHA / 3`` (Bonferroni; ``TARGET_FAMILY``), which
  holds whether one target or all three are trained together.
- **ECE noise floor.** A perfectly calibrated forecast still shows an expected calibration
  error on a finite sample. The floor is the ECE of the same probabilities against outcomes
  drawn from them (``y ~ Bernoulli(p)``), over ``FLOOR_DRAWS`` simulations: its mean and its
  95th percentile. An ECE under the 95th percentile is indistinguishable from calibrated.
- **Blend weight.** The served probability is ``(1 - w) * fair + w * model``. ``w`` minimises
  the log loss of that blend on games neither model nor fair line was fitted on (scipy's
  bounded scalar minimiser over [0, 1]); it is kept only when the blend beats the fair line
  there by the paired test above (margin 0, corrected for three targets), else it is 0.
"""

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import statsmodels.api as sm
from scipy import optimize, stats

from app.ml.metrics import expected_calibration_error, game_log_losses

ALPHA = 0.05
TARGET_FAMILY = 3
# Promotion: the new version must beat the champion by this much log loss a game, and
# significantly so. 0.0002 is about half the standard error of a season (issue 19: ~0.0004
# over 2,400 games for a model 1 point from the market): a change smaller than that is noise.
PROMOTION_MARGIN = 0.0002
# The bets gate: the model must beat the market it bets against, significantly; any real
# edge is a bonus, so the margin is 0.
EDGE_MARGIN = 0.0
FLOOR_DRAWS = 200


def corrected_alpha(family: int = TARGET_FAMILY, alpha: float = ALPHA) -> float:
    """The level each of ``family`` questions is tested at (Bonferroni)."""
    return alpha / family


def clustered_mean(values: np.ndarray, clusters: np.ndarray) -> dict[str, float | int | None]:
    """Mean of ``values``, its standard error clustered by ``clusters`` (bets of one date move
    together) and t = mean / SE, by statsmodels (OLS on a constant, cluster-robust covariance
    with Stata's small-sample factor ``G/(G-1) * (n-1)/(n-k)``, which with one parameter is
    ``G/(G-1)``, G clusters); None where there are fewer than two clusters."""
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "standard_error": None, "t": None, "clusters": 0}
    values = np.asarray(values, dtype=float)
    mean = float(np.mean(values))
    groups = len(np.unique(clusters))
    if groups < 2:
        return {"n": n, "mean": mean, "standard_error": None, "t": None, "clusters": groups}
    fit = sm.OLS(values, np.ones(n)).fit(cov_type="cluster", cov_kwds={"groups": clusters})
    error = float(fit.bse[0])
    t = mean / error if error > 0 else None
    return {"n": n, "mean": mean, "standard_error": error, "t": t, "clusters": groups}


@dataclass(frozen=True)
class PairedTest:
    """``b`` against ``a`` on the same games: mean advantage of ``b`` (log loss a game), its
    date-clustered SE, the one-sided p-value of ``advantage > margin``, and the verdict at
    ``alpha``."""

    n: int
    dates: int
    advantage: float | None
    standard_error: float | None
    margin: float
    p_value: float | None
    alpha: float
    significant: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def paired_test(
    loss_a: np.ndarray,
    loss_b: np.ndarray,
    dates: np.ndarray,
    margin: float = 0.0,
    alpha: float | None = None,
) -> PairedTest:
    """Diebold-Mariano on per-game losses (module docstring); ``alpha`` defaults to the
    three-target level."""
    alpha = corrected_alpha() if alpha is None else alpha
    difference = np.asarray(loss_a, dtype=float) - np.asarray(loss_b, dtype=float)
    summary = clustered_mean(difference, np.asarray(dates))
    error, groups = summary["standard_error"], int(summary["clusters"])
    p_value = None
    if error is not None and error > 0:
        p_value = float(stats.t.sf((summary["mean"] - margin) / error, df=groups - 1))
    elif error == 0 and summary["mean"] is not None:
        # Identical losses on every game (or a constant gap): no noise to test against.
        p_value = 0.0 if summary["mean"] > margin else 1.0
    return PairedTest(
        n=int(summary["n"]),
        dates=groups,
        advantage=summary["mean"],
        standard_error=error,
        margin=margin,
        p_value=p_value,
        alpha=alpha,
        significant=p_value is not None and p_value < alpha,
    )


def log_loss_test(
    y: np.ndarray,
    p_a: np.ndarray,
    p_b: np.ndarray,
    dates: np.ndarray,
    margin: float = 0.0,
    alpha: float | None = None,
) -> PairedTest:
    """:func:`paired_test` of forecast ``b`` against ``a`` by per-game log loss."""
    return paired_test(game_log_losses(y, p_a), game_log_losses(y, p_b), dates, margin, alpha)


def ece_noise_floor(
    p: np.ndarray, draws: int = FLOOR_DRAWS, seed: int = 0
) -> dict[str, float | None]:
    """The ECE a perfectly calibrated forecast ``p`` shows on this many games (mean and 95th
    percentile over ``draws`` outcome sets drawn from ``p``)."""
    p = np.asarray(p, dtype=float)
    if len(p) == 0:
        return {"mean": None, "p95": None}
    rng = np.random.default_rng(seed)
    outcomes = rng.uniform(size=(draws, len(p))) < p
    values = np.array([expected_calibration_error(y, p) for y in outcomes])
    return {"mean": float(values.mean()), "p95": float(np.quantile(values, 0.95))}


def blend(fair: np.ndarray, model: np.ndarray, weight: float) -> np.ndarray:
    """The served probability: ``(1 - weight) * fair + weight * model``."""
    return (1.0 - weight) * np.asarray(fair, dtype=float) + weight * np.asarray(model, dtype=float)


@dataclass(frozen=True)
class BlendWeight:
    """The weight the model earned beside the fair line, the weight fitted, and the evidence."""

    weight: float
    fitted: float
    test: PairedTest | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "fitted": self.fitted,
            "test": None if self.test is None else self.test.as_dict(),
        }


MIN_BLEND_GAMES = 100


def fit_blend_weight(
    y: np.ndarray, fair: np.ndarray, model: np.ndarray, dates: np.ndarray
) -> BlendWeight:
    """The blend weight of ``model`` beside ``fair`` on these (held-out) games (module
    docstring); 0 with fewer than ``MIN_BLEND_GAMES`` games or without evidence."""
    y, fair, model = (np.asarray(a, dtype=float) for a in (y, fair, model))
    usable = np.isfinite(fair) & np.isfinite(model) & np.isfinite(y)
    if usable.sum() < MIN_BLEND_GAMES:
        return BlendWeight(0.0, 0.0, None)
    y, fair, model, dates = y[usable], fair[usable], model[usable], np.asarray(dates)[usable]

    def loss(weight: float) -> float:
        return float(np.mean(game_log_losses(y, blend(fair, model, weight))))

    fitted = float(optimize.minimize_scalar(loss, bounds=(0.0, 1.0), method="bounded").x)
    test = log_loss_test(y, fair, blend(fair, model, fitted), dates)
    return BlendWeight(fitted if test.significant else 0.0, fitted, test)
