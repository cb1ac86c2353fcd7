"""The one-SE rule: trees are kept only where they beat fewer trees beyond the slice's noise."""

import lightgbm as lgb
import numpy as np
import pytest

from app.ml.hyperparameters import parse_hyperparameters
from app.ml.train import one_standard_error_rounds

PARAMS = {"objective": "binary", "learning_rate": 0.05, "num_leaves": 3, "verbosity": -1,
          "min_data_in_leaf": 50, "num_threads": 1, "seed": 1}  # fmt: skip


def _slices(signal: float, seed: int) -> tuple:
    """A model fitted on 5,000 games, early-stopped on the next 3,000 (its best round)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(8000, 3))
    y = (rng.random(8000) < 1 / (1 + np.exp(-signal * x[:, 0]))).astype(float)
    dates = np.repeat(np.arange(800), 10)  # 10 games a date
    fit, stop = slice(0, 5000), slice(5000, 8000)
    train = lgb.Dataset(x[fit], y[fit])
    booster = lgb.train(
        PARAMS,
        train,
        num_boost_round=300,
        valid_sets=[lgb.Dataset(x[stop], y[stop], reference=train)],
        callbacks=[lgb.early_stopping(50, verbose=False)],
    )
    return booster, x[stop], y[stop], dates[stop], max(booster.best_iteration, 1)


@pytest.mark.parametrize("seed", [2, 3, 6])  # seeds whose noise the best round fitted
def test_noise_features_keep_almost_no_trees(seed: int) -> None:
    booster, x, y, dates, best = _slices(signal=0.0, seed=seed)
    assert best >= 15
    assert 1 <= one_standard_error_rounds(booster, x, y, None, dates, best) <= 3


def test_a_real_signal_keeps_most_of_the_trees() -> None:
    booster, x, y, dates, best = _slices(signal=1.0, seed=4)
    kept = one_standard_error_rounds(booster, x, y, None, dates, best)
    assert best > 40 and best / 2 <= kept <= best


def test_the_rule_is_a_checked_setting() -> None:
    document = {"version": 1, "training": {"validation_share": 0.2, "max_rounds": 10,
                "early_stopping_rounds": 5, "rounds_rule": "fewest"}, "lightgbm": {}}  # fmt: skip
    with pytest.raises(ValueError, match="rounds_rule"):
        parse_hyperparameters(document, "moneyline")


def test_a_prior_no_round_beats_serves_the_prior_alone() -> None:
    booster, x, y, dates, best = _slices(signal=0.0, seed=2)
    prior = np.zeros(len(y))  # the market's log-odds: the coin these labels are
    assert one_standard_error_rounds(booster, x, y, prior, dates, best) == 0
