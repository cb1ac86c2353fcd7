"""A market prior: boosting starts from the market's log-odds and learns only a correction.

A model with a prior predicts ``sigmoid(logit(market) + booster raw score)``. Where the
game has no market price the prior falls back to the training games' base rate.
"""

from dataclasses import dataclass

import lightgbm as lgb
import numpy as np

PROBABILITY_FLOOR = 1e-6


def logit(probability: np.ndarray) -> np.ndarray:
    """Log-odds, with probabilities clipped away from 0 and 1."""
    p = np.clip(np.asarray(probability, dtype=float), PROBABILITY_FLOOR, 1 - PROBABILITY_FLOOR)
    return np.log(p / (1 - p))


def sigmoid(margin: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.asarray(margin, dtype=float)))


@dataclass(frozen=True)
class MarketPrior:
    """The feature column holding a market probability, and the base rate used without one."""

    feature_index: int
    fallback_probability: float

    def margin(self, features: np.ndarray) -> np.ndarray:
        """The prior's log-odds for every row of ``features``."""
        market = np.asarray(features, dtype=float)[:, self.feature_index]
        valid = np.isfinite(market) & (market > 0) & (market < 1)
        return logit(np.where(valid, market, self.fallback_probability))


def predict_probability(
    booster: lgb.Booster,
    features: np.ndarray,
    prior: MarketPrior | None,
    num_iteration: int | None = None,
) -> np.ndarray:
    """The probability of the target's 'yes' side for every row of ``features``."""
    features = np.asarray(features, dtype=float)
    if prior is None:
        return booster.predict(features, num_iteration=num_iteration)
    raw = booster.predict(features, num_iteration=num_iteration, raw_score=True)
    return sigmoid(raw + prior.margin(features))
