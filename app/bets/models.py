"""The bets ledger: every served recommendation and every bet a user recorded."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

BET_STATUSES = ("open", "won", "lost", "push", "void")
BET_ORIGINS = ("served", "user")


class Bet(Base):
    """One bet. ``(prediction_id, market, strategy)`` (no strategy: '') is the natural key
    of a served recommendation or a strategy's paper bet, so that a redelivered prediction
    chunk cannot record it twice (user bets have no prediction and never conflict). ``line``
    is the total of a totals bet and the HOME run line of a run-line bet (an away bet at -1.5
    is away +1.5); null for the moneyline."""

    __tablename__ = "bets"
    __table_args__ = (
        # No strategy is one key value (''), while bets of no prediction never conflict.
        Index(
            "uq_bets_prediction_market_strategy",
            "prediction_id",
            "market",
            text("coalesce(strategy, '')"),
            unique=True,
        ),
        Index("ix_bets_status_game", "status", "game_id"),
        Index("ix_bets_settled_at", "settled_at"),
        CheckConstraint(f"status IN {BET_STATUSES!r}", name="status"),
        CheckConstraint(f"origin IN {BET_ORIGINS!r}", name="origin"),
        CheckConstraint("stake > 0", name="stake_positive"),
    )

    bet_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), primary_key=True, default=uuid.uuid4
    )
    prediction_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("predictions.id", ondelete="SET NULL")
    )
    # No cascade: a bet is deleted only by its owner; a game with bets is retired, not deleted.
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="RESTRICT"), index=True)
    market: Mapped[str] = mapped_column(String(16))
    side: Mapped[str] = mapped_column(String(8))
    line: Mapped[float | None] = mapped_column(Float)
    book: Mapped[str] = mapped_column(String(32))
    odds: Mapped[int] = mapped_column(Integer)  # American
    stake: Mapped[float] = mapped_column(Float)
    fair_probability: Mapped[float | None] = mapped_column(Float)
    model_name: Mapped[str | None] = mapped_column(String(64))
    model_version: Mapped[str | None] = mapped_column(String(16))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    origin: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(8), default="open", server_default="open")
    profit: Mapped[float | None] = mapped_column(Float)
    closing_odds: Mapped[int | None] = mapped_column(Integer)
    clv: Mapped[float | None] = mapped_column(Float)
    settled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Why a bet was voided other than by grading (its game retired); null otherwise.
    void_reason: Mapped[str | None] = mapped_column(String(200))
    # Why a settled bet has no close (and so no CLV); null when it has one.
    close_note: Mapped[str | None] = mapped_column(String(120))
    # The side's de-vigged probability at the sharp books' close, the CLV against it, and
    # why there is none (app/bets/settlement.py).
    sharp_close: Mapped[float | None] = mapped_column(Float)
    sharp_clv: Mapped[float | None] = mapped_column(Float)
    sharp_close_note: Mapped[str | None] = mapped_column(String(120))
    # The strategy that served it (app/bets/strategies.py); paper while it is watch-only.
    strategy: Mapped[str | None] = mapped_column(String(32))
    paper: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")


class StrategyState(Base):
    """A strategy's state (``watch`` or ``live``), whether an admin forced it, and why."""

    __tablename__ = "strategy_states"
    __table_args__ = (CheckConstraint("state IN ('watch', 'live')", name="state"),)

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(8))
    forced: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    reason: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class BetAlert(Base):
    """One alert of one bet to one receiver (``target``: a hash of its URL, so that a URL's
    secret never lands in the database). ``pending`` until a receiver took it, then ``sent``;
    a failure pushes ``next_attempt_at`` back (``app.bets.alerts``)."""

    __tablename__ = "bet_alerts"
    __table_args__ = (
        UniqueConstraint("bet_id", "target"),
        Index("ix_bet_alerts_due", "status", "next_attempt_at"),
        CheckConstraint("status IN ('pending', 'sent')", name="status"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    bet_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("bets.bet_id", ondelete="CASCADE")
    )
    target: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(8), default="pending", server_default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
