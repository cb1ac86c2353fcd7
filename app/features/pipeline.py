"""Point-in-time feature computation, vectorized with pandas.

The point-in-time rule (see :mod:`app.features.definitions` for the full statement): a
target game's CUTOFF is ``cutoff_minutes`` before its ``start_time`` where that is known,
else 00:00 UTC of its ``game_date``. Team, head-to-head and pitcher history uses only
final games on dates STRICTLY EARLIER than the target's ``game_date`` (SBRO gives dates
but no first-pitch times, so game 1 of a doubleheader is not history for game 2); line
snapshots and betting splits count only when captured strictly before the cutoff. The
game's own opening prices are pre-game information.

Form is season-to-date; the season is the calendar year of ``game_date`` (an MLB
season, postseason included, lies within one year). Rates are blended with a prior carried
from the PREVIOUS season's final record, regressed toward the league mean (the rule and
its measured constants are in :mod:`app.features.definitions`): the previous season lies
entirely before any date of the current one. Only final games (both scores present) count
as history; postponed or pending games are ignored.

Everything is computed with sorts, cumulative sums and ``merge_asof`` lookups: there is
no Python loop over games, so a season (~2,430 games) takes well under a second.
"""

import datetime as dt
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Row, Select, and_, case, select
from sqlalchemy.orm import Session, aliased

from app.bets.odds import devig_two_way_array
from app.config import Settings
from app.features.definitions import (
    CARRY_H2H_FACTOR,
    CARRY_H2H_GAMES,
    CARRY_PITCHER_FACTOR,
    CARRY_PITCHER_STARTS,
    CARRY_TEAM_FACTOR,
    CARRY_TEAM_GAMES,
    DEFAULT_CUTOFF_MINUTES,
    FEATURE_SET,
    FORM_WINDOWS,
    GAMES_WINDOW_DAYS,
    LAST_N_GAMES,
    PITCHER_RECENT_STARTS,
    PRIOR_GAMES,
    PYTHAG_EXPONENT,
    RLM_PROB_MOVE,
    RLM_TOTAL_MOVE,
    STEAM_PROB_MOVE,
    STEAM_TOTAL_MOVE,
    STEAM_WINDOW_MINUTES,
    FeatureSet,
)
from app.features.pitchers import fill_pitcher_ids
from app.games.models import (
    FEED_BOOK,
    ODDS_COLUMNS,
    SNAPSHOT_PRICE_COLUMNS,
    BettingSplit,
    Game,
    Odds,
    OddsSnapshot,
)

SBRO_BOOK = "sbro"

# Column layout of :func:`load_games_frame`, also what :func:`build_features` reads.
GAME_COLUMNS: tuple[str, ...] = (
    "game_id",
    "season",
    "game_date",
    "game_number",
    "start_time",
    "home_team",
    "away_team",
    "home_score",
    "away_score",
    "postseason",
    "neutral_site",
    "day_night",
    "home_pitcher_id",
    "away_pitcher_id",
    "winning_pitcher_id",
    "length_outs",
    "scheduled_innings",
    *ODDS_COLUMNS,
)
SNAPSHOT_COLUMNS: tuple[str, ...] = ("game_id", "book", "captured_at", *SNAPSHOT_PRICE_COLUMNS)
SPLIT_COLUMNS: tuple[str, ...] = (
    "game_id",
    "source",
    "captured_at",
    "market",
    "side",
    "bets_pct",
    "money_pct",
)
# The text columns of :data:`SNAPSHOT_COLUMNS` and :data:`SPLIT_COLUMNS`.
_TEXT_COLUMNS = frozenset({"book", "source", "market", "side"})
_TEAM_KEYS = ["team", "season"]


class FeatureWriter(Protocol):
    """What :func:`refresh_features` needs of a store (see ``app.features.store``)."""

    @property
    def feature_set(self) -> FeatureSet: ...

    def put_many(self, features: Mapping[int, np.ndarray]) -> int: ...


def configured_cutoff_minutes() -> int:
    """``BULLPEN_FEATURE_CUTOFF_MINUTES`` of this process (default 60)."""
    return Settings.from_env().feature_cutoff_minutes


