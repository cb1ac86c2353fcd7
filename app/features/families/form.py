"""Team form: each team's season to date before the game's date, carried from last season.

History is final games on dates STRICTLY EARLIER than the game's (:mod:`app.features.history`).
Rates are blended with a prior carried from the previous season's final record, regressed
toward the league mean: ``prior = mean + r * (last season's rate - mean)``, ``rate = (this
season's total + k * prior) / (this season's count + k)``. ``mean`` is .500 for win rates and
the previous season's league runs per team-game for run rates; ``r`` and ``k`` were MEASURED
on 2010-2018 only (``bench/carry_constants.py``, a normal-normal model: ``r`` the
year-to-year correlation of the rate, ``k`` the per-game noise variance over the variance of
this season's true rate left after the prior): win rate r = 0.47, k = 107; runs scored
r = 0.51, k = 108; runs allowed r = 0.51, k = 77; run difference r = 0.50, k = 85 (239
team-season pairs) -> one factor r = 0.5 and k = 100 games for all team rates. Not carried
(this season only): games counts, last-N windows, rest days, games in the last week and
streaks: last September's streak or rest says nothing about April. A team without a record
last season has no prior: win rates are shrunk toward .500 with ``PRIOR_GAMES`` games, runs
are raw means. Every feature is known at the open.
"""

import numpy as np
import pandas as pd

