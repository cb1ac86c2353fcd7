"""Kelly staking: the growth-optimal fraction of a bankroll, scaled down and capped."""

from dataclasses import dataclass


@dataclass(frozen=True)
class StakingPolicy:
    """Fractional Kelly: ``fraction`` of the full Kelly stake, never above ``cap`` of bankroll.

    Quarter Kelly keeps most of the growth rate while cutting the variance that
    full Kelly suffers when the probability estimate is itself uncertain.
    """

    fraction: float = 0.25
    cap: float = 0.05


DEFAULT_POLICY = StakingPolicy()


def kelly_fraction(probability: float, decimal_odds: float) -> float:
    """Full-Kelly fraction of bankroll for a bet at ``decimal_odds``; 0 when it has no edge."""
    if not 0.0 < probability < 1.0 or decimal_odds <= 1.0:
        return 0.0
    net = decimal_odds - 1.0
    return max(0.0, (probability * net - (1.0 - probability)) / net)


def stake_fraction(
    probability: float, decimal_odds: float, policy: StakingPolicy = DEFAULT_POLICY
) -> float:
    """The fraction of bankroll to stake under ``policy``."""
    return min(policy.cap, policy.fraction * kelly_fraction(probability, decimal_odds))
