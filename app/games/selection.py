"""Which stored games a request names: each lookup one autocommit statement on a pooled
cursor (``app.db.session.autocommit_cursor``), no BEGIN and COMMIT round trips."""

import datetime as dt
from collections.abc import Sequence
from typing import Any

from app.db.filters import int_array
from app.db.session import autocommit_cursor

# A batch's thousands of ids go as one array literal: an IN list took tens of ms to compile
# and parse, a list parameter several to dump.
_RETIREMENTS = "SELECT id, retired_at FROM games WHERE id = ANY(%(ids)s::integer[])"
_ON_DATE = "SELECT id FROM games WHERE game_date = %(day)s AND retired_at IS NULL ORDER BY id"
_OF_SEASON = (
    "SELECT id FROM games WHERE season = %(season)s AND retired_at IS NULL ORDER BY game_date, id"
)
_RETIREMENT = "SELECT retired_at, retired_reason FROM games WHERE id = %(id)s"


def retirements(database_url: str, game_ids: Sequence[int]) -> dict[int, dt.datetime | None]:
    """Each stored game of ``game_ids`` and when it was retired (None: it was not); a game
    that is not stored is absent."""
    with autocommit_cursor(database_url) as cursor:
        return dict(cursor.execute(_RETIREMENTS, {"ids": int_array(game_ids)}).fetchall())


def game_ids_on(database_url: str, day: dt.date) -> list[int]:
    """The stored, not retired games of ``day``, by id."""
    with autocommit_cursor(database_url) as cursor:
        return [row[0] for row in cursor.execute(_ON_DATE, {"day": day})]


def game_ids_of_season(database_url: str, season: int) -> list[int]:
    """The stored, not retired games of ``season``, by date then id."""
    with autocommit_cursor(database_url) as cursor:
        return [row[0] for row in cursor.execute(_OF_SEASON, {"season": season})]


def retirement(database_url: str, game_id: int) -> tuple[Any, str | None] | None:
    """``(retired_at, retired_reason)`` of a stored game (both None when it is not retired);
    None when it is not stored."""
    with autocommit_cursor(database_url) as cursor:
        return cursor.execute(_RETIREMENT, {"id": game_id}).fetchone()
