import pytest

from app.staking.kelly import StakingPolicy, kelly_fraction, stake_fraction


def test_full_kelly_of_a_known_edge():
    # 55% at even money: f* = (0.55 * 1 - 0.45) / 1 = 0.10
    assert kelly_fraction(0.55, 2.0) == pytest.approx(0.10)


def test_no_edge_means_no_stake():
    assert kelly_fraction(0.45, 2.0) == 0.0
    assert kelly_fraction(1.2, 2.0) == 0.0


def test_fractional_kelly_is_capped():
    assert stake_fraction(0.55, 2.0, StakingPolicy(fraction=0.25, cap=0.05)) == pytest.approx(0.025)
    assert stake_fraction(0.9, 2.0, StakingPolicy(fraction=0.5, cap=0.05)) == 0.05
