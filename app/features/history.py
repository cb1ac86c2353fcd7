"""Point-in-time history shared by the history families (form, head-to-head, starters).

Only final games (both scores present) are history, and a target game sees the state at the
end of its last date STRICTLY BEFORE its own date (:func:`state_before`: same-day games are
never history, SBRO has dates but no first-pitch times) plus the carried prior of the
PREVIOUS season (:func:`prior_of`), which lies entirely before any date of the current one.
The season is the calendar year of ``game_date`` (an MLB season, postseason included, lies
within one year). Rates are blended with the prior regressed toward the league mean
(:func:`carried_rate`); the constants of each family are declared with it.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from app.features.frames import dates, float_column, string_column

# Win rates without a carried prior are shrunk toward .500 with a prior worth this many games.
PRIOR_GAMES = 10
TEAM_KEYS = ["team", "season"]


def final_games(history: pd.DataFrame) -> pd.DataFrame:
    """History's final games, ordered by date, game number and id, with normalized dates."""
    final = history[history["home_score"].notna() & history["away_score"].notna()]
    frame = pd.DataFrame(
        {
            "game_date": dates(final["game_date"], "history").to_numpy(),
            "game_number": float_column(final, "game_number", default=0.0),
            "game_id": (
                float_column(final, "game_id")
                if "game_id" in final
                else np.arange(len(final), dtype=float)
            ),
            "home_team": final["home_team"].astype(str).to_numpy(object),
            "away_team": final["away_team"].astype(str).to_numpy(object),
            "home_score": final["home_score"].to_numpy(np.float64),
            "away_score": final["away_score"].to_numpy(np.float64),
            "home_pitcher_id": string_column(final, "home_pitcher_id"),
            "away_pitcher_id": string_column(final, "away_pitcher_id"),
            "winning_pitcher_id": string_column(final, "winning_pitcher_id"),
        }
    )
    frame["season"] = frame["game_date"].dt.year.astype(np.int64)
    return frame.sort_values(["game_date", "game_number", "game_id"], kind="mergesort")


def team_rows(final: pd.DataFrame) -> pd.DataFrame:
    """Two rows per final game, one per team, in the team's perspective."""
    n = len(final)
    is_home = np.concatenate([np.ones(n), np.zeros(n)])
    scored = np.concatenate([final["home_score"], final["away_score"]])
    allowed = np.concatenate([final["away_score"], final["home_score"]])
    return pd.DataFrame(
        {
            "team": np.concatenate([final["home_team"], final["away_team"]]).astype(str),
            "season": np.tile(final["season"].to_numpy(), 2),
            "game_date": np.tile(final["game_date"].to_numpy(), 2),
            "game_number": np.tile(final["game_number"].to_numpy(), 2),
            "game_id": np.tile(final["game_id"].to_numpy(), 2),
            "pitcher": np.concatenate([final["home_pitcher_id"], final["away_pitcher_id"]]),
            "winning_pitcher": np.tile(final["winning_pitcher_id"].to_numpy(), 2),
            "is_home": is_home,
            "scored": scored,
            "allowed": allowed,
            "won": (scored > allowed).astype(np.float64),
            "result": np.sign(scored - allowed),
        }
    )


def as_next_season_prior(records: pd.DataFrame, team_games: pd.DataFrame) -> pd.DataFrame:
    """``records`` of season S keyed by season S + 1, with season S's league runs per game."""
    league = team_games.groupby("season", sort=False)["scored"].mean()
    records = records.assign(league_runs=records["season"].map(league).to_numpy(np.float64))
    return records.assign(season=records["season"].astype(np.int64) + 1)


