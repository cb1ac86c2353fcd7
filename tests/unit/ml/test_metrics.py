import math

import numpy as np
import pytest

from app.ml.metrics import expected_calibration_error, log_loss, probability_metrics


def test_a_coin_flip_scores_log_two():
    y = np.array([0, 1, 1, 0])

    assert log_loss(y, np.full(4, 0.5)) == pytest.approx(math.log(2))


def test_perfect_calibration_has_no_error():
    y = np.array([1, 0] * 50)

    assert expected_calibration_error(y, np.full(100, 0.5)) == pytest.approx(0.0)
    assert expected_calibration_error(y, np.full(100, 0.9)) == pytest.approx(0.4)


def test_all_metrics_together():
    metrics = probability_metrics(np.array([1, 0, 1, 0]), np.array([0.8, 0.3, 0.6, 0.1]))

    assert metrics["accuracy"] == 1.0
    assert metrics["auc"] == 1.0
    assert metrics["n"] == 4
    assert metrics["brier"] == pytest.approx((0.04 + 0.09 + 0.16 + 0.01) / 4)
