"""The raw rows of the live feeds: every game or event of a fetched response, verbatim.

A fetched response is registered in ``ingested_files`` (source ``schedule_feed`` or
``odds_feed``, by its SHA-256); each game (schedule) or event (odds) of it is a raw row here,
pointing to the curated game it became. Rule firings go to ``quarantine`` with the raw JSON.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


class RawFeedRow(Base):
    """One game or event of a feed response as the provider sent it."""

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


class FeedDay(Base):
    """A day of a feed that a walk over a date range (a backfill) has pulled.

    ``complete`` once every game of the day is over (final, postponed or cancelled), or the
    day is past and had no games: a walk that runs again skips it (resuming where it
    stopped); an incomplete day is pulled again.
    """

    __tablename__ = "feed_days"

    feed: Mapped[str] = mapped_column(String(16), primary_key=True)  # schedule
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    file_id: Mapped[int | None] = mapped_column(
        ForeignKey("ingested_files.id", ondelete="SET NULL")
    )
    games: Mapped[int] = mapped_column(Integer)
    complete: Mapped[bool] = mapped_column(Boolean)
    pulled_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
