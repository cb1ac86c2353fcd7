"""Lineup strength: the starting nine each side posts, valued player by player.

What the data allows. Retrosheet game logs list both starting lineups (player id and
defensive position, in batting order) but no per-player statistics: a log's box score is the
TEAM's totals of the game. A player's value is therefore estimated from the team results of
the games he started: his team's runs per game in his starts, this season on dates STRICTLY
before the game's, blended with last season's regressed toward the league (measured ``r`` =
:data:`CARRY_PLAYER_FACTOR`, worth ``k`` = :data:`CARRY_PLAYER_STARTS` starts; without a
record last season he is shrunk toward the league with the same ``k``), minus last season's
league runs per team-game. It is a with-or-without-you proxy: it credits a player with his team's
offence, so a player who starts every game carries the team's value and the lineup's
information beyond the team's record is in who is missing (``*_lineup_vs_usual``).

Known at ``lineup``: lineups post after the open, so a model scored at the open never reads
them (``app.features.featureset``); the run line (scored at the close) and models scored at
the close do. A game without a stored lineup (none posted yet) has NaN features.
"""

import numpy as np
import pandas as pd

from app.features.featureset import FeatureDef
from app.features.history import final_games, regressed, state_before, team_rows

# Measured on 2010-2018 (bench/carry_constants_lineups.py, players with >= 50 starts in both
# seasons, 2,056 pairs): r = 0.37, k = 83 starts.
CARRY_PLAYER_FACTOR = 0.4
CARRY_PLAYER_STARTS = 80
USUAL_GAMES = 10
KEYS = ["player", "season"]


def _declared(side: str) -> tuple[FeatureDef, ...]:
    nine = f"the {side} team's starting nine"
    return (
        FeatureDef(
            f"{side}_lineup_value",
            f"mean over {nine} of each player's value: his team's runs per game in his starts "
            "this season before the game's date, blended with last season's regressed toward "
            f"the league (factor {CARRY_PLAYER_FACTOR}, {CARRY_PLAYER_STARTS} starts), minus "
            "last season's league runs per team-game; NaN without a lineup",
            known_at="lineup",
        ),
        FeatureDef(
            f"{side}_lineup_vs_usual",
            f"{side}_lineup_value minus the mean lineup value of the team's last "
            f"{USUAL_GAMES} games this season before the game's date (who sits today); NaN "
            "without a lineup or before the team's first game with one",
            known_at="lineup",
        ),
        FeatureDef(
            f"{side}_lineup_new_players",
            f"players of {nine} without a start this season before the game's date nor last "
            "season; NaN without a lineup",
            known_at="lineup",
        ),
    )


FEATURES: tuple[FeatureDef, ...] = (*_declared("home"), *_declared("away"))


def _empty(n: int) -> dict[str, np.ndarray]:
    return {feature.name: np.full(n, np.nan) for feature in FEATURES}


