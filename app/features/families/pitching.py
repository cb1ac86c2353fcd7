"""Starter quality from FIP components: strikeouts, walks and hit batters, home runs allowed,
and runs allowed in innings 1-5, instead of whole-game runs allowed.

What the data allows. A Retrosheet game log has no pitcher's line: its box score is each
team's totals of the game. A starter's components are therefore his TEAM's pitching line in
his starts: the opponent's strikeouts, walks + hit by pitch and home runs (its batting box),
over the innings his team's pitchers recorded (its defence's putouts / 3), bullpen included;
the runs of innings 1-5 come from the opponent's line score, the innings a starter usually
pitches, so they are the closest to him the logs allow. Carried: this season's sums on
dates STRICTLY before the game's, blended with last season's rates regressed toward the
league (``r`` and ``k`` of each rate in :data:`CARRY`, measured; ``k`` starts are worth
9 innings each, or 5 early innings; without a record last season, shrunk toward last
season's league with the same weight; a debut, without a start this season or last, is NaN as in the
starters family). ``fip`` is ``(13 HR + 3 (BB + HBP) - 2 K) / IP``, FIP without
its league constant.

Known at the open, like the starters family: the starter is the one the odds named when the
game was priced (``app.features.pitchers``), not the one who took the mound.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from app.features.featureset import FeatureDef
from app.features.history import final_games, regressed, state_before, team_rows
from app.games.line_scores import line_score_innings

# Each rate's (r, k in starts), measured on 2010-2018 (bench/carry_constants_lineups.py,
# starters with >= 10 starts in both seasons, 1,026 pairs): FIP core r = 0.41, k = 22;
# (K - BB - HBP) per 9 r = 0.60, k = 16; runs of innings 1-5 r = 0.25, k = 39.
CARRY: dict[str, tuple[float, int]] = {
    "fip": (0.4, 20),
    "k_minus_bb_per9": (0.6, 15),
    "early_runs": (0.25, 40),
}
EARLY_INNINGS = 5
INNINGS_PER_START = 9.0
KEYS = ["pitcher", "season"]
COMPONENTS = ("k", "bb", "hr", "ip", "early_runs", "early_innings")


def _declared(side: str) -> tuple[FeatureDef, ...]:
    pitcher = f"{side} starting pitcher"

    def carry(name: str) -> str:
        factor, starts = CARRY[name]
        return (
            "this season's sums before the game's date blended with last season's rate "
            f"regressed toward the league (factor {factor}, worth {starts} starts)"
        )

    none = (
        "NaN when the starter is unknown, at his debut (no start this season nor last) or "
        "when no league rate of last season exists"
    )
    return (
        FeatureDef(
            f"{side}_sp_fip",
            f"(13 HR + 3 (BB + HBP) - 2 K) / IP of his team's pitching in the {pitcher}'s "
            f"starts (team totals: the logs have no pitcher's line), {carry('fip')}; {none}",
        ),
        FeatureDef(
            f"{side}_sp_k_minus_bb_per9",
            f"(K - BB - HBP) per 9 innings of his team's pitching in the {pitcher}'s starts, "
            f"{carry('k_minus_bb_per9')}; {none}",
        ),
        FeatureDef(
            f"{side}_sp_early_runs",
            f"runs allowed per inning in innings 1-{EARLY_INNINGS} of the {pitcher}'s starts "
            f"(the opponent's line score) times {EARLY_INNINGS}, {carry('early_runs')}; {none}",
        ),
    )


FEATURES: tuple[FeatureDef, ...] = (*_declared("home"), *_declared("away"))


def pitching_lines(final: pd.DataFrame, box_scores: pd.DataFrame) -> pd.DataFrame:
    """Each team's pitching line of each final game with both box scores: team, season,
    date, starter (the log's actual starter) and :data:`COMPONENTS`."""
    team_games = team_rows(final).assign(
        side=lambda frame: np.where(frame["is_home"] == 1.0, "home", "away")
    )
    team_games = team_games.assign(game_id=team_games["game_id"].astype(np.int64))
    box = box_scores.assign(game_id=box_scores["game_id"].astype(np.int64))
    own = box[["game_id", "side", "putouts"]]
    opponent = box[["game_id", "side", "strikeouts", "walks", "hit_by_pitch", "home_runs",
                    "line_score"]].assign(
        side=np.where(box["side"] == "home", "away", "home")
    )  # fmt: skip
    lines = team_games.merge(own, on=["game_id", "side"]).merge(opponent, on=["game_id", "side"])
    early = [line_score_innings(text, EARLY_INNINGS) for text in lines["line_score"]]
    return pd.DataFrame(
        {
            "pitcher": lines["pitcher"].to_numpy(object),
            "season": lines["season"].to_numpy(np.int64),
            "game_date": lines["game_date"].to_numpy(),
            "game_number": lines["game_number"].to_numpy(),
            "game_id": lines["game_id"].to_numpy(),
            "k": lines["strikeouts"].to_numpy(np.float64),
            "bb": (lines["walks"] + lines["hit_by_pitch"]).to_numpy(np.float64),
            "hr": lines["home_runs"].to_numpy(np.float64),
            "ip": lines["putouts"].to_numpy(np.float64) / 3.0,
            "early_runs": np.array([runs for runs, _ in early], dtype=np.float64),
            "early_innings": np.array([innings for _, innings in early], dtype=np.float64),
        }
    )


def _rates(sums: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        ip = np.where(sums["ip"] > 0, sums["ip"], np.nan)
        early = np.where(sums["early_innings"] > 0, sums["early_innings"], np.nan)
        return {
            "fip": (13 * sums["hr"] + 3 * sums["bb"] - 2 * sums["k"]) / ip,
            "k_minus_bb_per9": 9 * (sums["k"] - sums["bb"]) / ip,
            "early_runs": EARLY_INNINGS * sums["early_runs"] / early,
        }


def compute(
    history: pd.DataFrame,
    starter_ids: Mapping[str, np.ndarray],
    target_dates: pd.Series,
    box_scores: pd.DataFrame | None,
) -> dict[str, np.ndarray]:
    """The FIP-component features of each target game; ``starter_ids`` as the starters
    family's (Retrosheet ids, ``""`` when unknown)."""
    n = len(target_dates)
    features = {feature.name: np.full(n, np.nan) for feature in FEATURES}
    if box_scores is None or box_scores.empty or "game_id" not in history:
        return features
    box = box_scores.dropna(subset=["strikeouts", "walks", "hit_by_pitch", "home_runs", "putouts"])
    lines = pitching_lines(final_games(history), box)
    lines = lines[np.isfinite(lines["early_innings"].to_numpy())]
    league = lines.groupby("season")[list(COMPONENTS)].sum()
    league_rates = pd.DataFrame(_rates({c: league[c].to_numpy() for c in COMPONENTS}),
                                index=league.index)  # fmt: skip
    starts = lines[lines["pitcher"] != ""].sort_values(
        ["pitcher", "season", "game_date", "game_number", "game_id"], kind="mergesort"
    )
    by_pitcher = starts.groupby(KEYS, sort=False)
    priors = by_pitcher[list(COMPONENTS)].sum().reset_index()
    priors["season"] = priors["season"] + 1
    starts = starts.assign(**{c: by_pitcher[c].cumsum() for c in COMPONENTS})
    states = starts.drop_duplicates([*KEYS, "game_date"], keep="last")[
        [*KEYS, "game_date", *COMPONENTS]
    ]
    seasons = target_dates.dt.year.to_numpy(np.int64)
    last_league = league_rates.reindex(seasons - 1)
    for side in ("home", "away"):
        pitchers = np.asarray(starter_ids[side], dtype=object).astype(str)
        state = state_before(states, KEYS, {"pitcher": pitchers}, target_dates)
        prior = (
            pd.DataFrame({"pitcher": pitchers, "season": seasons})
            .merge(priors, on=KEYS, how="left")
            .fillna(0.0)
        )
        last = _rates({c: prior[c].to_numpy(np.float64) for c in COMPONENTS})
        # A debut (no start this season nor last) is unknown, as in the starters family.
        unknown = (pitchers == "") | ((state["ip"] <= 0) & (prior["ip"].to_numpy() <= 0))
        for name, current in _rates({c: state[c] for c in COMPONENTS}).items():
            factor, starts = CARRY[name]
            mean = last_league[name].to_numpy(np.float64)
            prior_rate = np.where(np.isfinite(last[name]), regressed(last[name], mean, factor),
                                  mean)  # fmt: skip
            # Weight by the denominator of each rate: innings, or early innings.
            amount = state["early_innings"] if name == "early_runs" else state["ip"]
            weight = starts * (EARLY_INNINGS if name == "early_runs" else INNINGS_PER_START)
            observed = np.where(amount > 0, np.nan_to_num(current) * amount, 0.0)
            blended = (observed + weight * prior_rate) / (amount + weight)
            features[f"{side}_sp_{name}"] = np.where(unknown, np.nan, blended)
    return features
