"""The queries that read curated games as frames: the games frame every consumer shares.

One row per stored (not retired) game with its market odds: SBRO's ``odds`` row where the
archive has one, else the live feeds' (book ``feed``). Features, training, the backtest,
the slate, the bets reports and model performance all read games through
:func:`load_games_frame`.
"""

import datetime as dt
from collections.abc import Iterable
from functools import cache
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Select, and_, case, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, aliased

from app.db.filters import among_param
from app.db.session import pipelined
from app.games.models import FEED_BOOK, ODDS_COLUMNS, Game, Odds

SBRO_BOOK = "sbro"

# Column layout of :func:`load_games_frame` (what ``app.features.pipeline`` reads).
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
    "home_pitcher",
    "away_pitcher",
    "home_pitcher_id",
    "away_pitcher_id",
    "winning_pitcher_id",
    "length_outs",
    "scheduled_innings",
    *ODDS_COLUMNS,
)


def load_games_frame(
    session: Session,
    *,
    seasons: Iterable[int] | None = None,
    until: dt.date | None = None,
    game_ids: Iterable[int] | None = None,
) -> pd.DataFrame:
    """Stored games with their odds in :data:`GAME_COLUMNS` layout, in date order.

    Filters combine (AND): ``seasons`` keeps only those seasons, ``until`` keeps games on
    or before that date, ``game_ids`` keeps only those games.
    """
    statement = games_statement()
    if seasons is not None:
        statement = statement.where(Game.season.in_(sorted(set(seasons))))
    if until is not None:
        statement = statement.where(Game.game_date <= until)
    if game_ids is not None:
        statement = statement.where(Game.id.in_(sorted({int(game_id) for game_id in game_ids})))
    return read_games(session, statement)


def load_game_rows(session: Session, game_ids: Iterable[int]) -> list:
    """The rows :func:`load_games_frame` reads of ``game_ids``, as named tuples in any order:
    a one-game prediction needs no frame (building one costs more than the query)."""
    (rows,) = pipelined(session, [game_rows_statement(game_ids)])
    return rows


def game_rows_statement(game_ids: Iterable[int]) -> tuple[str, dict[str, Any]]:
    """:func:`load_game_rows`' statement and its values, to send with others
    (``app.db.session.pipelined``)."""
    sql, constants = _games_among()
    return sql, {**constants, "ids": sorted({int(game_id) for game_id in game_ids})}


@cache
def _games_among() -> tuple[str, dict[str, Any]]:
    """:func:`games_statement` of the games in the parameter ``ids``, compiled once per
    process to SQL text and its constant values (a one-game job's read through SQLAlchemy's
    ``Connection`` and result cost more CPU than the statement's round trip)."""
    compiled = (
        games_statement()
        .where(among_param(Game.id, "ids"))
        .compile(dialect=postgresql.psycopg.dialect())
    )
    return str(compiled), {name: value for name, value in compiled.params.items() if name != "ids"}


@cache
def games_statement() -> Select:
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
            Game.home_pitcher,
            Game.away_pitcher,
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


def read_games(session: Session, statement: Select) -> pd.DataFrame:
    """Rows of a :func:`games_statement` (filtered) as a typed frame."""
    rows = session.execute(statement).all()
    frame = pd.DataFrame.from_records(rows, columns=list(GAME_COLUMNS))
    frame["game_date"] = pd.to_datetime(frame["game_date"]).astype("datetime64[ns]")
    frame["start_time"] = utc_naive(frame["start_time"])
    for column in ("game_id", "season", "game_number"):
        frame[column] = frame[column].astype(np.int64)
    for column in ("postseason", "neutral_site"):
        frame[column] = frame[column].astype(bool)
    for column in ("home_score", "away_score", *ODDS_COLUMNS):
        frame[column] = np.array(frame[column], dtype=np.float64)
    return frame


def utc_naive(values: pd.Series) -> pd.Series:
    """Timestamps (aware, naive-as-UTC or ISO strings) as naive UTC datetime64[ns]; NaT kept."""
    times = pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
    return times.dt.tz_localize(None).astype("datetime64[ns]")
