"""The raw rows of the live feeds: every game or event of a fetched response, verbatim.

A fetched response is registered in ``ingested_files`` (source ``schedule_feed`` or
``odds_feed``, by its SHA-256); each game (schedule) or event (odds) of it is a raw row here,
pointing to the curated game it became. Rule firings go to ``quarantine`` with the raw JSON.
"""

from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, UniqueConstraint
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
