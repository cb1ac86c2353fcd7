"""The job lifecycle. Jobs are rows first and messages second.

A job is committed in PostgreSQL before its task is sent (the outbox); a sender
that fails leaves it ``queued`` with ``sent_at`` unset, and :func:`jobs_to_resend`
finds it again. Tasks :func:`claim` a job before working and :func:`finish` it in
the same transaction as their last write, so a redelivered message is harmless.
"""

import logging
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.db.session import session_scope
from app.jobs.models import FINISHED_STATUSES, Job

log = logging.getLogger(__name__)

# Called with a job's id and kind after its row is committed; raises when the broker is down.
Sender = Callable[[uuid.UUID, str], None]


class JobNotFound(LookupError):
    """No job has that id."""


class IdempotencyConflict(ValueError):
    """An Idempotency-Key was reused for a different request."""


def create_job(
    session: Session,
    kind: str,
    params: dict[str, Any],
    *,
    idempotency_key: str | None = None,
    owner: str = "",
    total: int = 0,
) -> tuple[Job, bool]:
    """Insert a queued job, or return the one ``owner`` already made for ``idempotency_key``.

    ``owner`` is the key id of the API key (``""`` when open): one key's Idempotency-Key
    never returns another key's job. Returns the job and whether it was created now.
    """
    if idempotency_key is not None:
        inserted = session.execute(
            insert(Job)
            .values(
                id=uuid.uuid4(),
                kind=kind,
                status="queued",
                params=params,
                idempotency_key=idempotency_key,
                idempotency_owner=owner,
                progress_total=total,
            )
            .on_conflict_do_nothing(index_elements=[Job.idempotency_owner, Job.idempotency_key])
            .returning(Job.id)
        ).scalar_one_or_none()
        job = session.scalars(
            select(Job).where(
                Job.idempotency_owner == owner, Job.idempotency_key == idempotency_key
            )
        ).one()
        if inserted is None and (job.kind != kind or job.params != params):
            raise IdempotencyConflict(
                "this Idempotency-Key was already used for a different request"
            )
        return job, inserted is not None
    job = Job(id=uuid.uuid4(), kind=kind, status="queued", params=params, progress_total=total)
    session.add(job)
    session.flush()
    return job, True


def submit(
    database_url: str,
    kind: str,
    params: dict[str, Any],
    send: Sender,
    *,
    idempotency_key: str | None = None,
    owner: str = "",
    total: int = 0,
) -> Job:
    """Commit a job, then hand it to the broker. A broker failure leaves it for the reaper."""
    with session_scope(database_url) as session:
        job, created = create_job(
            session, kind, params, idempotency_key=idempotency_key, owner=owner, total=total
        )
    if created:
        sent = dispatch(database_url, job.id, kind, send)
        log.info("job submitted", extra={"job_id": str(job.id), "kind": kind, "sent": sent})
    return job


def dispatch(database_url: str, job_id: uuid.UUID, kind: str, send: Sender) -> bool:
    """Send one committed job; record the send. Returns False when the broker refused it."""
    try:
        send(job_id, kind)
    except Exception:  # any broker or network failure: the outbox row is the safety net
        return False
    with session_scope(database_url) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(sent_at=func.now(), send_count=Job.send_count + 1)
        )
    return True


def get_job(session: Session, job_id: uuid.UUID) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(str(job_id))
    return job


def claim(session: Session, job_id: uuid.UUID, task_id: str) -> Job | None:
    """Mark a job running for task ``task_id``.

    None when the job is finished or cancelled, or running under another task
    (a duplicate message): only a redelivery of the claiming message may resume it.
    """
    return session.scalars(
        update(Job)
        .where(
            Job.id == job_id,
            (Job.status == "queued") | ((Job.status == "running") & (Job.claimed_by == task_id)),
        )
        .values(
            status="running",
            claimed_by=task_id,
            started_at=func.now(),  # of this attempt: the reaper judges staleness by it
            attempts=Job.attempts + 1,
        )
        .returning(Job)
    ).one_or_none()


