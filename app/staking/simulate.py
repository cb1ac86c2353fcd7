"""A betting simulation: fractional-Kelly stakes on a model's picks, settled day by day.

Rules (the backtest's and the training run's bankroll curve follow them):

- One candidate bet per game, chosen by the rule live serving uses
  (``app.staking.pricing.choose_side``): the side with the larger expected value at the prices
  given, bet when ``EV >= min_ev`` (``BULLPEN_MIN_EV``). The simulation asks what the model
  would have earned had its gate been open (``EDGE_GATE``): whether it may bet is its
  evidence, reported beside (``app.ml.evaluation.edge_evidence``).
- Stakes are fractional Kelly (:class:`app.staking.kelly.StakingPolicy`: quarter Kelly, at
  most 5% of the bankroll a bet), sized from the bankroll at the START of the game's
  date: a day's games are simultaneous, so a day's bets cannot fund each other. When a
  day's stakes add up to more than ``max_daily_exposure`` of the bankroll they are all
  scaled down in proportion.
- A win pays ``stake * (decimal odds - 1)``, a loss costs the stake, a push (outcome NaN)
  returns it. The bankroll is updated once a day, after every game of the day.
- Sharpe is per betting day: mean / standard deviation of the daily bankroll return over
  days with at least one bet (not annualised).
- Max drawdown is the largest fall from a running peak of the end-of-day bankroll, as a
  fraction of that peak.
- Closing-line value (CLV) of a bet is ``app.odds.closing_line_value``: the de-vigged
  closing probability of the side bet minus the raw implied probability (vig included) of
  the price taken.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from app.odds import american_to_decimal_array
from app.staking.kelly import StakingPolicy
from app.staking.pricing import Candidate, Gate, Staking, choose_side

DEFAULT_INITIAL_BANKROLL = 1.0
# The gate of a model allowed to bet its edge: what the backtest simulates.
EDGE_GATE = Gate(bets_enabled=True, calibrated=False)


@dataclass(frozen=True)
class SimulationResult:
    """What a simulation did and how it ended."""

    bets: int
    wins: int
    pushes: int
    staked: float
    profit: float
    initial_bankroll: float
    final_bankroll: float
    hit_rate: float | None
    roi: float | None
    sharpe_per_day: float | None
    max_drawdown: float
    mean_clv: float | None
    policy: StakingPolicy
    max_daily_exposure: float
    min_ev: float
    # End-of-day bankroll: (ISO date, bankroll) for every date with games, in order.
    curve: list[tuple[str, float]] = field(repr=False)

    def summary(self) -> dict[str, float | int | None]:
        """The numbers, without the curve."""
        return {
            "bets": self.bets,
            "wins": self.wins,
            "pushes": self.pushes,
            "hit_rate": self.hit_rate,
            "staked": self.staked,
            "profit": self.profit,
            "roi": self.roi,
            "sharpe_per_day": self.sharpe_per_day,
            "max_drawdown": self.max_drawdown,
            "mean_clv": self.mean_clv,
            "initial_bankroll": self.initial_bankroll,
            "final_bankroll": self.final_bankroll,
            "kelly_fraction": self.policy.fraction,
            "kelly_cap": self.policy.cap,
            "max_daily_exposure": self.max_daily_exposure,
            "min_ev": self.min_ev,
        }


def simulate(
    dates: Sequence,
    probability_yes: np.ndarray,
    price_yes: np.ndarray,
    price_no: np.ndarray,
    outcome_yes: np.ndarray,
    close_probability_yes: np.ndarray | None = None,
    *,
    staking: Staking | None = None,
    gate: Gate = EDGE_GATE,
    initial_bankroll: float = DEFAULT_INITIAL_BANKROLL,
) -> SimulationResult:
    """Bet every game with value, day by day; see the module docstring for the rules.

    ``outcome_yes`` is 1 when the 'yes' side won, 0 when it lost, NaN for a push.
    ``close_probability_yes`` (de-vigged closing probability of 'yes') gives the CLV;
    without it the CLV is None. ``staking`` gives the Kelly policy, the daily exposure cap
    and ``min_ev`` (its bankroll is not used: the simulation's is ``initial_bankroll``).
    """
    staking = staking or Staking()
    frame = pd.DataFrame(
        {
            "date": pd.to_datetime(pd.Series(list(dates))).dt.normalize(),
            "p": np.asarray(probability_yes, dtype=float),
            "dec_yes": american_to_decimal_array(price_yes),
            "dec_no": american_to_decimal_array(price_no),
            "outcome": np.asarray(outcome_yes, dtype=float),
            "close": (
                np.full(len(probability_yes), np.nan)
                if close_probability_yes is None
                else np.asarray(close_probability_yes, dtype=float)
            ),
        }
    )
    frame = _choose_sides(frame, gate, staking)
    bankroll = initial_bankroll
    curve: list[tuple[str, float]] = []
    daily_returns: list[float] = []
    stakes_all, profits_all, wins, pushes, clvs = [], [], 0, 0, []
    for date, day in frame.groupby("date", sort=True):
        bets = day[day["fraction"] > 0]
        if not bets.empty:
            fractions = bets["fraction"].to_numpy()
            scale = min(1.0, staking.daily_exposure / fractions.sum())
            stakes = bankroll * fractions * scale
            won = bets["side_won"].to_numpy()
            profit = np.where(
                np.isnan(won), 0.0, np.where(won == 1, stakes * (bets["decimal"] - 1), -stakes)
            )
            day_profit = float(profit.sum())
            daily_returns.append(day_profit / bankroll)
            bankroll += day_profit
            stakes_all.extend(stakes.tolist())
            profits_all.extend(profit.tolist())
            wins += int(np.sum(won == 1))
            pushes += int(np.sum(np.isnan(won)))
            clvs.extend(bets["clv"].dropna().tolist())
        curve.append((pd.Timestamp(date).date().isoformat(), bankroll))
    staked = float(np.sum(stakes_all))
    profit_total = float(np.sum(profits_all))
    n_bets = len(stakes_all)
    decided = n_bets - pushes
    return SimulationResult(
        bets=n_bets,
        wins=wins,
        pushes=pushes,
        staked=staked,
        profit=profit_total,
        initial_bankroll=initial_bankroll,
        final_bankroll=bankroll,
        hit_rate=wins / decided if decided else None,
        roi=profit_total / staked if staked > 0 else None,
        sharpe_per_day=_sharpe(daily_returns),
        max_drawdown=max_drawdown([value for _, value in curve], initial_bankroll),
        mean_clv=float(np.mean(clvs)) if clvs else None,
        policy=staking.policy,
        max_daily_exposure=staking.daily_exposure,
        min_ev=staking.min_ev,
        curve=curve,
    )


def _choose_sides(frame: pd.DataFrame, gate: Gate, staking: Staking) -> pd.DataFrame:
    """Per game: the side served by ``choose_side``, its Kelly fraction, result and CLV."""
    picks = []
    for p, dec_yes, dec_no in zip(frame["p"], frame["dec_yes"], frame["dec_no"], strict=True):
        candidates = [
            Candidate(side, probability, decimal)
            for side, probability, decimal in (("yes", p, dec_yes), ("no", 1 - p, dec_no))
            if np.isfinite(decimal) and np.isfinite(probability)
        ]
        choice = choose_side(candidates, gate, staking)
        picks.append(
            (False, np.nan, 0.0)
            if choice is None
            else (choice.candidate.side == "yes", choice.candidate.decimal, choice.kelly_fraction)
        )
    pick_yes = np.array([pick[0] for pick in picks], dtype=bool)
    decimal = np.array([pick[1] for pick in picks], dtype=float)
    fraction = np.array([pick[2] for pick in picks], dtype=float)
    outcome = frame["outcome"].to_numpy()
    side_won = np.where(np.isnan(outcome), np.nan, np.where(pick_yes, outcome, 1 - outcome))
    close_side = np.where(pick_yes, frame["close"], 1 - frame["close"])
    # closing_line_value, vectorised: fair close of the side minus 1 / decimal paid.
    return frame.assign(
        decimal=decimal, fraction=fraction, side_won=side_won, clv=close_side - 1 / decimal
    )


def _sharpe(returns: list[float]) -> float | None:
    if len(returns) < 2:
        return None
    deviation = float(np.std(returns, ddof=1))
    return float(np.mean(returns)) / deviation if deviation > 0 else None


def max_drawdown(bankrolls: Sequence[float], initial: float) -> float:
    """Largest fall from a running peak, as a fraction of the peak (0 when it never fell)."""
    peak, worst = initial, 0.0
    for value in bankrolls:
        peak = max(peak, value)
        worst = max(worst, (peak - value) / peak)
    return worst
