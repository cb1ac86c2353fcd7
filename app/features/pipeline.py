"""Point-in-time feature computation, vectorized with pandas.

The point-in-time rule: a target game's features use its own opening prices and only
those history games played on dates STRICTLY EARLIER than the target's ``game_date``.
Our odds source (SBRO) gives dates but no first-pitch times, so we cannot know which
same-day games finished before a given first pitch: game 1 of a doubleheader is not
history for game 2. The cutoff is therefore the start of the game's date, which is
always earlier than the configured pre-pitch cutoff (``BULLPEN_FEATURE_CUTOFF_MINUTES``,
60 minutes before first pitch), so features are never later than allowed.

Team form is season-to-date; the season is the calendar year of ``game_date`` (an MLB
season, postseason included, lies within one year). Only final games (both scores
present) count as history; postponed or pending games are ignored.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from app.betting.odds import devig_two_way_array
from app.features.definitions import FEATURE_SET, LAST_N_GAMES, PRIOR_GAMES, FeatureSet
from app.games.models import Game, Odds

SBRO_BOOK = "sbro"

_ODDS_COLUMNS: tuple[str, ...] = (
    "home_ml_open",
    "away_ml_open",
    "home_ml_close",
    "away_ml_close",
    "total_open",
    "over_open",
    "under_open",
    "total_close",
    "over_close",
    "under_close",
    "home_rl",
    "home_rl_price",
    "away_rl_price",
)
# Column layout of :func:`load_games_frame`, also what :func:`build_features` reads.
GAME_COLUMNS: tuple[str, ...] = (
    "game_id",
    "season",
    "game_date",
    "game_number",
    "home_team",
    "away_team",
    "home_score",
    "away_score",
    "postseason",
    "neutral_site",
    *_ODDS_COLUMNS,
)
_TEAM_KEYS = ["team", "season"]


class FeatureWriter(Protocol):
    """What :func:`refresh_features` needs of a store (see ``app.features.store``)."""

    @property
    def feature_set(self) -> FeatureSet: ...

    def put_many(self, features: Mapping[int, np.ndarray]) -> int: ...


def build_features(
    history: pd.DataFrame, targets: pd.DataFrame, feature_set: FeatureSet = FEATURE_SET
) -> pd.DataFrame:
    """Features of each target game, indexed like ``targets``, columns ``feature_set.names``.

    ``history`` needs game_date, home_team, away_team, home_score, away_score (game_number
    and game_id order same-day games when present). ``targets`` needs game_date,
    home_team, away_team; missing odds columns are treated as missing prices. Values are
    float64 with NaN for missing. Pure: neither frame is modified.
    """
    _require_columns(history, ("game_date", "home_team", "away_team", "home_score", "away_score"))
    _require_columns(targets, ("game_date", "home_team", "away_team"))
    for frame_name, frame in (("history", history), ("targets", targets)):
        if frame[["home_team", "away_team"]].isna().to_numpy().any():
            raise ValueError(f"{frame_name} has games without a home_team or away_team")
    computed = {**_odds_features(targets), **_form_features(history, targets)}
    unknown = [name for name in feature_set.names if name not in computed]
    if unknown:
        raise ValueError(f"feature set {feature_set.label} asks for unknown features {unknown}")
    return pd.DataFrame(
        {name: computed[name] for name in feature_set.names}, index=targets.index, dtype=np.float64
    )


def load_games_frame(
    session: Session,
    *,
    seasons: Iterable[int] | None = None,
    until: dt.date | None = None,
    game_ids: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Stored games with their SBRO odds in :data:`GAME_COLUMNS` layout, in date order.

    Filters combine (AND): ``seasons`` keeps only those seasons, ``until`` keeps games on
    or before that date, ``game_ids`` keeps only those games.
    """
    statement = _games_statement()
    if seasons is not None:
        statement = statement.where(Game.season.in_(sorted(set(seasons))))
    if until is not None:
        statement = statement.where(Game.game_date <= until)
    if game_ids is not None:
        statement = statement.where(Game.id.in_(sorted({int(game_id) for game_id in game_ids})))
    return _read_games(session, statement)