def state_before(
    states: pd.DataFrame,
    keys: list[str],
    key_values: Mapping[str, object],
    target_dates: pd.Series,
) -> dict[str, np.ndarray]:
    """Each target's state at the end of its last date strictly before the target date.

    ``keys`` are the by-columns of ``states`` (the last one is always ``season``, taken
    from the target date); ``key_values`` gives the target's value of the others.
    """
    lookups = pd.DataFrame(
        {
            **{key: np.asarray(values).astype(str) for key, values in key_values.items()},
            "season": target_dates.dt.year.to_numpy(np.int64),
            "game_date": target_dates.to_numpy(),
            "position": np.arange(len(target_dates)),
        }
    ).sort_values("game_date", kind="mergesort")
    right = states.astype({key: str for key in keys if key != "season"})
    right = right.astype({"season": np.int64}).sort_values("game_date", kind="mergesort")
    matched = pd.merge_asof(
        lookups,
        right,
        on="game_date",
        by=keys,
        allow_exact_matches=False,  # strictly earlier dates only
        direction="backward",
    )
    order = np.argsort(matched["position"].to_numpy(), kind="stable")
    result = {
        column: matched[column].to_numpy()[order]
        for column in states.columns
        if column not in (*keys, "game_date")
    }
    # Without earlier games the record is empty (zero sums), not missing; rates of an
    # empty record come out NaN from their zero denominators.
    for column, values in result.items():
        if column != "last_date":
            result[column] = np.nan_to_num(values.astype(np.float64), nan=0.0)
    return result


def prior_of(
    priors: pd.DataFrame,
    keys: list[str],
    key_values: Mapping[str, object],
    target_dates: pd.Series,
) -> dict[str, np.ndarray]:
    """Each target's carried prior: the row of ``priors`` for its keys and its season.

    ``priors`` rows are keyed by the season they are a prior FOR (the record's season + 1),
    so a target only ever sees a season that ended before its own began. NaN where none.
    """
    lookups = pd.DataFrame(
        {
            **{key: np.asarray(values).astype(str) for key, values in key_values.items()},
            "season": target_dates.dt.year.to_numpy(np.int64),
        }
    )
    right = priors.astype({key: str for key in keys if key != "season"})
    matched = lookups.merge(right.astype({"season": np.int64}), on=keys, how="left")
    return {
        column: matched[column].to_numpy(np.float64)
        for column in priors.columns
        if column not in keys
    }


def regressed(rate: np.ndarray, mean: np.ndarray | float, factor: float) -> np.ndarray:
    """Last season's ``rate`` regressed toward ``mean``: mean + factor * (rate - mean)."""
    return mean + factor * (rate - mean)


def carried_rate(
    wins: np.ndarray,
    games: np.ndarray,
    prior_wins: np.ndarray,
    prior_games: np.ndarray,
    factor: float,
    weight: float,
) -> np.ndarray:
    """A win rate blended with last season's, regressed toward .500 and worth ``weight``
    games: (wins + weight * prior) / (games + weight); v2's shrink without a prior."""
    with np.errstate(invalid="ignore", divide="ignore"):
        prior = regressed(prior_wins / prior_games, 0.5, factor)
        carried = (wins + weight * prior) / (games + weight)
    return np.where(prior_games > 0, carried, shrunk_rate(wins, games))


def shrunk_rate(wins: np.ndarray, games: np.ndarray) -> np.ndarray:
    """(wins + PRIOR_GAMES / 2) / (games + PRIOR_GAMES): .500 before any game."""
    return (wins + PRIOR_GAMES / 2) / (games + PRIOR_GAMES)


def rate(numerator: np.ndarray, games: np.ndarray) -> np.ndarray:
    """numerator / games, NaN where there are no games."""
    games = np.asarray(games, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(games > 0, np.asarray(numerator, dtype=np.float64) / games, np.nan)


def carried(what: str, factor: float, weight: int, unit: str, mean: str = ".500") -> str:
    """How a description says a rate is carried from last season."""
    return (
        f"{what}, blended with last season's final value regressed toward {mean} (factor "
        f"{factor}): (total + {weight} * prior) / ({unit} + {weight}); without a record last "
        "season, as core v2"
    )
