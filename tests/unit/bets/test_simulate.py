"""The day-by-day fractional-Kelly simulation, on hand-checked cases."""

import numpy as np
import pytest

from app.staking.kelly import StakingPolicy
from app.staking.pricing import Staking
from app.staking.simulate import max_drawdown, simulate

EVEN = 100.0  # +100: decimal odds 2.0


def test_one_winning_bet_is_sized_by_capped_fractional_kelly():
    # p=0.6 at even money: full Kelly 0.2, quarter Kelly 0.05, cap 0.05.
    result = simulate(["2019-04-01"], np.array([0.6]), np.array([EVEN]), np.array([EVEN]),
                      np.array([1.0]), np.array([0.55]))  # fmt: skip

    assert result.bets == 1 and result.wins == 1
    assert result.staked == pytest.approx(0.05)
    assert result.final_bankroll == pytest.approx(1.05)
    assert result.roi == pytest.approx(1.0)
    # CLV: close 0.55 for the side bet minus 1/2.0 implied by the price taken
    assert result.mean_clv == pytest.approx(0.05)


def test_the_no_side_is_bet_when_it_has_the_value_and_loses():
    result = simulate(["2019-04-01"], np.array([0.3]), np.array([EVEN]), np.array([EVEN]),
                      np.array([1.0]))  # fmt: skip

    assert result.bets == 1 and result.wins == 0
    assert result.final_bankroll == pytest.approx(0.95)
    assert result.hit_rate == 0.0
    assert result.mean_clv is None


def test_no_value_no_bet():
    # -110/-110 at p=0.5: negative expected value on both sides.
    result = simulate(["2019-04-01"], np.array([0.5]), np.array([-110.0]), np.array([-110.0]),
                      np.array([1.0]))  # fmt: skip

    assert result.bets == 0 and result.roi is None and result.final_bankroll == 1.0


def test_a_days_bets_are_sized_from_the_morning_bankroll_and_capped_in_total():
    policy = StakingPolicy(fraction=1.0, cap=0.4)
    dates = ["2019-04-01", "2019-04-01", "2019-04-02"]
    p = np.array([0.9, 0.9, 0.9])
    result = simulate(dates, p, np.full(3, EVEN), np.full(3, EVEN), np.array([1.0, 0.0, 1.0]),
                      staking=Staking(policy=policy, daily_exposure=0.5))  # fmt: skip

    # Day 1: two stakes of 0.4 scaled to 0.25 each: +0.25 - 0.25. Day 2: 0.4 staked, won.
    assert [value for _, value in result.curve] == pytest.approx([1.0, 1.4])
    assert result.staked == pytest.approx(0.9)
    assert result.sharpe_per_day is not None


def test_a_push_returns_the_stake():
    result = simulate(["2019-04-01"], np.array([0.6]), np.array([EVEN]), np.array([EVEN]),
                      np.array([np.nan]))  # fmt: skip

    assert result.pushes == 1 and result.final_bankroll == pytest.approx(1.0)
    assert result.hit_rate is None


def test_max_drawdown_is_the_worst_fall_from_a_peak():
    assert max_drawdown([1.2, 0.9, 1.5, 1.2], 1.0) == pytest.approx(0.25)
    assert max_drawdown([1.1, 1.2], 1.0) == 0.0
