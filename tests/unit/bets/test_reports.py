"""The clustered mean behind CLV reports, by hand."""

import numpy as np
import pytest

from app.bets.reports import clustered_mean


def test_clustered_standard_error_by_hand() -> None:
    values = np.array([0.02, 0.04, -0.01, 0.03])
    dates = np.array([1, 1, 2, 3])
    stats = clustered_mean(values, dates)
    mean = 0.02
    sums = [(0.02 - mean) + (0.04 - mean), -0.01 - mean, 0.03 - mean]
    error = np.sqrt(3 / 2 * sum(s**2 for s in sums)) / 4
    assert stats["mean"] == pytest.approx(mean)
    assert stats["standard_error"] == pytest.approx(error)
    assert stats["t"] == pytest.approx(mean / error)
    assert stats["clusters"] == 3


def test_one_cluster_has_no_error_and_nothing_has_no_mean() -> None:
    assert clustered_mean(np.array([0.1, 0.2]), np.array([5, 5]))["t"] is None
    assert clustered_mean(np.array([]), np.array([]))["mean"] is None