from app.features.featureset import FeatureDef
from app.features.history import (
    PRIOR_GAMES,
    TEAM_KEYS,
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

LAST_N_GAMES = 10
FORM_WINDOWS = (LAST_N_GAMES, 30)
GAMES_WINDOW_DAYS = 7
PYTHAG_EXPONENT = 1.83
CARRY_TEAM_FACTOR = 0.5
CARRY_TEAM_GAMES = 100


def _declared(side: str) -> tuple[FeatureDef, ...]:
    team = f"{side} team"
    season = f"{team}'s season to date before the game's date"
    none_yet = "NaN before its first game"
    runs = (CARRY_TEAM_FACTOR, CARRY_TEAM_GAMES, "games", "the league's runs per team-game")
    windows = tuple(
        definition
        for window in FORM_WINDOWS
        for definition in (
            FeatureDef(
                f"{side}_last{window}_win_rate",
                f"{team}'s win rate over its last {window} games this season before the "
                f"game's date (fewer if it has played fewer); {none_yet}",
            ),
            FeatureDef(
                f"{side}_last{window}_runs_scored",
                f"{team}'s runs scored per game over its last {window} games; {none_yet}",
            ),
            FeatureDef(
                f"{side}_last{window}_runs_allowed",
                f"{team}'s runs allowed per game over its last {window} games; {none_yet}",
            ),
            FeatureDef(
                f"{side}_last{window}_pythag",
                f"{team}'s Pythagorean win expectation RS^{PYTHAG_EXPONENT} / (RS^"
                f"{PYTHAG_EXPONENT} + RA^{PYTHAG_EXPONENT}) over its last {window} games; "
                f"{none_yet} or while it has neither scored nor allowed a run",
            ),
        )
        # Runs scored/allowed over the short window only; the long one has its Pythagorean.
        if window == LAST_N_GAMES or "_runs_" not in definition.name
    )
    venue = "home games" if side == "home" else "away games"
    return (
        FeatureDef(
            f"{side}_win_rate",
            carried(f"{season}: win rate", CARRY_TEAM_FACTOR, CARRY_TEAM_GAMES, "games")
            + f" ((wins + {PRIOR_GAMES // 2}) / (games + {PRIOR_GAMES}))",
        ),
        FeatureDef(
            f"{side}_run_diff_per_game",
            f"{side}_runs_scored_per_game - {side}_runs_allowed_per_game; {none_yet} without "
            "a prior",
        ),
        FeatureDef(
            f"{side}_runs_scored_per_game",
            carried(f"{season}: runs scored per game", *runs) + f"; {none_yet} without one",
        ),
        FeatureDef(
            f"{side}_runs_allowed_per_game",
            carried(f"{season}: runs allowed per game", *runs) + f"; {none_yet} without one",
        ),
        FeatureDef(
            f"{side}_pythag",
            f"{season}: Pythagorean win expectation (exponent {PYTHAG_EXPONENT}) of the "
            f"blended runs scored and allowed; {none_yet} without a prior or while it has "
            "neither scored nor allowed",
        ),
        FeatureDef(
            f"{side}_games_played",
            f"games {team} has completed this season on dates before the game's date",
        ),
        *windows,
        FeatureDef(
            f"{side}_{side}_win_rate",
            carried(
                f"{season}: win rate in its {venue}", CARRY_TEAM_FACTOR, CARRY_TEAM_GAMES, venue
            ),
        ),
        FeatureDef(
            f"{side}_rest_days",
            f"days between {team}'s previous game this season and this game's date "
            f"(1 = played yesterday); {none_yet}",
        ),
        FeatureDef(
            f"{side}_games_last{GAMES_WINDOW_DAYS}d",
            f"games {team} completed in the {GAMES_WINDOW_DAYS} days before the game's date",
        ),
        FeatureDef(
            f"{side}_win_streak",
            f"{team}'s current streak before the game's date: +n after n straight wins, -n "
            "after n straight losses (a tie ends a streak: 0); 0 before its first game",
        ),
        FeatureDef(
            f"{side}_venue_streak",
            f"consecutive {venue} {team} has played immediately before this game (a "
            f"{'homestand' if side == 'home' else 'road trip'} so far); 0 when its previous "
            "game was at the other venue or it has not played",
        ),
    )


def compute(
    history: pd.DataFrame, targets: pd.DataFrame, target_dates: pd.Series
) -> dict[str, np.ndarray]:
    """The team-form features of each target game."""
    states = _team_day_states(history)
    priors = _team_priors(history)
    week_before = target_dates - pd.Timedelta(days=GAMES_WINDOW_DAYS)
    features: dict[str, np.ndarray] = {}
    factor, weight = CARRY_TEAM_FACTOR, CARRY_TEAM_GAMES
    for side in ("home", "away"):
        teams = targets[f"{side}_team"]
        state = state_before(states, TEAM_KEYS, {"team": teams}, target_dates)
        prior = prior_of(priors, TEAM_KEYS, {"team": teams}, target_dates)
        games_a_week_ago = state_before(states, TEAM_KEYS, {"team": teams}, week_before)["games"]
        games = state["games"]
        features[f"{side}_win_rate"] = carried_rate(
            state["wins"], games, prior["wins"], prior["games"], factor, weight
        )
        # Runs: the prior adds `weight` pseudo-games at the regressed per-game rates.
        has_prior = prior["games"] > 0
        league = prior["league_runs"]
        pseudo_games = np.where(has_prior, weight, 0.0)
        blended = {}
        for column in ("scored", "allowed"):
            prior_rate = regressed(rate(prior[column], prior["games"]), league, factor)
            blended[column] = state[column] + np.where(has_prior, weight * prior_rate, 0.0)
        runs_scored = rate(blended["scored"], games + pseudo_games)
        runs_allowed = rate(blended["allowed"], games + pseudo_games)
        features[f"{side}_run_diff_per_game"] = runs_scored - runs_allowed
        features[f"{side}_runs_scored_per_game"] = runs_scored
        features[f"{side}_runs_allowed_per_game"] = runs_allowed
        features[f"{side}_pythag"] = _pythag(blended["scored"], blended["allowed"])
        features[f"{side}_games_played"] = games
        for window in FORM_WINDOWS:
            window_games = state[f"games_{window}"]
            features[f"{side}_last{window}_win_rate"] = rate(state[f"wins_{window}"], window_games)
            features[f"{side}_last{window}_pythag"] = _pythag(
                state[f"scored_{window}"], state[f"allowed_{window}"]
            )
            if window == LAST_N_GAMES:
                features[f"{side}_last{window}_runs_scored"] = rate(
                    state[f"scored_{window}"], window_games
                )
                features[f"{side}_last{window}_runs_allowed"] = rate(
                    state[f"allowed_{window}"], window_games
                )
        features[f"{side}_{side}_win_rate"] = carried_rate(
            state[f"{side}_wins"],
            state[f"{side}_games"],
            prior[f"{side}_wins"],
            prior[f"{side}_games"],
            factor,
            weight,
        )
        features[f"{side}_rest_days"] = (
            target_dates.to_numpy() - state["last_date"]
        ) / np.timedelta64(1, "D")
        features[f"{side}_games_last{GAMES_WINDOW_DAYS}d"] = games - games_a_week_ago
        features[f"{side}_win_streak"] = np.nan_to_num(state["win_streak"], nan=0.0)
        venue_streak = np.nan_to_num(state["venue_streak"], nan=0.0)
        features[f"{side}_venue_streak"] = np.maximum(
            venue_streak if side == "home" else -venue_streak, 0.0
        )
    return features


def _team_priors(history: pd.DataFrame) -> pd.DataFrame:
    """Each team's final record of every season, keyed by the NEXT season (its prior).

    Columns: team, season (the season the record is a prior for), games, wins, scored,
    allowed, home/away games and wins, and league_runs: the league's runs per team-game
    in the record's season.
    """
    team_games = team_rows(final_games(history))
    team_games = team_games.assign(
        games=1.0,
        home_games=team_games["is_home"],
        home_wins=team_games["won"] * team_games["is_home"],
        away_games=1.0 - team_games["is_home"],
        away_wins=team_games["won"] * (1.0 - team_games["is_home"]),
        wins=team_games["won"],
    )
    columns = [
        "games", "wins", "scored", "allowed", "home_games", "home_wins", "away_games", "away_wins",
    ]  # fmt: skip
    records = team_games.groupby(TEAM_KEYS, sort=False)[columns].sum().reset_index()
    return as_next_season_prior(records, team_games)


def _team_day_states(history: pd.DataFrame) -> pd.DataFrame:
    """Each team's cumulative season record at the end of every date it played."""
    team_games = team_rows(final_games(history))
    team_games = team_games.sort_values(
        [*TEAM_KEYS, "game_date", "game_number", "game_id"], kind="mergesort"
    ).reset_index(drop=True)
    team_games["games"] = 1.0
    team_games["wins"] = team_games["won"]
    team_games["home_games"] = team_games["is_home"]
    team_games["home_wins"] = team_games["won"] * team_games["is_home"]
    team_games["away_games"] = 1.0 - team_games["is_home"]
    team_games["away_wins"] = team_games["won"] * (1.0 - team_games["is_home"])
    totals = [
        "games", "wins", "scored", "allowed", "home_games", "home_wins", "away_games", "away_wins",
    ]  # fmt: skip
    by_team = team_games.groupby(TEAM_KEYS, sort=False)
    team_games[totals] = by_team[totals].cumsum()
    # A window's sum = the cumulative sum now minus the cumulative sum N games ago.
    for window in FORM_WINDOWS:
        for column in ("wins", "scored", "allowed"):
            ago = by_team[column].shift(window).fillna(0.0)
            team_games[f"{column}_{window}"] = team_games[column] - ago
        team_games[f"games_{window}"] = np.minimum(team_games["games"], window)
    team_games["win_streak"] = _streaks(team_games, "result")
    team_games["venue_streak"] = _streaks(
        team_games.assign(venue=2 * team_games["is_home"] - 1), "venue"
    )
    states = team_games.drop_duplicates([*TEAM_KEYS, "game_date"], keep="last")
    per_game = ["game_number", "game_id", "pitcher", "winning_pitcher", "is_home", "won", "result"]
    states = states.drop(columns=per_game).sort_values("game_date", kind="mergesort")
    return states.assign(last_date=states["game_date"])


def _streaks(team_games: pd.DataFrame, column: str) -> np.ndarray:
    """Signed length of the run of equal ``column`` values ending at each row, per team season.

    A zero value (a tie) has streak 0. ``team_games`` must be sorted by team, season, time.
    """
    values = team_games[column].to_numpy(np.float64)
    group = team_games.groupby(TEAM_KEYS, sort=False).ngroup().to_numpy()
    new_run = np.ones(len(values), dtype=bool)
    new_run[1:] = (values[1:] != values[:-1]) | (group[1:] != group[:-1])
    run_id = np.cumsum(new_run)
    length = pd.Series(np.ones(len(values))).groupby(run_id).cumsum().to_numpy()
    return length * values


def _pythag(scored: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    runs_for = np.asarray(scored, dtype=np.float64) ** PYTHAG_EXPONENT
    runs_against = np.asarray(allowed, dtype=np.float64) ** PYTHAG_EXPONENT
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(runs_for + runs_against > 0, runs_for / (runs_for + runs_against), np.nan)


FEATURES: tuple[FeatureDef, ...] = (*_declared("home"), *_declared("away"))
