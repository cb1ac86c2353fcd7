"""Jobs (the outbox clients poll) and the chunks a fanned-out job is written in."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import Mapped, mapped_column

from app.db.base import Base

JOB_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
FINISHED_STATUSES = frozenset({"succeeded", "failed", "cancelled"})


class Job(Base):
    """One unit of requested work. Committed before its task is sent to the broker."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_unsent", "status", "sent_at"),
        # An Idempotency-Key is scoped to the API key that sent it (its key id; "" when open).
        UniqueConstraint("idempotency_owner", "idempotency_key", name="uq_jobs_idempotency"),
        Index("ix_jobs_kind_status_created", "kind", "status", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    params: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    idempotency_owner: Mapped[str] = mapped_column(String(32), default="", server_default="")
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # The Celery task id of the attempt that claimed the job: a redelivery of that same
    # message may resume it, a duplicate message sent by the reaper may not.
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    # The id of the last message sent for the job (chosen before the send, so a cancel can
    # revoke it without a write after the publish).
    task_id: Mapped[str | None] = mapped_column(String(64))
    # When the last message was handed to the broker: set with the row, cleared when the
    # publish failed; the reaper re-sends what stays unsent or unclaimed.
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A running attempt owns the job until then; its heartbeat (or a chunk's commit) pushes
    # it on. An attempt whose lease ran out is dead: the reaper puts the job back in the queue.
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    send_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class JobChunk(Base):
    """One chunk of a fanned-out job: the request's item indexes it covers, and when it was done.

    A chunk is written in one transaction that also marks it done, so it is done at most
    once and the job's progress only grows; the job succeeds with its last chunk.
    """

    __tablename__ = "job_chunks"

    job_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    chunk_index: Mapped[int] = mapped_column(Integer, primary_key=True)
    items: Mapped[list[int]] = mapped_column(ARRAY(Integer))
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The process that wrote it ("host:pid"), to see a job spread over the workers.
    written_by: Mapped[str | None] = mapped_column(String(128))
