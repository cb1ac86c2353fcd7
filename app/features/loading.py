"""Reading the timestamped inputs of features: line snapshots and betting splits.

Games themselves are read by :func:`app.games.queries.load_games_frame`.
"""

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.games.models import (
    SNAPSHOT_PRICE_COLUMNS,
    BettingSplit,
    Game,
    LineupSlot,
    OddsSnapshot,
    TeamBoxScore,
)
from app.games.queries import utc_naive

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
TEXT_COLUMNS = frozenset({"book", "source", "market", "side"})


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
            frame[column] = utc_naive(pd.Series(column_values, dtype=object))
        elif column in TEXT_COLUMNS:
            frame[column] = np.array(column_values, dtype=object)
        else:
            frame[column] = np.array(column_values, dtype=np.float64)
    return pd.DataFrame(frame)


# The starting nine of each side (``game_lineups``): what the lineup family reads.
LINEUP_COLUMNS: tuple[str, ...] = ("game_id", "side", "batting_order", "player_id", "position")
# Each side's box-score counts the starters' pitching family reads (``team_box_scores``):
# the side's batting (what the OTHER side's pitchers allowed), its defence's putouts (the
# outs its own pitchers recorded) and its line score.
BOX_SCORE_COLUMNS: tuple[str, ...] = (
    "game_id",
    "side",
    "strikeouts",
    "walks",
    "hit_by_pitch",
    "home_runs",
    "putouts",
    "line_score",
)


def load_lineups_frame(session: Session, **which: Iterable[int] | None) -> pd.DataFrame:
    """Stored starting lineups (:data:`LINEUP_COLUMNS`) of games (``seasons=`` and/or
    ``game_ids=``)."""
    return _records(session, LineupSlot, LINEUP_COLUMNS, **which)


def load_box_scores_frame(session: Session, **which: Iterable[int] | None) -> pd.DataFrame:
    """Stored box-score counts (:data:`BOX_SCORE_COLUMNS`) of games, a row per side
    (``seasons=`` and/or ``game_ids=``)."""
    return _records(session, TeamBoxScore, BOX_SCORE_COLUMNS, **which)


def _records(
    session: Session,
    model: type,
    columns: tuple[str, ...],
    seasons: Iterable[int] | None = None,
    game_ids: Iterable[int] | None = None,
) -> pd.DataFrame:
    """The ``columns`` of a per-game table's rows, as they are (None stays None)."""
    selected = [getattr(model, column) for column in columns]
    statement = _filtered(select(*selected), model.game_id, seasons, game_ids)
    return pd.DataFrame.from_records(session.execute(statement).all(), columns=list(columns))
