"""A betting simulation: fractional-Kelly stakes on a model's picks, settled day by day.

Rules (the backtest's and the training run's bankroll curve follow them):

- One candidate bet per game: the side with the larger positive expected value at the
  prices given (the rule of live recommendations, ``app.betting.recommend.recommendation``).
- Stakes are fractional Kelly (:class:`app.betting.kelly.StakingPolicy`: quarter Kelly, at
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
- Closing-line value (CLV) of a bet is the de-vigged closing probability of the side bet
  minus the raw implied probability (vig included) of the price taken: positive when the
  market closed further toward the bet than the price paid for it.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from app.betting.kelly import DEFAULT_POLICY, StakingPolicy, stake_fraction
from app.betting.odds import american_to_decimal_array

DEFAULT_MAX_DAILY_EXPOSURE = 0.5
DEFAULT_INITIAL_BANKROLL = 1.0


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
        }


def simulate(
    dates: Sequence,
    probability_yes: np.ndarray,
    price_yes: np.ndarray,
    price_no: np.ndarray,
    outcome_yes: np.ndarray,
    close_probability_yes: np.ndarray | None = None,
    *,
    policy: StakingPolicy = DEFAULT_POLICY,
    max_daily_exposure: float = DEFAULT_MAX_DAILY_EXPOSURE,
    initial_bankroll: float = DEFAULT_INITIAL_BANKROLL,
) -> SimulationResult:
    """Bet every game with value, day by day; see the module docstring for the rules.

    ``outcome_yes`` is 1 when the 'yes' side won, 0 when it lost, NaN for a push.
    ``close_probability_yes`` (de-vigged closing probability of 'yes') gives the CLV;
    without it the CLV is None.
    """
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
    frame = _choose_sides(frame, policy)
    bankroll = initial_bankroll
    curve: list[tuple[str, float]] = []
    daily_returns: list[float] = []
    stakes_all, profits_all, wins, pushes, clvs = [], [], 0, 0, []
    for date, day in frame.groupby("date", sort=True):
        bets = day[day["fraction"] > 0]
        if not bets.empty:
            fractions = bets["fraction"].to_numpy()
            scale = min(1.0, max_daily_exposure / fractions.sum())
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
        policy=policy,
        max_daily_exposure=max_daily_exposure,
        curve=curve,
    )


def _choose_sides(frame: pd.DataFrame, policy: StakingPolicy) -> pd.DataFrame:
    """Per game: the side with the larger positive EV, its Kelly fraction, result and CLV."""
    p_yes = frame["p"].to_numpy()
    ev_yes = p_yes * frame["dec_yes"].to_numpy() - 1
    ev_no = (1 - p_yes) * frame["dec_no"].to_numpy() - 1
    ev_yes, ev_no = np.nan_to_num(ev_yes, nan=-1.0), np.nan_to_num(ev_no, nan=-1.0)
    pick_yes = (ev_yes > 0) & (ev_yes >= ev_no)
    pick_no = (ev_no > 0) & ~pick_yes
    decimal = np.where(pick_yes, frame["dec_yes"], frame["dec_no"])
    side_probability = np.where(pick_yes, p_yes, 1 - p_yes)
    fraction = np.array(
        [
            stake_fraction(prob, dec, policy) if (yes or no) else 0.0
            for prob, dec, yes, no in zip(side_probability, decimal, pick_yes, pick_no, strict=True)
        ]
    )
    outcome = frame["outcome"].to_numpy()
    side_won = np.where(np.isnan(outcome), np.nan, np.where(pick_yes, outcome, 1 - outcome))
    close_side = np.where(pick_yes, frame["close"], 1 - frame["close"])
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
