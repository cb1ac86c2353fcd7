"""The three prediction targets: their labels and the prices their market is read at.

Labels are computed from final scores against the line the model is asked about:
the opening total for ``total_over`` (the price a pre-game bettor sees; a push is no
label) and the closing run line for ``home_spread`` (SBRO keeps no opening run line).
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Target:
    name: str
    label: Callable[[pd.DataFrame], pd.Series]
    # Columns of the game frame holding the American prices of the yes and no sides.
    price_columns: tuple[str, str]


def _binary(condition: pd.Series, defined: pd.Series) -> pd.Series:
    return pd.Series(np.where(defined, condition.astype(float), np.nan), index=condition.index)


def home_win(frame: pd.DataFrame) -> pd.Series:
    """1 when the home team won, 0 when it lost; NaN for unfinished games and ties."""
    home, away = frame["home_score"].astype(float), frame["away_score"].astype(float)
    return _binary(home > away, home.notna() & away.notna() & (home != away))


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


def total_over(frame: pd.DataFrame) -> pd.Series:
    """1 when the runs went over the opening total, 0 under; NaN for pushes, no line and
    games shortened below their scheduled length."""
    runs = frame["home_score"].astype(float) + frame["away_score"].astype(float)
    line = frame["total_open"].astype(float)
    defined = runs.notna() & line.notna() & (runs != line) & went_the_distance(frame)
    return _binary(runs > line, defined)


def home_cover(frame: pd.DataFrame) -> pd.Series:
    """1 when the home team covered its closing run line; NaN without a line, on a push and
    for games shortened below their scheduled length."""
    margin = frame["home_score"].astype(float) + frame["home_rl"].astype(float)
    away = frame["away_score"].astype(float)
    defined = margin.notna() & away.notna() & (margin != away) & went_the_distance(frame)
    return _binary(margin > away, defined)


TARGET_SPECS = {
    "moneyline": Target("moneyline", home_win, ("home_ml_open", "away_ml_open")),
    "total_over": Target("total_over", total_over, ("over_open", "under_open")),
    "home_spread": Target("home_spread", home_cover, ("home_rl_price", "away_rl_price")),
}