def set_progress(session: Session, job_id: uuid.UUID, done: int, total: int) -> None:
    session.execute(
        update(Job).where(Job.id == job_id).values(progress_done=done, progress_total=total)
    )


def is_cancelled(session: Session, job_id: uuid.UUID) -> bool:
    return session.scalar(select(Job.status).where(Job.id == job_id)) == "cancelled"


def finish(session: Session, job_id: uuid.UUID, result: dict[str, Any] | None = None) -> None:
    """Mark a running job succeeded (a cancelled one stays cancelled)."""
    session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running")
        .values(
            status="succeeded",
            result=result,
            finished_at=func.now(),
            progress_done=Job.progress_total,
        )
    )


def fail(database_url: str, job_id: uuid.UUID, error: str) -> None:
    """Mark a job failed, in a transaction of its own (the task's one was rolled back)."""
    with session_scope(database_url) as session:
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(("queued", "running")))
            .values(status="failed", error=error[:4000], finished_at=func.now())
        )


def cancel(session: Session, job_id: uuid.UUID) -> Job:
    """Cancel a job that has not finished; a finished job is returned unchanged."""
    job = get_job(session, job_id)
    if job.status not in FINISHED_STATUSES:
        job.status = "cancelled"
        job.finished_at = datetime.now(UTC)
    return job


def jobs_to_resend(session: Session, *, unclaimed_for: timedelta) -> list[tuple[uuid.UUID, str]]:
    """Queued jobs never sent, or sent longer ago than ``unclaimed_for`` and not yet claimed."""
    cutoff = datetime.now(UTC) - unclaimed_for
    rows = session.execute(
        select(Job.id, Job.kind)
        .where(Job.status == "queued", (Job.sent_at.is_(None)) | (Job.sent_at < cutoff))
        .order_by(Job.created_at)
        .limit(1000)
    )
    return [(row.id, row.kind) for row in rows]


def requeue_stale(session: Session, *, running_for: timedelta, max_attempts: int) -> int:
    """Put back in the queue jobs whose attempt outlived any task's time limit.

    Such an attempt is dead (Celery kills a task at its hard time limit) and its
    message was lost with it; a job that used up ``max_attempts`` fails instead.
    """
    cutoff = datetime.now(UTC) - running_for
    stale = (Job.status == "running") & (Job.started_at < cutoff)
    session.execute(
        update(Job)
        .where(stale, Job.attempts >= max_attempts)
        .values(
            status="failed",
            error=f"no attempt finished; gave up after {max_attempts}",
            finished_at=func.now(),
        )
    )
    return session.execute(
        update(Job).where(stale).values(status="queued", claimed_by=None, sent_at=None)
    ).rowcount


def reap(
    database_url: str,
    send: Sender,
    *,
    unclaimed_for: timedelta,
    running_for: timedelta,
    max_attempts: int = 3,
) -> int:
    """Re-send every lost job (unsent, unclaimed, or stuck running); returns how many were sent."""
    with session_scope(database_url) as session:
        requeue_stale(session, running_for=running_for, max_attempts=max_attempts)
        lost = jobs_to_resend(session, unclaimed_for=unclaimed_for)
    return sum(dispatch(database_url, job_id, kind, send) for job_id, kind in lost)


def run_job(
    database_url: str,
    job_id: uuid.UUID,
    task_id: str,
    work: Callable[[Session, dict[str, Any]], dict[str, Any]],
) -> bool:
    """Claim a job, run ``work(session, params)`` and finish with its result, in one transaction.

    For jobs whose work is one unit; returns False when the job was not claimable.
    """
    with session_scope(database_url) as session:
        job = claim(session, job_id, task_id)
        if job is None:
            return False
        result = work(session, job.params)
        finish(session, job_id, result)
    return True
