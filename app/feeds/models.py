"""The days a walk over the schedule feed pulled (a response's own rows are ingest tables:
``raw_feed_rows`` in app/ingest/models.py)."""

from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base


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