def refresh_features(
    session: Session,
    store: FeatureWriter,
    *,
    season: int | None = None,
    date: dt.date | None = None,
    game_ids: Iterable[int] | None = None,
) -> int:
    """Compute and store the features of the selected stored games; return how many.

    The filters combine (AND); at least one is required. History is every game of the
    targets' seasons before the latest selected date.
    """
    if season is None and date is None and game_ids is None:
        raise ValueError("refresh_features needs season, date or game_ids")
    statement = _games_statement()
    if season is not None:
        statement = statement.where(Game.season == season)
    if date is not None:
        statement = statement.where(Game.game_date == date)
    if game_ids is not None:
        statement = statement.where(Game.id.in_(sorted({int(game_id) for game_id in game_ids})))
    targets = _read_games(session, statement)
    if targets.empty:
        return 0
    first_season_start = dt.date(int(targets["game_date"].dt.year.min()), 1, 1)
    last_date = targets["game_date"].max().date()
    history = _read_games(
        session,
        _games_statement().where(Game.game_date >= first_season_start, Game.game_date < last_date),
    )
    features = build_features(history, targets, store.feature_set)
    rows = features.to_numpy(dtype=np.float64)
    return store.put_many(dict(zip(targets["game_id"].tolist(), rows, strict=True)))


def _odds_features(targets: pd.DataFrame) -> dict[str, np.ndarray]:
    home_prob, _, overround = devig_two_way_array(
        _float_column(targets, "home_ml_open"), _float_column(targets, "away_ml_open")
    )
    total = _float_column(targets, "total_open")
    total = np.where(total > 0, total, np.nan)
    over_prob, _, _ = devig_two_way_array(
        _float_column(targets, "over_open"), _float_column(targets, "under_open")
    )
    return {
        "ml_open_home_prob": home_prob,
        "ml_open_overround": overround,
        "total_open": total,
        "total_open_over_prob": np.where(np.isnan(total), np.nan, over_prob),
        "run_line_home": _float_column(targets, "home_rl"),
    }


def _form_features(history: pd.DataFrame, targets: pd.DataFrame) -> dict[str, np.ndarray]:
    states = _team_day_states(history)
    target_dates = _dates(targets["game_date"], "targets")
    features: dict[str, np.ndarray] = {}
    for side in ("home", "away"):
        state = _state_before(states, targets[f"{side}_team"], target_dates)
        games = state["games"]
        features[f"{side}_win_rate"] = _shrunk_rate(state["wins"], games)
        features[f"{side}_last{LAST_N_GAMES}_win_rate"] = _rate(
            state["last_n_wins"], state["last_n_games"]
        )
        features[f"{side}_run_diff_per_game"] = _rate(state["run_diff"], games)
        features[f"{side}_games_played"] = games
        features[f"{side}_rest_days"] = (
            target_dates.to_numpy() - state["last_date"]
        ) / np.timedelta64(1, "D")
        features[f"{side}_{side}_win_rate"] = _shrunk_rate(
            state[f"{side}_wins"], state[f"{side}_games"]
        )
    return features


def _team_day_states(history: pd.DataFrame) -> pd.DataFrame:
    """Each team's cumulative season record at the end of every date it played."""
    final = history[history["home_score"].notna() & history["away_score"].notna()]
    dates = _dates(final["game_date"], "history")
    home_score = final["home_score"].to_numpy(np.float64)
    away_score = final["away_score"].to_numpy(np.float64)
    game_number = _float_column(final, "game_number", default=0.0)
    game_id = (
        _float_column(final, "game_id")
        if "game_id" in final
        else np.arange(len(final), dtype=float)
    )
    home_won = (home_score > away_score).astype(np.float64)
    away_won = (away_score > home_score).astype(np.float64)
    is_home = np.concatenate([np.ones(len(final)), np.zeros(len(final))])
    won = np.concatenate([home_won, away_won])
    team_games = pd.DataFrame(
        {
            "team": pd.concat([final["home_team"], final["away_team"]]).to_numpy(object),
            "season": np.tile(dates.dt.year.to_numpy(np.int64), 2),
            "game_date": np.tile(dates.to_numpy(), 2),
            "game_number": np.tile(game_number, 2),
            "game_id": np.tile(game_id, 2),
            "games": 1.0,
            "wins": won,
            "run_diff": np.concatenate([home_score - away_score, away_score - home_score]),
            "home_games": is_home,
            "home_wins": won * is_home,
            "away_games": 1.0 - is_home,
            "away_wins": won * (1.0 - is_home),
        }
    )
    team_games["team"] = team_games["team"].astype("str")
    team_games = team_games.sort_values(
        [*_TEAM_KEYS, "game_date", "game_number", "game_id"], kind="mergesort"
    ).reset_index(drop=True)
    totals = ["games", "wins", "run_diff", "home_games", "home_wins", "away_games", "away_wins"]
    by_team = team_games.groupby(_TEAM_KEYS, sort=False)
    team_games[totals] = by_team[totals].cumsum()
    # Wins in the last N games = cumulative wins now minus cumulative wins N games ago.
    wins_n_games_ago = by_team["wins"].shift(LAST_N_GAMES).fillna(0.0)
    team_games["last_n_wins"] = team_games["wins"] - wins_n_games_ago
    team_games["last_n_games"] = np.minimum(team_games["games"], LAST_N_GAMES)
    states = team_games.drop_duplicates([*_TEAM_KEYS, "game_date"], keep="last")
    states = states.drop(columns=["game_number", "game_id"]).sort_values(
        "game_date", kind="mergesort"
    )
    return states.assign(last_date=states["game_date"])