def build_features(
    history: pd.DataFrame,
    targets: pd.DataFrame,
    feature_set: FeatureSet = FEATURE_SET,
    *,
    snapshots: pd.DataFrame | None = None,
    splits: pd.DataFrame | None = None,
    cutoff_minutes: int = DEFAULT_CUTOFF_MINUTES,
) -> pd.DataFrame:
    """Features of each target game, indexed like ``targets``, columns ``feature_set.names``.

    ``history`` needs game_date, home_team, away_team, home_score, away_score (game_number
    and game_id order same-day games when present; home/away_pitcher_id feed the pitcher
    features). ``targets`` needs game_date, home_team, away_team; game_id links them to
    ``snapshots`` (:data:`SNAPSHOT_COLUMNS`) and ``splits`` (:data:`SPLIT_COLUMNS`), and
    start_time (UTC) sets their cutoff; missing columns are treated as missing data.
    Values are float64 with NaN for missing. Pure: no frame is modified.
    """
    if cutoff_minutes < 0:
        raise ValueError("cutoff_minutes must not be negative")
    _require_columns(history, ("game_date", "home_team", "away_team", "home_score", "away_score"))
    _require_columns(targets, ("game_date", "home_team", "away_team"))
    for frame_name, frame in (("history", history), ("targets", targets)):
        if frame[["home_team", "away_team"]].isna().to_numpy().any():
            raise ValueError(f"{frame_name} has games without a home_team or away_team")
    target_dates = _dates(targets["game_date"], "targets")
    cutoffs = _cutoffs(targets, target_dates, cutoff_minutes)
    lines = _line_features(targets, snapshots, cutoffs)
    computed = {
        **_odds_features(targets),
        **lines,
        **_split_features(targets, splits, cutoffs, lines),
        **_temporal_features(targets, target_dates),
        **_form_features(history, targets, target_dates),
        **_head_to_head_features(history, targets, target_dates),
        **_pitcher_features(history, targets, target_dates),
    }
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


def load_game_rows(session: Session, game_ids: Iterable[int]) -> list[Row]:
    """The rows :func:`load_games_frame` reads of ``game_ids``, as SQL rows in any order: a
    one-game prediction needs no frame (building one costs more than the query)."""
    ids = sorted({int(game_id) for game_id in game_ids})
    return list(session.execute(_games_statement().where(Game.id.in_(ids))).all())


