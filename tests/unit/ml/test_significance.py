"""The paired test clustered by date, the ECE noise floor and the blend weight (synthetic)."""

import numpy as np
import pytest

from app.ml.metrics import expected_calibration_error, game_log_losses
from app.ml.significance import (
    ALPHA,
    corrected_alpha,
    ece_noise_floor,
    fit_blend_weight,
    log_loss_test,
    paired_test,
)


def _dated(n_dates: int, per_date: int) -> np.ndarray:
    return np.repeat(np.arange(n_dates), per_date)


def test_the_standard_error_is_the_cluster_robust_one():
    rng = np.random.default_rng(0)
    dates = _dated(100, 12)
    a = rng.normal(size=len(dates))
    b = a - 0.01 + rng.normal(size=len(dates))

    test = paired_test(a, b, dates)

    d = a - b
    residual = d - d.mean()
    sums = np.bincount(dates, weights=residual)
    groups = len(sums)
    expected = np.sqrt(groups / (groups - 1) * np.sum(sums**2)) / len(d)
    assert test.advantage == pytest.approx(d.mean())
    assert test.standard_error == pytest.approx(expected, rel=1e-9)
    assert test.dates == 100 and test.n == len(d)


def test_games_of_one_date_that_move_together_widen_the_standard_error():
    rng = np.random.default_rng(1)
    dates = _dated(60, 15)
    shock = rng.normal(size=60)[dates]  # a date's games share a shock
    d = 0.002 + shock + 0.2 * rng.normal(size=len(dates))

    clustered = paired_test(d, np.zeros_like(d), dates)
    naive = paired_test(d, np.zeros_like(d), np.arange(len(d)))

    assert clustered.standard_error > 3 * naive.standard_error


def test_a_real_advantage_passes_only_above_its_margin_at_the_corrected_level():
    rng = np.random.default_rng(2)
    dates = _dated(200, 10)
    truth = rng.uniform(0.3, 0.7, len(dates))
    y = (rng.uniform(size=len(dates)) < truth).astype(float)
    coin = np.full(len(dates), 0.5)

    plain = log_loss_test(y, coin, truth, dates)
    margin = log_loss_test(y, coin, truth, dates, margin=0.5)

    assert plain.alpha == pytest.approx(ALPHA / 3) == corrected_alpha()
    assert plain.significant and plain.p_value < plain.alpha
    assert not margin.significant and margin.p_value > 0.5


def test_two_equal_forecasts_are_rarely_told_apart():
    rng = np.random.default_rng(3)
    dates = _dated(150, 10)
    rejections = 0
    for _ in range(200):
        truth = rng.uniform(0.35, 0.65, len(dates))
        y = (rng.uniform(size=len(dates)) < truth).astype(float)
        a = np.clip(truth + rng.normal(0, 0.03, len(dates)), 0.01, 0.99)
        b = np.clip(truth + rng.normal(0, 0.03, len(dates)), 0.01, 0.99)
        rejections += log_loss_test(y, a, b, dates).significant
    # One-sided at 0.05 / 3: about 3 in 200 by chance.
    assert rejections <= 10


def test_identical_forecasts_are_never_significant():
    y = np.array([1.0, 0.0] * 50)
    p = np.full(100, 0.55)

    test = log_loss_test(y, p, p, _dated(50, 2))

    assert test.advantage == 0 and not test.significant


def test_the_ece_floor_is_what_a_calibrated_forecast_shows_and_shrinks_with_n():
    rng = np.random.default_rng(4)
    small = rng.uniform(0.4, 0.6, 500)
    large = rng.uniform(0.4, 0.6, 20_000)

    floor_small, floor_large = ece_noise_floor(small), ece_noise_floor(large)

    assert floor_large["mean"] < floor_small["mean"] / 3
    assert floor_small["mean"] < floor_small["p95"]
    # A calibrated forecast's own ECE lies under the 95th percentile most of the time.
    below = 0
    for seed in range(40):
        y = np.random.default_rng(100 + seed).uniform(size=500) < small
        below += expected_calibration_error(y, small) <= floor_small["p95"]
    assert below >= 34


def test_a_model_that_adds_nothing_earns_no_weight():
    rng = np.random.default_rng(5)
    dates = _dated(120, 10)
    fair = rng.uniform(0.3, 0.7, len(dates))
    y = (rng.uniform(size=len(dates)) < fair).astype(float)
    model = np.clip(fair + rng.normal(0, 0.05, len(dates)), 0.01, 0.99)

    earned = fit_blend_weight(y, fair, model, dates)

    assert earned.weight == 0.0 and earned.fitted < 0.3
    assert earned.test is not None and not earned.test.significant


def test_a_model_that_knows_more_than_the_fair_line_earns_its_weight():
    rng = np.random.default_rng(6)
    dates = _dated(300, 10)
    truth = rng.uniform(0.15, 0.85, len(dates))
    y = (rng.uniform(size=len(dates)) < truth).astype(float)
    fair = 0.5 + 0.4 * (truth - 0.5)  # a fair line that knows part of the truth

    earned = fit_blend_weight(y, fair, truth, dates)

    assert earned.weight == earned.fitted > 0.6
    blended = (1 - earned.weight) * fair + earned.weight * truth
    assert game_log_losses(y, blended).mean() < game_log_losses(y, fair).mean()


def test_too_few_games_earn_nothing():
    earned = fit_blend_weight(np.ones(10), np.full(10, 0.5), np.full(10, 0.9), np.arange(10))

    assert (earned.weight, earned.test) == (0.0, None)
