"""The clustered mean and the date bootstrap behind CLV and ROI reports."""

import numpy as np
import pytest

from app.bets.reports import cluster_bootstrap_ratio, clustered_mean


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


def test_the_bootstrap_resamples_whole_dates() -> None:
    """Each date's bets all have one value: any resample of dates gives a mean among the
    dates' values weighted by their bets, so the interval stays inside [min, max] of them;
    the ratio's interval holds the estimate, and one date has none."""
    values = np.array([0.01, 0.01, 0.01, -0.02, 0.05, 0.05])
    dates = np.array([1, 1, 1, 2, 3, 3])
    low, high = cluster_bootstrap_ratio(values, np.ones(6), dates)
    assert -0.02 - 1e-12 <= low <= values.mean() <= high <= 0.05 + 1e-12  # float sums
    profit, stakes = np.array([10.0, -5.0, 8.0, -10.0]), np.array([10.0, 5.0, 8.0, 10.0])
    low, high = cluster_bootstrap_ratio(profit, stakes, np.array([1, 2, 3, 4]))
    assert low <= profit.sum() / stakes.sum() <= high
    assert cluster_bootstrap_ratio(values[:3], np.ones(3), dates[:3]) is None


def test_the_clustered_error_is_statsmodels_cluster_robust_one() -> None:
    """statsmodels' cluster-robust error of a mean, Stata's factor G/(G-1) * (n-1)/(n-k)
    with k = 1, is the hand formula above."""
    rng = np.random.default_rng(7)
    values, dates = rng.normal(0.01, 0.05, 200), rng.integers(0, 30, 200)
    stats = clustered_mean(values, dates)
    mean = values.mean()
    keys = np.unique(dates)
    sums = np.array([np.sum(values[dates == key] - mean) for key in keys])
    error = np.sqrt(len(keys) / (len(keys) - 1) * np.sum(sums**2)) / len(values)
    assert stats["standard_error"] == pytest.approx(error)


def test_the_bankroll_curve_groups_settlements_by_the_eastern_date() -> None:
    import uuid
    from datetime import UTC, datetime

    from app.bets.models import Bet
    from app.bets.reports import bankroll_curve

    def settled(at: datetime, profit: float) -> Bet:
        return Bet(bet_id=uuid.uuid4(), settled_at=at, profit=profit)

    bets = [
        settled(datetime(2019, 7, 1, 20, 0, tzinfo=UTC), 10.0),  # 4 pm Eastern, July 1
        settled(datetime(2019, 7, 2, 3, 30, tzinfo=UTC), -4.0),  # 11:30 pm Eastern, July 1
        settled(datetime(2019, 7, 2, 4, 30, tzinfo=UTC), 1.0),  # 00:30 Eastern, July 2
    ]
    curve = bankroll_curve(bets, 100.0)
    assert [(p["date"], p["bets"], p["bankroll"]) for p in curve] == [
        ("2019-07-01", 2, pytest.approx(106.0)),
        ("2019-07-02", 1, pytest.approx(107.0)),
    ]
