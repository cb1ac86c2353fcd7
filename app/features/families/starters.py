"""Starting pitchers: each side's starter's record in his starts this season before the game's
date, carried from last season.

Carried with r = 0.25 and k = 35 starts (measured on 2010-2018, pitchers with >= 10 starts in
both seasons, 1,026 pairs: his team's runs allowed per start r = 0.26, k = 35; his team's win
rate in his starts r = 0.20, k = 53; ``bench/carry_constants.py``). Not carried: start counts,
rest, his last-3 starts and win-credit share. A debut (no earlier start this season) has
``*_sp_starts`` = 0 and NaN for the rest: the count is the indicator, there is no invented
prior. Known at the open: the starter is the one named when the game was priced
(``app.features.starters``), not the one who took the mound.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from app.features.featureset import FeatureDef
from app.features.history import (
    as_next_season_prior,
    carried,
    carried_rate,
    final_games,
    prior_of,
    rate,
    regressed,
    state_before,
    team_rows,
)

PITCHER_RECENT_STARTS = 3
CARRY_PITCHER_FACTOR = 0.25
CARRY_PITCHER_STARTS = 35


def _declared(side: str) -> tuple[FeatureDef, ...]:
    pitcher = f"{side} starting pitcher (Retrosheet id)"
    debut = "NaN at his first start of the season or when the starter is unknown"
    return (
        FeatureDef(
            f"{side}_sp_starts",
            f"starts of the {pitcher} this season before the game's date; 0 = his first "
            "start of the season (debut indicator); NaN when the starter is unknown",
        ),
        FeatureDef(
            f"{side}_sp_rest_days",
            f"days since the {pitcher}'s previous start this season; {debut}",
        ),
        FeatureDef(
            f"{side}_sp_runs_allowed_last{PITCHER_RECENT_STARTS}",
            f"runs allowed by his team per game in the {pitcher}'s last "
            f"{PITCHER_RECENT_STARTS} starts this season (fewer if fewer); {debut}",
        ),
        FeatureDef(
            f"{side}_sp_runs_allowed_per_start",
            carried(
                f"runs allowed by his team per game in all of the {pitcher}'s starts this season",
                CARRY_PITCHER_FACTOR,
                CARRY_PITCHER_STARTS,
                "starts",
                "the league's runs per team-game",
            )
            + f"; {debut} and without starts last season",
        ),
        FeatureDef(
            f"{side}_sp_team_win_rate",
            carried(
                f"his team's win rate in the {pitcher}'s starts this season",
                CARRY_PITCHER_FACTOR,
                CARRY_PITCHER_STARTS,
                "starts",
            ),
        ),
        FeatureDef(
            f"{side}_sp_win_credit_share",
            f"innings proxy: of his team's wins in the {pitcher}'s starts this season, the "
            "share credited to him as winning pitcher (a starter needs at least 5 innings "
            "for the win, per Retrosheet's winning pitcher); NaN before his team has won one "
            "of his starts or when the starter is unknown",
        ),
    )


def compute(
    history: pd.DataFrame, starter_ids: Mapping[str, np.ndarray], target_dates: pd.Series
) -> dict[str, np.ndarray]:
    """The starting-pitcher features of each target game; ``starter_ids`` holds each side's
    starter (``"home"``/``"away"``: Retrosheet ids, ``""`` when unknown)."""
    team_games = team_rows(final_games(history))
    starts = team_games[team_games["pitcher"] != ""].sort_values(
        ["pitcher", "season", "game_date", "game_number", "game_id"], kind="mergesort"
    )
    keys = ["pitcher", "season"]
    # The innings proxy: a starter is credited with a win only after >= 5 innings, so the
    # share of his team's wins in his starts that are his own says how deep he goes.
    credited = (starts["winning_pitcher"] == starts["pitcher"]).astype(np.float64)
    starts = starts.assign(starts=1.0, wins=starts["won"], credited=credited)
    by_pitcher = starts.groupby(keys, sort=False)
    totals = ["starts", "wins", "allowed", "credited"]
    priors = as_next_season_prior(by_pitcher[totals].sum().reset_index(), team_games)
    starts[totals] = by_pitcher[totals].cumsum()
    recent = PITCHER_RECENT_STARTS
    starts["allowed_recent"] = starts["allowed"] - by_pitcher["allowed"].shift(recent).fillna(0.0)
    starts["starts_recent"] = np.minimum(starts["starts"], recent)
    states = starts.drop_duplicates([*keys, "game_date"], keep="last")[
        [*keys, "game_date", *totals, "allowed_recent", "starts_recent"]
    ]
    states = states.assign(last_date=states["game_date"])
    features: dict[str, np.ndarray] = {}
    for side in ("home", "away"):
        pitchers = np.asarray(starter_ids[side], dtype=object)
        state = state_before(states, keys, {"pitcher": pitchers}, target_dates)
        prior = prior_of(priors, keys, {"pitcher": pitchers}, target_dates)
        has_prior = prior["starts"] > 0
        prior_allowed = regressed(
            rate(prior["allowed"], prior["starts"]), prior["league_runs"], CARRY_PITCHER_FACTOR
        )
        pseudo_starts = np.where(has_prior, CARRY_PITCHER_STARTS, 0.0)
        unknown = pitchers == ""
        count = np.where(unknown, np.nan, state["starts"])
        features[f"{side}_sp_starts"] = count
        features[f"{side}_sp_rest_days"] = np.where(
            unknown, np.nan, (target_dates.to_numpy() - state["last_date"]) / np.timedelta64(1, "D")
        )
        features[f"{side}_sp_runs_allowed_last{recent}"] = rate(
            state["allowed_recent"], np.where(unknown, 0.0, state["starts_recent"])
        )
        features[f"{side}_sp_runs_allowed_per_start"] = rate(
            state["allowed"] + np.where(has_prior, CARRY_PITCHER_STARTS * prior_allowed, 0.0),
            count + pseudo_starts,
        )
        features[f"{side}_sp_team_win_rate"] = np.where(
            unknown,
            np.nan,
            carried_rate(
                state["wins"],
                state["starts"],
                prior["wins"],
                prior["starts"],
                CARRY_PITCHER_FACTOR,
                CARRY_PITCHER_STARTS,
            ),
        )
        features[f"{side}_sp_win_credit_share"] = np.where(
            unknown, np.nan, rate(state["credited"], state["wins"])
        )
    return features


FEATURES: tuple[FeatureDef, ...] = (*_declared("home"), *_declared("away"))
