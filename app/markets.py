"""Every market declared once: its names, sides, line, price fields, label and grading.

A market is two-way: a 'yes' side (home, over, home on the run line) and a 'no' side. Its
names:

- ``name``: the prediction target and model (``bullpen ml train moneyline``);
- ``key``: the prefix of a prediction's fields (``home_ml_probability``) and the ledger's
  ``market`` (``betting_recommendations.home_ml``);
- ``short``: the name data files and reports use (``moneyline``, ``total``, ``run_line``).

Its price fields: the columns of a line snapshot (``odds_snapshots``), of the opening and
closing quote of an ``odds`` row and of the games frame (SBRO keeps no opening run line),
each a :class:`Quote` of the yes price, the no price and the line.

Its outcome, one rule for labels (training, evaluation) and grading (settlement): the 'yes'
side's *margin* at a line — home minus away runs for the moneyline, runs minus the total,
home runs plus the home run line minus away runs — wins when positive, pushes at zero. A
game stopped before its scheduled length (:func:`went_the_distance`) voids the markets that
books void for it (totals, run line); the moneyline stands.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Quote:
    """Columns of one two-way quote: the yes side's price, the no side's, and the line."""

    yes: str
    no: str
    line: str | None = None

    @property
    def columns(self) -> tuple[str, ...]:
        """Every column of the quote (the line last)."""
        return (self.yes, self.no) if self.line is None else (self.yes, self.no, self.line)


Margin = Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class Market:
    """One two-way market (see the module docstring for the names and the outcome rule)."""

    name: str
    key: str
    short: str
    title: str
    yes: str
    no: str
    snapshot: Quote
    open: Quote | None
    close: Quote
    margin: Margin
    void_when_short: bool

    @property
    def sides(self) -> tuple[str, str]:
        return (self.yes, self.no)

    @property
    def priced(self) -> Quote:
        """The quote a model is asked about and a stored game priced at: the opening one,
        else (no opening quote kept) the closing one."""
        return self.open or self.close

    @property
    def line(self) -> str | None:
        """The games-frame column of the line the model is asked about (None: no line)."""
        return self.priced.line

    @property
    def has_line(self) -> bool:
        return self.line is not None

    def is_yes(self, side: str) -> bool:
        """True for the yes side; ValueError for a side of no such name."""
        if side not in self.sides:
            raise ValueError(f"{self.key} has no side {side!r}: {self.sides}")
        return side == self.yes

    def outcome(self, games: pd.DataFrame, line: str | None = None) -> pd.Series:
        """1 when the yes side won at the ``line`` column (default: the model's), 0 when
        it lost; NaN on a push, without a score or line, and for a voided short game."""
        column = line or self.line
        home = games["home_score"].to_numpy(np.float64, na_value=np.nan)
        away = games["away_score"].to_numpy(np.float64, na_value=np.nan)
        at = (
            np.zeros(len(games))
            if column is None
            else games[column].to_numpy(np.float64, na_value=np.nan)
        )
        margin = self.margin(home, away, at)
        defined = np.isfinite(margin) & (margin != 0)
        if self.void_when_short:
            defined &= went_the_distance(games).to_numpy(bool)
        values = np.where(defined, (margin > 0).astype(float), np.nan)
        return pd.Series(values, index=games.index)

    def grade(self, side: str, line: float | None, home: int, away: int, full_length: bool) -> str:
        """``won``/``lost``/``push``/``void`` of a bet on ``side`` at ``line``, from a final."""
        if self.void_when_short and not full_length:
            return "void"
        if self.has_line and line is None:
            return "void"
        margin = float(self.margin(np.float64(home), np.float64(away), np.float64(line or 0.0)))
        if margin == 0:
            return "push"
        return "won" if (margin > 0) == self.is_yes(side) else "lost"


def went_the_distance(frame: pd.DataFrame) -> pd.Series:
    """False for a game stopped before its scheduled length (a rain-shortened game).

    Books void totals and run-line bets of such games. A game is complete once the home
    team, leading, needs no bottom half of the last scheduled inning: ``6 * innings - 3``
    outs (51 for nine innings, 39 for a 2020-2021 seven-inning doubleheader game). Without
    a known length (no Retrosheet log), a game counts as complete.
    """
    if "length_outs" not in frame or "scheduled_innings" not in frame:
        return pd.Series(True, index=frame.index)
    outs = frame["length_outs"].astype(float)
    innings = frame["scheduled_innings"].astype(float).fillna(9.0)
    return ~(outs < 6.0 * innings - 3.0)


MONEYLINE = Market(
    name="moneyline",
    key="home_ml",
    short="moneyline",
    title="Moneyline",
    yes="home",
    no="away",
    snapshot=Quote("home_ml", "away_ml"),
    open=Quote("home_ml_open", "away_ml_open"),
    close=Quote("home_ml_close", "away_ml_close"),
    margin=lambda home, away, _line: home - away,
    void_when_short=False,
)
# The model is asked about the opening total: the price a pre-game bettor sees.
TOTAL = Market(
    name="total_over",
    key="total_over",
    short="total",
    title="Total",
    yes="over",
    no="under",
    snapshot=Quote("over_price", "under_price", "total"),
    open=Quote("over_open", "under_open", "total_open"),
    close=Quote("over_close", "under_close", "total_close"),
    margin=lambda home, away, line: home + away - line,
    void_when_short=True,
)
# SBRO keeps no opening run line: the model is asked about the stored (closing) one.
RUN_LINE = Market(
    name="home_spread",
    key="home_spread",
    short="run_line",
    title="Run line",
    yes="home",
    no="away",
    snapshot=Quote("home_rl_price", "away_rl_price", "home_rl"),
    open=None,
    close=Quote("home_rl_price", "away_rl_price", "home_rl"),
    margin=lambda home, away, line: home + line - away,
    void_when_short=True,
)

# By target name, in the one order every listing of markets uses.
MARKETS: dict[str, Market] = {market.name: market for market in (MONEYLINE, TOTAL, RUN_LINE)}
TARGETS: tuple[str, ...] = tuple(MARKETS)
# By key (prediction prefix, ledger market) and by short name.
BY_KEY: dict[str, Market] = {market.key: market for market in MARKETS.values()}
BY_SHORT: dict[str, Market] = {market.short: market for market in MARKETS.values()}


def by_key(key: str) -> Market:
    """The market of a ledger/prediction key; ValueError for an unknown one."""
    try:
        return BY_KEY[key]
    except KeyError:
        raise ValueError(f"unknown market {key!r}: {sorted(BY_KEY)}") from None
