"""Head-to-head: the home team's record against this opponent, this season before the game's
date, carried from last season's meetings.

Carried with r = 0.05 and k = 17 games (measured on 2010-2018, 1,792 pair-seasons: r = 0.06,
k = 17; ``bench/carry_constants.py``): last season's meetings say almost nothing beyond the
teams' strength, which the form family carries. Known at the open.
"""

import numpy as np
import pandas as pd

from app.features.featureset import FeatureDef
from app.features.history import carried, carried_rate, final_games, prior_of, state_before

CARRY_H2H_FACTOR = 0.05
CARRY_H2H_GAMES = 17

FEATURES: tuple[FeatureDef, ...] = (
    FeatureDef(
        "h2h_games",
        "games between the two teams this season (either venue) before the game's date",
    ),
    FeatureDef(
        "h2h_home_win_rate",
        carried(
            "the home team's win rate against the away team in those games",
            CARRY_H2H_FACTOR,
            CARRY_H2H_GAMES,
            "games",
        ),
    ),
)


def compute(
    history: pd.DataFrame, targets: pd.DataFrame, target_dates: pd.Series
) -> dict[str, np.ndarray]:
    """The head-to-head features of each target game."""
    final = final_games(history)
    home, away = final["home_team"].to_numpy(str), final["away_team"].to_numpy(str)
    first_is_home = home <= away
    margin = final["home_score"].to_numpy() - final["away_score"].to_numpy()
    pairs = pd.DataFrame(
        {
            "first": np.where(first_is_home, home, away),
            "second": np.where(first_is_home, away, home),
            "season": final["season"].to_numpy(),
            "game_date": final["game_date"].to_numpy(),
            "games": 1.0,
            "first_wins": np.where(first_is_home, margin > 0, margin < 0).astype(np.float64),
            "second_wins": np.where(first_is_home, margin < 0, margin > 0).astype(np.float64),
        }
    )
    keys = ["first", "second", "season"]
    totals = ["games", "first_wins", "second_wins"]
    priors = pairs.groupby(keys, sort=False)[totals].sum().reset_index()
    priors = priors.assign(season=priors["season"].astype(np.int64) + 1)
    pairs[totals] = pairs.groupby(keys, sort=False)[totals].cumsum()
    states = pairs.drop_duplicates([*keys, "game_date"], keep="last")
    target_home = targets["home_team"].astype(str).to_numpy(str)
    target_away = targets["away_team"].astype(str).to_numpy(str)
    home_first = target_home <= target_away
    pair = {
        "first": np.where(home_first, target_home, target_away),
        "second": np.where(home_first, target_away, target_home),
    }
    state = state_before(states, keys, pair, target_dates)
    prior = prior_of(priors, keys, pair, target_dates)
    home_wins = np.where(home_first, state["first_wins"], state["second_wins"])
    prior_home_wins = np.where(home_first, prior["first_wins"], prior["second_wins"])
    return {
        "h2h_games": state["games"],
        "h2h_home_win_rate": carried_rate(
            home_wins,
            state["games"],
            prior_home_wins,
            prior["games"],
            CARRY_H2H_FACTOR,
            CARRY_H2H_GAMES,
        ),
    }
