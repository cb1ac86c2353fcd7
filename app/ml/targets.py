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


def total_over(frame: pd.DataFrame) -> pd.Series:
    """1 when the runs went over the opening total, 0 under; NaN for pushes and no line."""
    runs = frame["home_score"].astype(float) + frame["away_score"].astype(float)
    line = frame["total_open"].astype(float)
    return _binary(runs > line, runs.notna() & line.notna() & (runs != line))


def home_cover(frame: pd.DataFrame) -> pd.Series:
    """1 when the home team covered its closing run line; NaN without a line or on a push."""
    margin = frame["home_score"].astype(float) + frame["home_rl"].astype(float)
    away = frame["away_score"].astype(float)
    return _binary(margin > away, margin.notna() & away.notna() & (margin != away))


TARGET_SPECS = {
    "moneyline": Target("moneyline", home_win, ("home_ml_open", "away_ml_open")),
    "total_over": Target("total_over", total_over, ("over_open", "under_open")),
    "home_spread": Target("home_spread", home_cover, ("home_rl_price", "away_rl_price")),
}