def _state_before(
    states: pd.DataFrame, teams: pd.Series, target_dates: pd.Series
) -> dict[str, np.ndarray]:
    """Each target team's state at the end of its last date strictly before the target date."""
    lookups = pd.DataFrame(
        {
            "team": teams.to_numpy(object),
            "season": target_dates.dt.year.to_numpy(np.int64),
            "game_date": target_dates.to_numpy(),
            "position": np.arange(len(teams)),
        }
    ).sort_values("game_date", kind="mergesort")
    lookups["team"] = lookups["team"].astype("str")
    matched = pd.merge_asof(
        lookups,
        states,
        on="game_date",
        by=_TEAM_KEYS,
        allow_exact_matches=False,  # strictly earlier dates only
        direction="backward",
    )
    order = np.argsort(matched["position"].to_numpy(), kind="stable")
    result = {
        column: matched[column].to_numpy()[order]
        for column in states.columns
        if column not in (*_TEAM_KEYS, "game_date")
    }
    # A team without earlier games has an empty record, not a missing one.
    for column in ("games", "wins", "home_games", "home_wins", "away_games", "away_wins"):
        result[column] = np.nan_to_num(result[column].astype(np.float64), nan=0.0)
    return result


def _shrunk_rate(wins: np.ndarray, games: np.ndarray) -> np.ndarray:
    return (wins + PRIOR_GAMES / 2) / (games + PRIOR_GAMES)


def _rate(numerator: np.ndarray, games: np.ndarray) -> np.ndarray:
    games = np.asarray(games, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(games > 0, np.asarray(numerator, dtype=np.float64) / games, np.nan)


def _dates(values: pd.Series, frame_name: str) -> pd.Series:
    dates = pd.to_datetime(values)
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    if dates.isna().any():
        raise ValueError(f"{frame_name} has games without a game_date")
    return dates.dt.normalize().astype("datetime64[ns]")


def _float_column(frame: pd.DataFrame, column: str, default: float = np.nan) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), default, dtype=np.float64)
    return np.array(frame[column], dtype=np.float64)


def _require_columns(frame: pd.DataFrame, columns: Iterable[str]) -> None:
    missing = [column for column in columns if column not in frame]
    if missing:
        raise ValueError(f"frame lacks required columns {missing}")


def _games_statement() -> Select:
    return (
        select(
            Game.id.label("game_id"),
            Game.season,
            Game.game_date,
            Game.game_number,
            Game.home_team,
            Game.away_team,
            Game.home_score,
            Game.away_score,
            Game.postseason,
            Game.neutral_site,
            *(getattr(Odds, column) for column in _ODDS_COLUMNS),
        )
        .outerjoin(Odds, and_(Odds.game_id == Game.id, Odds.book == SBRO_BOOK))
        .order_by(Game.game_date, Game.game_number, Game.id)
    )


def _read_games(session: Session, statement: Select) -> pd.DataFrame:
    rows = session.execute(statement).all()
    frame = pd.DataFrame.from_records(rows, columns=list(GAME_COLUMNS))
    frame["game_date"] = pd.to_datetime(frame["game_date"]).astype("datetime64[ns]")
    for column in ("game_id", "season", "game_number"):
        frame[column] = frame[column].astype(np.int64)
    for column in ("postseason", "neutral_site"):
        frame[column] = frame[column].astype(bool)
    for column in ("home_score", "away_score", *_ODDS_COLUMNS):
        frame[column] = np.array(frame[column], dtype=np.float64)
    return frame
