"""A market prior: boosting starts from the market's calibrated log-odds and learns a correction.

The prior is a small logistic regression on the market's opening log-odds, fitted on the
model's fitting games only (never on its early-stopping or held-out games or anything
later; the refit of :func:`app.ml.train.fit_model` fits it again on every training game):

    margin = a + b * logit(market)                                  (no split feature)
    margin = a + b * logit(market) + c * s + d * s * logit(market)   (s = split feature < 0)

``b`` below 1 says the market's opening price was overconfident on the training games;
the split lets one market price serve a related market, e.g. the home run-line cover from
the opening moneyline, separately for the favourite's -1.5 and the underdog's +1.5. A
model with a prior predicts ``sigmoid(margin + booster raw score)``. Where the game has no
market price the prior falls back to the training games' base rate.
"""

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

PROBABILITY_FLOOR = 1e-6
IDENTITY = (0.0, 1.0)
# A whisper of ridge keeps the Newton steps finite when a column is constant.
RIDGE = 1e-6
NEWTON_STEPS = 50


def logit(probability: np.ndarray) -> np.ndarray:
    """Log-odds, with probabilities clipped away from 0 and 1."""
    p = np.clip(np.asarray(probability, dtype=float), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    return np.log(p / (1 - p))


def sigmoid(margin: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(margin, dtype=float)))


@dataclass(frozen=True)
class MarketPrior:
    """Where the market probability is, how it is calibrated, and the base rate without one."""

    feature_index: int
    fallback_probability: float
    coefficients: tuple[float, ...] = IDENTITY
    split_index: int | None = None

    def design(self, features: np.ndarray) -> np.ndarray:
        """The regression's columns for every row of ``features``."""
        features = np.asarray(features, dtype=float)
        market = features[:, self.feature_index]
        valid = np.isfinite(market) & (market > 0) & (market < 1)
        z = logit(np.where(valid, market, self.fallback_probability))
        columns = [np.ones_like(z), z]
        if self.split_index is not None:
            # The home side lays the run (-1.5). Without a quoted run line (a morning before
            # books post one) MLB's convention decides: the moneyline favourite lays it.
            line = features[:, self.split_index]
            favourite = np.where(valid, market > 0.5, False)
            split = np.where(np.isfinite(line), line < 0, favourite).astype(float)
            columns += [split, split * z]
        return np.column_stack(columns)

    def margin(self, features: np.ndarray) -> np.ndarray:
        """The prior's log-odds for every row of ``features``."""
        return self.design(features) @ np.asarray(self.coefficients, dtype=float)


def fit_market_prior(
    features: np.ndarray, labels: np.ndarray, feature_index: int, split_index: int | None = None
) -> MarketPrior:
    """The logistic calibration of the market's log-odds on these (training) games."""
    labels = np.asarray(labels, dtype=float)
    unfitted = MarketPrior(feature_index, float(labels.mean()), split_index=split_index)
    design = unfitted.design(features)
    weights = np.zeros(design.shape[1])
    weights[1] = 1.0  # start from the market as it is
    ridge = RIDGE * np.eye(len(weights))
    for _ in range(NEWTON_STEPS):
        p = sigmoid(design @ weights)
        hessian = design.T @ (design * (p * (1 - p))[:, np.newaxis]) + ridge
        step = np.linalg.solve(hessian, design.T @ (p - labels) + ridge @ weights)
        weights -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return MarketPrior(
        feature_index,
        unfitted.fallback_probability,
        tuple(float(w) for w in weights),
        split_index,
    )


def predict_probability(
    booster: lgb.Booster,
    features: np.ndarray,
    prior: MarketPrior | None,
    num_iteration: int | None = None,
    num_threads: int = 0,
    tree_weight: float = 1.0,
) -> np.ndarray:
    """The probability of the target's 'yes' side for every row of ``features``
    (``num_threads`` 0: LightGBM's default; ``tree_weight`` 0: the prior alone, for a model
    whose trees did not earn their place)."""
    features = np.asarray(features, dtype=float)
    threads = {"num_threads": num_threads} if num_threads else {}
    if prior is None:
        return booster.predict(features, num_iteration=num_iteration, **threads)
    if tree_weight == 0:
        return sigmoid(prior.margin(features))
    raw = booster.predict(features, num_iteration=num_iteration, raw_score=True, **threads)
    return sigmoid(tree_weight * raw + prior.margin(features))
