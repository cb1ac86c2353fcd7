"""Raw, staging and quarantine tables of the ingest pipeline.

Lineage: ``ingested_files`` -> ``raw_*_rows`` (verbatim) -> ``staging_*`` (typed, with raw
row ids) -> curated ``games`` / ``odds`` (``staging_*.game_id``). Rule firings go to
``quarantine`` with the raw rows they concern.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

__all__ = [
    "IngestRun",
    "IngestedFile",
    "QuarantinedRow",
    "RawFeedRow",
    "RawLineRow",
    "RawRetrosheetRow",
    "RawSbroRow",
    "RawSplitRow",
    "SourceConflict",
    "StagingLineGame",
    "StagingRetrosheetGame",
    "StagingSbroGame",
]


class IngestedFile(Base):
    """One source file's content, registered once per hash; each ingest of it is an IngestRun.

    Re-ingesting the bytes of the season's current file is a no-op; re-ingesting an older
    version (or ``--force``) stages it again and makes it the current file.
    """

    __tablename__ = "ingested_files"
    __table_args__ = (UniqueConstraint("source", "sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))  # sbro, retrosheet, lines, splits
    path: Mapped[str] = mapped_column(String(1024))
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(BigInteger)
    rows: Mapped[int] = mapped_column(Integer)
    # Decisions taken for this file, e.g. SBRO's over/under row layout and its evidence.
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    ingested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class IngestRun(Base):
    """One ingest of a file for one season: the file history.

    The latest run of a (source, season) names the file that counts for that season.
    """

    __tablename__ = "ingest_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    season: Mapped[int | None] = mapped_column(SmallInteger)
    file_id: Mapped[int] = mapped_column(
        ForeignKey("ingested_files.id", ondelete="CASCADE"), index=True
    )
    forced: Mapped[bool] = mapped_column(Boolean, default=False)
    # "new" (first ingest of this content) or "reapplied" (an earlier version made current).
    kind: Mapped[str] = mapped_column(String(16))
    games_changed: Mapped[int] = mapped_column(Integer, default=0)
    ingested_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class SourceConflict(Base):
    """Two sources disagree about a matched game; a named rule said which value counts.

    Rebuilt for a season whenever its curated games are matched to its Retrosheet log.
    """

    __tablename__ = "source_conflicts"
    __table_args__ = (UniqueConstraint("game_id", "rule"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"), index=True)
    season: Mapped[int] = mapped_column(SmallInteger, index=True)
    rule: Mapped[str] = mapped_column(String(64))
    winner: Mapped[str] = mapped_column(String(16))  # the source whose value is used
    values: Mapped[dict[str, Any]] = mapped_column(JSONB)  # {source: value}
    message: Mapped[str] = mapped_column(Text)


class RawSbroRow(Base):
    """A workbook row verbatim: every cell as text (null when empty)."""

    __tablename__ = "raw_sbro_rows"
    __table_args__ = (UniqueConstraint("file_id", "row_number"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("ingested_files.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)  # 1-based worksheet row
    cells: Mapped[list[str | None]] = mapped_column(JSONB)


class RawRetrosheetRow(Base):
    """A game-log line verbatim: its 161 fields."""

    __tablename__ = "raw_retrosheet_rows"
    __table_args__ = (UniqueConstraint("file_id", "row_number"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("ingested_files.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)  # 1-based line
    fields: Mapped[list[str]] = mapped_column(JSONB)


class StagingSbroGame(Base):
    """A typed SBRO game built from a visitor row and a home row."""

    __tablename__ = "staging_sbro_games"
    __table_args__ = (UniqueConstraint("file_id", "visitor_row_id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("ingested_files.id", ondelete="CASCADE"))
    visitor_row_id: Mapped[int] = mapped_column(ForeignKey("raw_sbro_rows.id", ondelete="CASCADE"))
    home_row_id: Mapped[int] = mapped_column(ForeignKey("raw_sbro_rows.id", ondelete="CASCADE"))
    game_id: Mapped[int | None] = mapped_column(
        ForeignKey("games.id", ondelete="SET NULL"), index=True
    )
    game_key: Mapped[str] = mapped_column(String(32), index=True)
    season: Mapped[int] = mapped_column(SmallInteger)
    game_date: Mapped[date] = mapped_column(Date)
    game_number: Mapped[int] = mapped_column(SmallInteger)
    visitor_rotation: Mapped[int | None] = mapped_column(Integer)
    home_rotation: Mapped[int | None] = mapped_column(Integer)
    away_sbro_code: Mapped[str] = mapped_column(String(8))
    home_sbro_code: Mapped[str] = mapped_column(String(8))
    away_team: Mapped[str] = mapped_column(String(3))
    home_team: Mapped[str] = mapped_column(String(3))
    away_pitcher: Mapped[str | None] = mapped_column(String(64))
    away_pitcher_hand: Mapped[str | None] = mapped_column(String(1))
    home_pitcher: Mapped[str | None] = mapped_column(String(64))
    home_pitcher_hand: Mapped[str | None] = mapped_column(String(1))
    away_line_score: Mapped[list[int | None]] = mapped_column(JSONB)
    home_line_score: Mapped[list[int | None]] = mapped_column(JSONB)
    away_score: Mapped[int] = mapped_column(SmallInteger)
    home_score: Mapped[int] = mapped_column(SmallInteger)
    neutral_site: Mapped[bool] = mapped_column(Boolean)
    postseason: Mapped[bool] = mapped_column(Boolean)
    away_ml_open: Mapped[int | None] = mapped_column(Integer)
    home_ml_open: Mapped[int | None] = mapped_column(Integer)
    away_ml_close: Mapped[int | None] = mapped_column(Integer)
    home_ml_close: Mapped[int | None] = mapped_column(Integer)
    total_open: Mapped[float | None] = mapped_column(Float)
    over_open: Mapped[int | None] = mapped_column(Integer)
    under_open: Mapped[int | None] = mapped_column(Integer)
    total_close: Mapped[float | None] = mapped_column(Float)
    over_close: Mapped[int | None] = mapped_column(Integer)
    under_close: Mapped[int | None] = mapped_column(Integer)
    home_rl: Mapped[float | None] = mapped_column(Float)
    home_rl_price: Mapped[int | None] = mapped_column(Integer)
    away_rl_price: Mapped[int | None] = mapped_column(Integer)


class StagingRetrosheetGame(Base):
    """A typed game-log game; ``game_id`` is the curated game it matched, if any."""

    __tablename__ = "staging_retrosheet_games"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("ingested_files.id", ondelete="CASCADE"))
    raw_row_id: Mapped[int] = mapped_column(
        ForeignKey("raw_retrosheet_rows.id", ondelete="CASCADE")
    )
    game_id: Mapped[int | None] = mapped_column(
        ForeignKey("games.id", ondelete="SET NULL"), index=True
    )
    retrosheet_game_id: Mapped[str] = mapped_column(String(12), unique=True)
    season: Mapped[int] = mapped_column(SmallInteger, index=True)
    game_date: Mapped[date] = mapped_column(Date)
    game_number: Mapped[int] = mapped_column(SmallInteger)
    away_team: Mapped[str] = mapped_column(String(3))
    home_team: Mapped[str] = mapped_column(String(3))
    away_team_code: Mapped[str] = mapped_column(String(3))
    home_team_code: Mapped[str] = mapped_column(String(3))
    away_score: Mapped[int] = mapped_column(SmallInteger)
    home_score: Mapped[int] = mapped_column(SmallInteger)
    length_outs: Mapped[int | None] = mapped_column(SmallInteger)
    day_night: Mapped[str | None] = mapped_column(String(1))
    park_id: Mapped[str | None] = mapped_column(String(5))
    attendance: Mapped[int | None] = mapped_column(Integer)
    duration_minutes: Mapped[int | None] = mapped_column(SmallInteger)
    away_pitcher_id: Mapped[str | None] = mapped_column(String(8))
    away_pitcher_name: Mapped[str | None] = mapped_column(String(64))
    home_pitcher_id: Mapped[str | None] = mapped_column(String(8))
    home_pitcher_name: Mapped[str | None] = mapped_column(String(64))
    winning_pitcher_id: Mapped[str | None] = mapped_column(String(8))
    losing_pitcher_id: Mapped[str | None] = mapped_column(String(8))
    saving_pitcher_id: Mapped[str | None] = mapped_column(String(8))


class QuarantinedRow(Base):
    """One rule firing (a rejected row or game, or a nulled or corrected value) and its raw rows."""

    __tablename__ = "quarantine"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    file_id: Mapped[int] = mapped_column(
        ForeignKey("ingested_files.id", ondelete="CASCADE"), index=True
    )
    row_numbers: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    rule: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(16))  # rejected / nulled / corrected
    message: Mapped[str] = mapped_column(Text)
    game_key: Mapped[str | None] = mapped_column(String(32))  # set when the game was curated
    raw: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)  # [{"row_number", "cells"}]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class RawLineRow(Base):
    """A row of a line-history pair verbatim: a game (``part`` "games") or a line ("lines").

    A line row points to the snapshot it became; a game row is staged in ``staging_line_games``.
    """

    __tablename__ = "raw_line_rows"
    __table_args__ = (UniqueConstraint("file_id", "part", "row_number"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("ingested_files.id", ondelete="CASCADE"))
    part: Mapped[str] = mapped_column(String(8))
    row_number: Mapped[int] = mapped_column(Integer)  # 1-based data row (header excluded)
    fields: Mapped[list[str]] = mapped_column(JSONB)
    snapshot_id: Mapped[int | None] = mapped_column(
        ForeignKey("odds_snapshots.id", ondelete="SET NULL"), index=True
    )


class StagingLineGame(Base):
    """A typed game of a line-history file; ``game_id`` is the curated game it joined."""

    __tablename__ = "staging_line_games"
    __table_args__ = (UniqueConstraint("file_id", "game_idx"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("ingested_files.id", ondelete="CASCADE"))
    raw_row_id: Mapped[int] = mapped_column(ForeignKey("raw_line_rows.id", ondelete="CASCADE"))
    game_id: Mapped[int | None] = mapped_column(
        ForeignKey("games.id", ondelete="SET NULL"), index=True
    )
    book: Mapped[str] = mapped_column(String(16))
    season: Mapped[int] = mapped_column(SmallInteger, index=True)
    game_idx: Mapped[int] = mapped_column(Integer)
    source_game_id: Mapped[str | None] = mapped_column(String(16))  # not used to join
    event_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # as in the file
    start_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # true UTC
    game_date: Mapped[date] = mapped_column(Date)  # local (US Eastern) date of start_time
    doubleheader_game: Mapped[int] = mapped_column(SmallInteger)
    away_team: Mapped[str] = mapped_column(String(3))
    home_team: Mapped[str] = mapped_column(String(3))
    away_pitcher: Mapped[str | None] = mapped_column(String(64))
    home_pitcher: Mapped[str | None] = mapped_column(String(64))
    away_score: Mapped[int] = mapped_column(SmallInteger)
    home_score: Mapped[int] = mapped_column(SmallInteger)
    lines: Mapped[int] = mapped_column(Integer)  # line rows of this game in the file


class RawSplitRow(Base):
    """A betting-splits CSV row verbatim, and the curated split it became."""

    __tablename__ = "raw_split_rows"
    __table_args__ = (UniqueConstraint("file_id", "row_number"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("ingested_files.id", ondelete="CASCADE"))
    row_number: Mapped[int] = mapped_column(Integer)  # 1-based data row (header excluded)
    fields: Mapped[dict[str, str | None]] = mapped_column(JSONB)
    split_id: Mapped[int | None] = mapped_column(
        ForeignKey("betting_splits.id", ondelete="SET NULL"), index=True
    )


class RawFeedRow(Base):
    """One game or event of a feed response as the provider sent it (a response is registered
    in ``ingested_files``, source ``schedule_feed`` or ``odds_feed``, by its SHA-256), pointing
    to the curated game it became."""

    __tablename__ = "raw_feed_rows"
    __table_args__ = (UniqueConstraint("file_id", "row_number"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    file_id: Mapped[int] = mapped_column(
        ForeignKey("ingested_files.id", ondelete="CASCADE"), index=True
    )
    row_number: Mapped[int] = mapped_column(Integer)  # 1-based position in the response
    payload: Mapped[Any] = mapped_column(JSONB)
    game_id: Mapped[int | None] = mapped_column(
        ForeignKey("games.id", ondelete="SET NULL"), index=True
    )
