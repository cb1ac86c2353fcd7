"""Probability metrics, computed the same way for models and for the market."""

import numpy as np
from sklearn.metrics import roc_auc_score

EPSILON = 1e-15


def game_log_losses(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Binary cross-entropy (natural log) of every game."""
    p = np.clip(np.asarray(p, dtype=float), EPSILON, 1 - EPSILON)
    y = np.asarray(y, dtype=float)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy (natural log)."""
    return float(np.mean(game_log_losses(y, p)))


def brier(y: np.ndarray, p: np.ndarray) -> float:
    """Mean squared error of the probabilities."""
    return float(np.mean((np.asarray(p, dtype=float) - np.asarray(y, dtype=float)) ** 2))


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 10) -> float:
    """Weighted mean |observed rate - mean probability| over equal-width probability bins."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    index = np.minimum((p * bins).astype(int), bins - 1)
    error = 0.0
    for b in range(bins):
        in_bin = index == b
        if in_bin.any():
            error += in_bin.mean() * abs(y[in_bin].mean() - p[in_bin].mean())
    return float(error)


def probability_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Log loss, Brier, ROC AUC, accuracy, expected calibration error and n."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    return {
        "log_loss": log_loss(y, p),
        "brier": brier(y, p),
        "auc": float(roc_auc_score(y, p)) if len(np.unique(y)) == 2 else float("nan"),
        "accuracy": float(np.mean((p >= 0.5) == (y == 1))),
        "ece": expected_calibration_error(y, p),
        "n": float(len(y)),
    }