def load_snapshots_frame(
    session: Session,
    *,
    seasons: Iterable[int] | None = None,
    game_ids: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Stored line snapshots (:data:`SNAPSHOT_COLUMNS`, ``captured_at`` naive UTC) of games."""
    columns = [getattr(OddsSnapshot, column) for column in SNAPSHOT_COLUMNS]
    statement = _filtered(select(*columns), OddsSnapshot.game_id, seasons, game_ids)
    return _read_frame(session, statement, SNAPSHOT_COLUMNS)


def load_splits_frame(
    session: Session,
    *,
    seasons: Iterable[int] | None = None,
    game_ids: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Stored betting splits (:data:`SPLIT_COLUMNS`, ``captured_at`` naive UTC) of games."""
    columns = [getattr(BettingSplit, column) for column in SPLIT_COLUMNS]
    statement = _filtered(select(*columns), BettingSplit.game_id, seasons, game_ids)
    return _read_frame(session, statement, SPLIT_COLUMNS)


def refresh_features(
    session: Session,
    store: FeatureWriter,
    *,
    season: int | None = None,
    date: dt.date | None = None,
    game_ids: Iterable[int] | None = None,
    cutoff_minutes: int | None = None,
) -> int:
    """Compute and store the features of the selected stored games; return how many.

    The filters combine (AND); at least one is required. History is every game of the
    targets' seasons and of the season before them (the carried prior) before the latest
    selected date. ``cutoff_minutes`` defaults to
    :func:`configured_cutoff_minutes`.
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
    targets = _with_fed_pitchers(session, targets)
    first_season_start = dt.date(int(targets["game_date"].dt.year.min()) - 1, 1, 1)
    last_date = targets["game_date"].max().date()
    history = _read_games(
        session,
        _games_statement().where(Game.game_date >= first_season_start, Game.game_date < last_date),
    )
    # A whole season is cheaper to select by season than by a list of 2,430 ids.
    line_filter = (
        {"seasons": [season]}
        if season is not None and game_ids is None and date is None
        else {"game_ids": targets["game_id"].tolist()}
    )
    features = build_features(
        history,
        targets,
        store.feature_set,
        snapshots=load_snapshots_frame(session, **line_filter),
        splits=load_splits_frame(session, **line_filter),
        cutoff_minutes=configured_cutoff_minutes() if cutoff_minutes is None else cutoff_minutes,
    )
    rows = features.to_numpy(dtype=np.float64)
    return store.put_many(dict(zip(targets["game_id"].tolist(), rows, strict=True)))


def _with_fed_pitchers(session: Session, targets: pd.DataFrame) -> pd.DataFrame:
    """Upcoming targets (not final) whose starter is named by a feed (SBRO, lines) but has
    no Retrosheet id yet, with the id mapped from the name (``app.features.pitchers``).

    Final games keep their curated ids (missing stays missing), as in training.
    """
    upcoming = targets["home_score"].isna() | targets["away_score"].isna()
    no_id = upcoming & (targets["home_pitcher_id"].isna() | targets["away_pitcher_id"].isna())
    if not no_id.any():
        return targets
    names = pd.DataFrame(
        session.execute(
            select(Game.id, Game.home_pitcher, Game.away_pitcher).where(
                Game.id.in_(targets.loc[no_id, "game_id"].tolist())
            )
        ).all(),
        columns=["game_id", "home_pitcher", "away_pitcher"],
    )
    named = targets.merge(names, on="game_id", how="left").set_index(targets.index)
    filled = fill_pitcher_ids(session, named)
    return filled.drop(columns=["home_pitcher", "away_pitcher"])


# --- market ---------------------------------------------------------------------------------


def _odds_features(targets: pd.DataFrame) -> dict[str, np.ndarray]:
    home_prob, _, overround = devig_two_way_array(
        _float_column(targets, "home_ml_open"), _float_column(targets, "away_ml_open")
    )
    total = _float_column(targets, "total_open")
    total = np.where(total > 0, total, np.nan)
    over_prob, _, total_overround = devig_two_way_array(
        _float_column(targets, "over_open"), _float_column(targets, "under_open")
    )
    no_total = np.isnan(total)
    return {
        "ml_open_home_prob": home_prob,
        "ml_open_overround": overround,
        "total_open": total,
        "total_open_over_prob": np.where(no_total, np.nan, over_prob),
        "total_open_overround": np.where(no_total, np.nan, total_overround),
        "run_line_home": _float_column(targets, "home_rl"),
    }


def _cutoffs(targets: pd.DataFrame, target_dates: pd.Series, minutes: int) -> np.ndarray:
    """Each target's cutoff as naive-UTC datetime64[ns]."""
    day_start = target_dates.to_numpy()
    if "start_time" not in targets:
        return day_start
    start = _utc_naive(targets["start_time"]).to_numpy()
    return np.where(np.isnat(start), day_start, start - np.timedelta64(minutes, "m"))


def _line_features(
    targets: pd.DataFrame, snapshots: pd.DataFrame | None, cutoffs: np.ndarray
) -> dict[str, np.ndarray]:
    names = (
        "line_snapshots",
        "ml_cut_home_prob",
        "ml_move_home_prob",
        "total_cut",
        "total_move",
        "total_cut_over_prob",
        "rl_cut_home_prob",
        "ml_steam_net",
        "total_steam_net",
    )
    result = {name: np.full(len(targets), np.nan) for name in names}
    rows = _before_cutoff(targets, snapshots, cutoffs, SNAPSHOT_COLUMNS)
    if rows.empty:
        return result
    # One line history per game: the book with the most snapshots before the cutoff.
    per_book = rows.groupby(["position", "book"], sort=True).size().rename("n").reset_index()
    best = per_book.sort_values(["position", "n"], ascending=[True, False], kind="mergesort")
    best = best.drop_duplicates("position")
    rows = rows.merge(best[["position", "book"]], on=["position", "book"])
    rows = rows.sort_values(["position", "captured_at"], kind="mergesort")
    home_prob = devig_two_way_array(rows["home_ml"], rows["away_ml"])[0]
    total = rows["total"].to_numpy(np.float64)
    total = np.where(total > 0, total, np.nan)
    over_prob = np.where(
        np.isnan(total), np.nan, devig_two_way_array(rows["over_price"], rows["under_price"])[0]
    )
    rl_prob = np.where(
        rows["home_rl"].isna(),
        np.nan,
        devig_two_way_array(rows["home_rl_price"], rows["away_rl_price"])[0],
    )
    derived = pd.DataFrame(
        {
            "position": rows["position"].to_numpy(),
            "captured_at": rows["captured_at"].to_numpy(),
            "home_prob": home_prob,
            "total": total,
            "over_prob": over_prob,
            "rl_prob": rl_prob,
        }
    )
    grouped = derived.groupby("position", sort=True)
    firsts, lasts = grouped.first(), grouped.last()  # first/last non-null per column
    positions = lasts.index.to_numpy()
    result["line_snapshots"][positions] = grouped.size().to_numpy(np.float64)
    result["ml_cut_home_prob"][positions] = lasts["home_prob"].to_numpy()
    result["ml_move_home_prob"][positions] = (lasts["home_prob"] - firsts["home_prob"]).to_numpy()
    result["total_cut"][positions] = lasts["total"].to_numpy()
    result["total_move"][positions] = (lasts["total"] - firsts["total"]).to_numpy()
    result["total_cut_over_prob"][positions] = lasts["over_prob"].to_numpy()
    result["rl_cut_home_prob"][positions] = lasts["rl_prob"].to_numpy()
    for name, column, threshold in (
        ("ml_steam_net", "home_prob", STEAM_PROB_MOVE),
        ("total_steam_net", "total", STEAM_TOTAL_MOVE),
    ):
        steam_positions, net = _steam_net(derived, column, threshold)
        result[name][steam_positions] = net
    return result


def _steam_net(
    derived: pd.DataFrame, column: str, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per position with a ``column`` history: steam moves up minus steam moves down.

    At each snapshot the change is measured against the earliest snapshot at or after
    ``STEAM_WINDOW_MINUTES`` earlier; a move starts at a snapshot whose change reaches
    ``threshold`` in a direction the previous snapshot's change did not.
    """
    rows = derived.loc[derived[column].notna(), ["position", "captured_at", column]]
    if rows.empty:
        return np.array([], dtype=np.int64), np.array([])
    rows = rows.sort_values("captured_at", kind="mergesort").reset_index(drop=True)
    window = np.timedelta64(STEAM_WINDOW_MINUTES, "m")
    lookup = rows.assign(window_start=rows["captured_at"] - window, row=np.arange(len(rows)))
    reference = pd.merge_asof(
        lookup,
        rows.rename(columns={"captured_at": "reference_at", column: "reference"}),
        left_on="window_start",
        right_on="reference_at",
        by="position",
        direction="forward",
    ).sort_values("row")
    change = rows[column].to_numpy() - reference["reference"].to_numpy()
    # Tolerance for binary floating point: a move of exactly the threshold counts.
    direction = np.where(np.abs(change) >= threshold - 1e-9, np.sign(change), 0.0)
    rows = rows.assign(direction=direction).sort_values(
        ["position", "captured_at"], kind="mergesort"
    )
    previous = rows.groupby("position", sort=False)["direction"].shift(1).fillna(0.0)
    starts = np.where(
        (rows["direction"] != 0) & (rows["direction"] != previous), rows["direction"], 0.0
    )
    net = pd.Series(starts).groupby(rows["position"].to_numpy()).sum()
    return net.index.to_numpy(np.int64), net.to_numpy(np.float64)


def _split_features(
    targets: pd.DataFrame,
    splits: pd.DataFrame | None,
    cutoffs: np.ndarray,
    lines: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    nan = np.full(len(targets), np.nan)
    result = {
        "ml_home_bets_pct": nan.copy(),
        "ml_home_money_minus_bets": nan.copy(),
        "total_over_bets_pct": nan.copy(),
    }
    rows = _before_cutoff(targets, splits, cutoffs, SPLIT_COLUMNS)
    for market, side, prefix in (("moneyline", "home", "ml_home"), ("total", "over", "total_over")):
        chosen = rows[rows["market"] == market].sort_values(
            ["position", "captured_at"], kind="mergesort"
        )
        if chosen.empty:
            continue
        # Either side's row states the whole split: the other side has the rest.
        ours = (chosen["side"] == side).to_numpy()
        bets = np.where(ours, chosen["bets_pct"], 100.0 - chosen["bets_pct"].to_numpy(np.float64))
        money = np.where(
            ours, chosen["money_pct"], 100.0 - chosen["money_pct"].to_numpy(np.float64)
        )
        frame = pd.DataFrame({"position": chosen["position"].to_numpy(), "bets": bets})
        frame["money_minus_bets"] = money - bets
        lasts = frame.groupby("position", sort=True).last()
        positions = lasts.index.to_numpy()
        result[f"{prefix}_bets_pct"][positions] = lasts["bets"].to_numpy()
        if market == "moneyline":
            result["ml_home_money_minus_bets"][positions] = lasts["money_minus_bets"].to_numpy()
    result["ml_rlm_home"] = _reverse_line_movement(
        result["ml_home_bets_pct"], lines["ml_move_home_prob"], RLM_PROB_MOVE
    )
    result["total_rlm_over"] = _reverse_line_movement(
        result["total_over_bets_pct"], lines["total_move"], RLM_TOTAL_MOVE
    )
    return result


def _reverse_line_movement(bets_pct: np.ndarray, move: np.ndarray, threshold: float) -> np.ndarray:
    """+1: the public is against a side the line moved toward; -1: the mirror; else 0."""
    toward = move >= threshold - 1e-9
    against = move <= -threshold + 1e-9
    value = np.where((bets_pct < 50) & toward, 1.0, np.where((bets_pct > 50) & against, -1.0, 0.0))
    return np.where(np.isnan(bets_pct) | np.isnan(move), np.nan, value)


def _before_cutoff(
    targets: pd.DataFrame,
    frame: pd.DataFrame | None,
    cutoffs: np.ndarray,
    columns: tuple[str, ...],
) -> pd.DataFrame:
    """The rows of ``frame`` of each target game captured before its cutoff, with position."""
    empty = pd.DataFrame(columns=[*columns, "position"])
    if frame is None or frame.empty or "game_id" not in targets:
        return empty
    _require_columns(frame, columns)
    game_ids = pd.to_numeric(targets["game_id"], errors="coerce").to_numpy(np.float64)
    known = ~np.isnan(game_ids)
    keys = pd.DataFrame(
        {
            "game_id": game_ids[known].astype(np.int64),
            "position": np.flatnonzero(known),
            "cutoff": cutoffs[known],
        }
    )
    rows = frame.loc[:, list(columns)].assign(
        game_id=frame["game_id"].to_numpy(np.int64),
        captured_at=_utc_naive(frame["captured_at"]).to_numpy(),
    )
    # Prices and percentages as float64 (None -> NaN), however the caller typed them.
    numeric = [c for c in columns if c not in ("game_id", "captured_at", *_TEXT_COLUMNS)]
    rows[numeric] = rows[numeric].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    rows = rows.merge(keys, on="game_id")
    return rows[rows["captured_at"] < rows["cutoff"]].drop(columns="cutoff")


# --- temporal and team form -----------------------------------------------------------------


def _temporal_features(targets: pd.DataFrame, target_dates: pd.Series) -> dict[str, np.ndarray]:
    day_night = (
        targets["day_night"].map({"N": 1.0, "D": 0.0}).to_numpy(np.float64)
        if "day_night" in targets
        else np.full(len(targets), np.nan)
    )
    return {
        "month": target_dates.dt.month.to_numpy(np.float64),
        "is_night": day_night,
        "game_number": _float_column(targets, "game_number"),
    }


def _form_features(
    history: pd.DataFrame, targets: pd.DataFrame, target_dates: pd.Series
) -> dict[str, np.ndarray]:
    states = _team_day_states(history)
    priors = _team_priors(history)
    week_before = target_dates - pd.Timedelta(days=GAMES_WINDOW_DAYS)
    features: dict[str, np.ndarray] = {}
    factor, weight = CARRY_TEAM_FACTOR, CARRY_TEAM_GAMES
    for side in ("home", "away"):
        teams = targets[f"{side}_team"]
        state = _state_before(states, _TEAM_KEYS, {"team": teams}, target_dates)
        prior = _prior_of(priors, _TEAM_KEYS, {"team": teams}, target_dates)
        games_a_week_ago = _state_before(states, _TEAM_KEYS, {"team": teams}, week_before)["games"]
        games = state["games"]
        features[f"{side}_win_rate"] = _carried_rate(
            state["wins"], games, prior["wins"], prior["games"], factor, weight
        )
        # Runs: the prior adds `weight` pseudo-games at the regressed per-game rates.
        has_prior = prior["games"] > 0
        league = prior["league_runs"]
        pseudo_games = np.where(has_prior, weight, 0.0)
        blended = {}
        for column in ("scored", "allowed"):
            regressed = _regressed(_rate(prior[column], prior["games"]), league, factor)
            blended[column] = state[column] + np.where(has_prior, weight * regressed, 0.0)
        runs_scored = _rate(blended["scored"], games + pseudo_games)
        runs_allowed = _rate(blended["allowed"], games + pseudo_games)
        features[f"{side}_run_diff_per_game"] = runs_scored - runs_allowed
        features[f"{side}_runs_scored_per_game"] = runs_scored
        features[f"{side}_runs_allowed_per_game"] = runs_allowed
        features[f"{side}_pythag"] = _pythag(blended["scored"], blended["allowed"])
        features[f"{side}_games_played"] = games
        for window in FORM_WINDOWS:
            window_games = state[f"games_{window}"]
            features[f"{side}_last{window}_win_rate"] = _rate(state[f"wins_{window}"], window_games)
            features[f"{side}_last{window}_pythag"] = _pythag(
                state[f"scored_{window}"], state[f"allowed_{window}"]
            )
            if window == LAST_N_GAMES:
                features[f"{side}_last{window}_runs_scored"] = _rate(
                    state[f"scored_{window}"], window_games
                )
                features[f"{side}_last{window}_runs_allowed"] = _rate(
                    state[f"allowed_{window}"], window_games
                )
        features[f"{side}_{side}_win_rate"] = _carried_rate(
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


def _final_games(history: pd.DataFrame) -> pd.DataFrame:
    """History's final games, ordered by date, game number and id, with normalized dates."""
    final = history[history["home_score"].notna() & history["away_score"].notna()]
    frame = pd.DataFrame(
        {
            "game_date": _dates(final["game_date"], "history").to_numpy(),
            "game_number": _float_column(final, "game_number", default=0.0),
            "game_id": (
                _float_column(final, "game_id")
                if "game_id" in final
                else np.arange(len(final), dtype=float)
            ),
            "home_team": final["home_team"].astype(str).to_numpy(object),
            "away_team": final["away_team"].astype(str).to_numpy(object),
            "home_score": final["home_score"].to_numpy(np.float64),
            "away_score": final["away_score"].to_numpy(np.float64),
            "home_pitcher_id": _string_column(final, "home_pitcher_id"),
            "away_pitcher_id": _string_column(final, "away_pitcher_id"),
            "winning_pitcher_id": _string_column(final, "winning_pitcher_id"),
        }
    )
    frame["season"] = frame["game_date"].dt.year.astype(np.int64)
    return frame.sort_values(["game_date", "game_number", "game_id"], kind="mergesort")


def _team_priors(history: pd.DataFrame) -> pd.DataFrame:
    """Each team's final record of every season, keyed by the NEXT season (its prior).

    Columns: team, season (the season the record is a prior for), games, wins, scored,
    allowed, home/away games and wins, and league_runs: the league's runs per team-game
    in the record's season.
    """
    team_games = _team_games(_final_games(history))
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
    records = team_games.groupby(_TEAM_KEYS, sort=False)[columns].sum().reset_index()
    return _as_next_season_prior(records, team_games)


def _as_next_season_prior(records: pd.DataFrame, team_games: pd.DataFrame) -> pd.DataFrame:
    """``records`` of season S keyed by season S + 1, with season S's league runs per game."""
    league = team_games.groupby("season", sort=False)["scored"].mean()
    records = records.assign(league_runs=records["season"].map(league).to_numpy(np.float64))
    return records.assign(season=records["season"].astype(np.int64) + 1)


def _team_games(final: pd.DataFrame) -> pd.DataFrame:
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


def _team_day_states(history: pd.DataFrame) -> pd.DataFrame:
    """Each team's cumulative season record at the end of every date it played."""
    team_games = _team_games(_final_games(history))
    team_games = team_games.sort_values(
        [*_TEAM_KEYS, "game_date", "game_number", "game_id"], kind="mergesort"
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
    by_team = team_games.groupby(_TEAM_KEYS, sort=False)
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
    states = team_games.drop_duplicates([*_TEAM_KEYS, "game_date"], keep="last")
    per_game = ["game_number", "game_id", "pitcher", "winning_pitcher", "is_home", "won", "result"]
    states = states.drop(columns=per_game).sort_values("game_date", kind="mergesort")
    return states.assign(last_date=states["game_date"])


def _streaks(team_games: pd.DataFrame, column: str) -> np.ndarray:
    """Signed length of the run of equal ``column`` values ending at each row, per team season.

    A zero value (a tie) has streak 0. ``team_games`` must be sorted by team, season, time.
    """
    values = team_games[column].to_numpy(np.float64)
    group = team_games.groupby(_TEAM_KEYS, sort=False).ngroup().to_numpy()
    new_run = np.ones(len(values), dtype=bool)
    new_run[1:] = (values[1:] != values[:-1]) | (group[1:] != group[:-1])
    run_id = np.cumsum(new_run)
    length = pd.Series(np.ones(len(values))).groupby(run_id).cumsum().to_numpy()
    return length * values


def _head_to_head_features(
    history: pd.DataFrame, targets: pd.DataFrame, target_dates: pd.Series
) -> dict[str, np.ndarray]:
    final = _final_games(history)
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
    state = _state_before(states, keys, pair, target_dates)
    prior = _prior_of(priors, keys, pair, target_dates)
    home_wins = np.where(home_first, state["first_wins"], state["second_wins"])
    prior_home_wins = np.where(home_first, prior["first_wins"], prior["second_wins"])
    return {
        "h2h_games": state["games"],
        "h2h_home_win_rate": _carried_rate(
            home_wins,
            state["games"],
            prior_home_wins,
            prior["games"],
            CARRY_H2H_FACTOR,
            CARRY_H2H_GAMES,
        ),
    }


def _pitcher_features(
    history: pd.DataFrame, targets: pd.DataFrame, target_dates: pd.Series
) -> dict[str, np.ndarray]:
    team_games = _team_games(_final_games(history))
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
    priors = _as_next_season_prior(by_pitcher[totals].sum().reset_index(), team_games)
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
        pitchers = _string_column(targets, f"{side}_pitcher_id")
        state = _state_before(states, keys, {"pitcher": pitchers}, target_dates)
        prior = _prior_of(priors, keys, {"pitcher": pitchers}, target_dates)
        has_prior = prior["starts"] > 0
        regressed = _regressed(
            _rate(prior["allowed"], prior["starts"]), prior["league_runs"], CARRY_PITCHER_FACTOR
        )
        pseudo_starts = np.where(has_prior, CARRY_PITCHER_STARTS, 0.0)
        unknown = pitchers == ""
        count = np.where(unknown, np.nan, state["starts"])
        features[f"{side}_sp_starts"] = count
        features[f"{side}_sp_rest_days"] = np.where(
            unknown, np.nan, (target_dates.to_numpy() - state["last_date"]) / np.timedelta64(1, "D")
        )
        features[f"{side}_sp_runs_allowed_last{recent}"] = _rate(
            state["allowed_recent"], np.where(unknown, 0.0, state["starts_recent"])
        )
        features[f"{side}_sp_runs_allowed_per_start"] = _rate(
            state["allowed"] + np.where(has_prior, CARRY_PITCHER_STARTS * regressed, 0.0),
            count + pseudo_starts,
        )
        features[f"{side}_sp_team_win_rate"] = np.where(
            unknown,
            np.nan,
            _carried_rate(
                state["wins"],
                state["starts"],
                prior["wins"],
                prior["starts"],
                CARRY_PITCHER_FACTOR,
                CARRY_PITCHER_STARTS,
            ),
        )
        features[f"{side}_sp_win_credit_share"] = np.where(
            unknown, np.nan, _rate(state["credited"], state["wins"])
        )
    return features


def _state_before(
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


def _prior_of(
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


def _regressed(rate: np.ndarray, mean: np.ndarray | float, factor: float) -> np.ndarray:
    """Last season's ``rate`` regressed toward ``mean``: mean + factor * (rate - mean)."""
    return mean + factor * (rate - mean)


def _carried_rate(
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
        prior = _regressed(prior_wins / prior_games, 0.5, factor)
        carried = (wins + weight * prior) / (games + weight)
    return np.where(prior_games > 0, carried, _shrunk_rate(wins, games))


def _shrunk_rate(wins: np.ndarray, games: np.ndarray) -> np.ndarray:
    return (wins + PRIOR_GAMES / 2) / (games + PRIOR_GAMES)


def _rate(numerator: np.ndarray, games: np.ndarray) -> np.ndarray:
    games = np.asarray(games, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(games > 0, np.asarray(numerator, dtype=np.float64) / games, np.nan)


def _pythag(scored: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    runs_for = np.asarray(scored, dtype=np.float64) ** PYTHAG_EXPONENT
    runs_against = np.asarray(allowed, dtype=np.float64) ** PYTHAG_EXPONENT
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(runs_for + runs_against > 0, runs_for / (runs_for + runs_against), np.nan)


def _dates(values: pd.Series, frame_name: str) -> pd.Series:
    dates = pd.to_datetime(values)
    if dates.dt.tz is not None:
        dates = dates.dt.tz_localize(None)
    if dates.isna().any():
        raise ValueError(f"{frame_name} has games without a game_date")
    return dates.dt.normalize().astype("datetime64[ns]")


def _utc_naive(values: pd.Series) -> pd.Series:
    """Timestamps (aware, naive-as-UTC or ISO strings) as naive UTC datetime64[ns]; NaT kept."""
    times = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    return times.dt.tz_localize(None).astype("datetime64[ns]")


def _float_column(frame: pd.DataFrame, column: str, default: float = np.nan) -> np.ndarray:
    if column not in frame:
        return np.full(len(frame), default, dtype=np.float64)
    return np.array(frame[column], dtype=np.float64)


def _string_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A text column with missing values as ``""``."""
    if column not in frame:
        return np.full(len(frame), "", dtype=object)
    return frame[column].fillna("").astype(str).to_numpy(object)


def _require_columns(frame: pd.DataFrame, columns: Iterable[str]) -> None:
    missing = [column for column in columns if column not in frame]
    if missing:
        raise ValueError(f"frame lacks required columns {missing}")


# --- loading --------------------------------------------------------------------------------


@cache
def _games_statement() -> Select:
    """Stored games with one ``odds`` row each: SBRO's, else the live feeds' (book ``feed``).

    Built once per process (a statement is immutable; building it and its cache key cost more
    than reading one game, as a one-game prediction does)."""
    sbro = aliased(Odds, name="sbro_odds")
    feed = aliased(Odds, name="feed_odds")
    has_sbro = sbro.game_id.is_not(None)
    return (
        select(
            Game.id.label("game_id"),
            Game.season,
            Game.game_date,
            Game.game_number,
            Game.start_time,
            Game.home_team,
            Game.away_team,
            Game.home_score,
            Game.away_score,
            Game.postseason,
            Game.neutral_site,
            Game.day_night,
            Game.home_pitcher_id,
            Game.away_pitcher_id,
            Game.winning_pitcher_id,
            Game.length_outs,
            Game.scheduled_innings,
            *(
                case((has_sbro, getattr(sbro, column)), else_=getattr(feed, column)).label(column)
                for column in ODDS_COLUMNS
            ),
        )
        .outerjoin(sbro, and_(sbro.game_id == Game.id, sbro.book == SBRO_BOOK))
        .outerjoin(feed, and_(feed.game_id == Game.id, feed.book == FEED_BOOK))
        .where(Game.retired_at.is_(None))  # a retired game is no game to learn from or predict
        .order_by(Game.game_date, Game.game_number, Game.id)
    )


def _filtered(
    statement: Select,
    game_id_column,
    seasons: Iterable[int] | None,
    game_ids: Iterable[int] | None,
) -> Select:
    if seasons is not None:
        statement = statement.join(Game, Game.id == game_id_column).where(
            Game.season.in_(sorted(set(seasons)))
        )
    if game_ids is not None:
        statement = statement.where(
            game_id_column.in_(sorted({int(game_id) for game_id in game_ids}))
        )
    return statement


def _read_frame(session: Session, statement: Select, columns: tuple[str, ...]) -> pd.DataFrame:
    """Rows of ``statement`` typed column by column, not inferred value by value (a season
    of line snapshots has a quarter of a million rows): ``game_id`` int64, ``captured_at``
    naive UTC, text as is, every other column float64 (None -> NaN)."""
    rows = session.execute(statement).all()
    values = zip(*rows, strict=True) if rows else [()] * len(columns)
    frame = {}
    for column, column_values in zip(columns, values, strict=True):
        if column == "game_id":
            frame[column] = np.array(column_values, dtype=np.int64)
        elif column == "captured_at":
            frame[column] = _utc_naive(pd.Series(column_values, dtype=object))
        elif column in _TEXT_COLUMNS:
            frame[column] = np.array(column_values, dtype=object)
        else:
            frame[column] = np.array(column_values, dtype=np.float64)
    return pd.DataFrame(frame)


def _read_games(session: Session, statement: Select) -> pd.DataFrame:
    rows = session.execute(statement).all()
    frame = pd.DataFrame.from_records(rows, columns=list(GAME_COLUMNS))
    frame["game_date"] = pd.to_datetime(frame["game_date"]).astype("datetime64[ns]")
    frame["start_time"] = _utc_naive(frame["start_time"])
    for column in ("game_id", "season", "game_number"):
        frame[column] = frame[column].astype(np.int64)
    for column in ("postseason", "neutral_site"):
        frame[column] = frame[column].astype(bool)
    for column in ("home_score", "away_score", *ODDS_COLUMNS):
        frame[column] = np.array(frame[column], dtype=np.float64)
    return frame