def compute(
    history: pd.DataFrame,
    targets: pd.DataFrame,
    target_dates: pd.Series,
    lineups: pd.DataFrame | None,
) -> dict[str, np.ndarray]:
    """The lineup features of each target game (NaN where its lineup is not in ``lineups``)."""
    n = len(targets)
    if lineups is None or lineups.empty or "game_id" not in targets or "game_id" not in history:
        return _empty(n)
    slots = lineups[lineups["player_id"].notna() & (lineups["player_id"].astype(str) != "")]
    slots = slots.assign(
        player=slots["player_id"].astype(str), game_id=slots["game_id"].astype(np.int64)
    )
    final = final_games(history)
    team_games = team_rows(final)
    team_games = team_games.assign(
        side=np.where(team_games["is_home"] == 1.0, "home", "away"),
        game_id=team_games["game_id"].astype(np.int64),
    )
    league_by_season = team_games.groupby("season")["scored"].mean()
    # Every player start in a final game of history, with his team's runs.
    starts = slots.merge(
        team_games[["game_id", "side", "season", "game_date", "game_number", "team", "scored"]],
        on=["game_id", "side"],
    ).sort_values(["player", "season", "game_date", "game_number", "game_id"], kind="mergesort")
    by_player = starts.groupby(KEYS, sort=False)
    priors = by_player.agg(prior_starts=("scored", "size"), prior_runs=("scored", "sum"))
    priors = priors.reset_index()
    priors["season"] = priors["season"] + 1
    starts = starts.assign(n_starts=by_player.cumcount() + 1.0, runs=by_player["scored"].cumsum())
    states = starts.drop_duplicates([*KEYS, "game_date"], keep="last")[
        [*KEYS, "game_date", "n_starts", "runs"]
    ]

    def nine_values(games: pd.DataFrame, game_dates: pd.Series) -> pd.DataFrame:
        """Per game (``games``' position) and side: mean value of its nine, new players."""
        game_ids = games["game_id"].astype(np.int64).to_numpy()
        positions = pd.DataFrame(
            {"game_id": game_ids, "position": np.arange(len(games)), "date": game_dates.to_numpy()}
        )
        rows = slots[["game_id", "side", "player"]].merge(positions, on="game_id")
        if rows.empty:
            return pd.DataFrame(columns=["position", "side", "value", "new"])
        row_dates = pd.Series(rows["date"].to_numpy(), dtype="datetime64[ns]")
        state = state_before(states, KEYS, {"player": rows["player"].to_numpy()}, row_dates)
        seasons = row_dates.dt.year.to_numpy(np.int64)
        prior = rows[["player"]].assign(season=seasons).merge(priors, on=KEYS, how="left")
        league = pd.Series(seasons - 1).map(league_by_season).to_numpy(np.float64)
        prior_starts = prior["prior_starts"].fillna(0.0).to_numpy(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            last = prior["prior_runs"].to_numpy(np.float64) / prior_starts
        prior_rate = np.where(
            prior_starts > 0, regressed(last, league, CARRY_PLAYER_FACTOR), league
        )
        k = CARRY_PLAYER_STARTS
        value = (state["runs"] + k * prior_rate) / (state["n_starts"] + k) - league
        new = ((state["n_starts"] == 0) & (prior_starts == 0)).astype(np.float64)
        per_slot = pd.DataFrame(
            {"position": rows["position"], "side": rows["side"], "value": value, "new": new}
        )
        return per_slot.groupby(["position", "side"], as_index=False).agg(
            value=("value", "mean"), new=("new", "sum")
        )

    features = _empty(n)
    target_values = nine_values(targets, target_dates)
    # The team's usual lineup: the values of its lineups in final games of history.
    history_games = final[["game_id", "game_date"]].reset_index(drop=True)
    history_games = history_games.assign(game_id=history_games["game_id"].astype(np.int64))
    past = nine_values(history_games, history_games["game_date"])
    past = past.assign(
        game_id=history_games["game_id"].to_numpy()[past["position"].astype(int).to_numpy()]
    ).merge(
        team_games[["game_id", "side", "team", "season", "game_date", "game_number"]],
        on=["game_id", "side"],
    )
    past = past.sort_values(["team", "season", "game_date", "game_number", "game_id"])
    past = past.assign(
        usual=past.groupby(["team", "season"], sort=False)["value"]
        .rolling(USUAL_GAMES, min_periods=1)
        .mean()
        .reset_index(level=[0, 1], drop=True)
    )
    usual_states = past.drop_duplicates(["team", "season", "game_date"], keep="last")[
        ["team", "season", "game_date", "usual"]
    ]
    usual_states = usual_states.assign(last_date=usual_states["game_date"])
    for side in ("home", "away"):
        mine = target_values[target_values["side"] == side]
        value = np.full(n, np.nan)
        new = np.full(n, np.nan)
        value[mine["position"].astype(int).to_numpy()] = mine["value"].to_numpy(np.float64)
        new[mine["position"].astype(int).to_numpy()] = mine["new"].to_numpy(np.float64)
        usual = state_before(
            usual_states, ["team", "season"], {"team": targets[f"{side}_team"]}, target_dates
        )
        # state_before reads a missing state as an empty record (0): no earlier lineup.
        usual_value = np.where(usual["last_date"] == usual["last_date"], usual["usual"], np.nan)
        features[f"{side}_lineup_value"] = value
        features[f"{side}_lineup_vs_usual"] = value - usual_value
        features[f"{side}_lineup_new_players"] = new
    return features
