"""The job lifecycle. Jobs are rows first and messages second.

A job is committed in PostgreSQL before its message is sent (the outbox); a send that
fails leaves it ``queued`` with ``sent_at`` cleared, and :func:`reap` sends it again.
A worker :func:`claim`s a job in a short transaction of its own, taking a lease that its
heartbeat renews; an attempt whose lease ran out is dead, and the reaper re-queues its job.
Every change to a finished status notifies waiting clients (``app.jobs.events``) in the
transaction that makes it.
"""

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any, Protocol

from psycopg.rows import namedtuple_row
from psycopg.types.json import Jsonb
from sqlalchemy import Row, func, select, update
from sqlalchemy.dialects.postgresql import Insert, insert
from sqlalchemy.orm import Session

from app.config import Settings
from app.db.session import autocommit_cursor, session_scope
from app.jobs.events import CHANNEL, publish_job_changed
from app.jobs.models import Job

log = logging.getLogger(__name__)

UNFINISHED = ("queued", "running")


@dataclass(frozen=True)
class JobMessage:
    """What a worker is sent: the job, its kind, and the message's own task id."""

    job_id: uuid.UUID
    kind: str
    task_id: str


class JobQueue(Protocol):
    """How committed jobs reach workers; injected (the Celery one is ``workers.dispatch``)."""

    def send(self, message: JobMessage) -> None:
        """Publish one job's message; raises when the broker is unreachable."""

    def revoke(self, task_ids: Sequence[str]) -> None:
        """Ask every worker to drop these task ids (best effort)."""

    def lost_messages(self) -> bool:
        """Whether the broker lost every message since the last call (it came back empty)."""


@cache
def lease_duration() -> timedelta:
    """How long an attempt owns its job without a sign of life (``BULLPEN_LEASE_SECONDS``).

    Heartbeats come every third of it; a worker killed outright loses the job to the reaper
    within a lease and a reap. Read once per process, from the environment its settings gave it.
    """
    return timedelta(seconds=Settings.from_env().lease_seconds)


class NamedKind(Protocol):
    """A job kind's declaration (``app.jobs.runtime.JobKind``), by which jobs are submitted."""

    name: str


class ShownJob(Protocol):
    """A job as the API shows it: a ``Job``, or the named tuple of its shown columns that
    :func:`read_job` and :func:`submit` read (``_SHOWN``)."""

    id: uuid.UUID
    kind: str
    status: str
    progress_done: int
    progress_total: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    error: str | None
    result: Any


class JobNotFound(LookupError):
    """No job has that id."""


class IdempotencyConflict(ValueError):
    """An Idempotency-Key was reused for a different request."""


def _insert_job(
    kind: str, params: dict[str, Any], *, idempotency_key: str | None, owner: str, total: int
) -> Insert:
    """The INSERT of a queued job (nothing on a taken Idempotency-Key)."""
    values: dict[str, Any] = {
        "id": uuid.uuid4(),
        "kind": kind,
        "status": "queued",
        "params": params,
        "idempotency_key": idempotency_key,
        "idempotency_owner": owner,
        "progress_total": total,
        "progress_done": 0,
        "attempts": 0,
        "send_count": 1,
        "task_id": str(uuid.uuid4()),
        # Optimistic: cleared by publish() when the send fails (one write, not two, per job).
        "sent_at": datetime.now(UTC),
    }
    statement = insert(Job).values(values)
    if idempotency_key is None:
        return statement
    return statement.on_conflict_do_nothing(
        index_elements=[Job.idempotency_owner, Job.idempotency_key]
    )


def _same_request(job: Job | Row, kind: str, params: dict[str, Any]) -> Job | Row:
    if job.kind != kind or job.params != params:
        raise IdempotencyConflict("this Idempotency-Key was already used for a different request")
    return job


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
    statement = _insert_job(
        kind, params, idempotency_key=idempotency_key, owner=owner, total=total
    ).returning(Job)
    inserted = session.scalars(statement).one_or_none()
    if inserted is not None:
        return inserted, True
    job = session.scalars(
        select(Job).where(Job.idempotency_owner == owner, Job.idempotency_key == idempotency_key)
    ).one()
    return _same_request(job, kind, params), False


# What an enqueue reads back of the row it wrote: the job as the API shows it (``_SHOWN``),
# and its message's task id.
_SHOWN = """id, kind, status, progress_done, progress_total, created_at, started_at,
    finished_at, error, result"""
_SUBMITTED = f"{_SHOWN}, task_id"

# The enqueue's INSERT as SQL text, sent as is (building and compiling the same statement
# with SQLAlchemy Core every time was about a quarter of an enqueue's CPU). ``{only_if}`` is a
# WHERE on other tables, ``{conflict}`` the Idempotency-Key's ON CONFLICT.
_SUBMIT = f"""
    INSERT INTO jobs (id, kind, status, params, idempotency_key, idempotency_owner,
        progress_total, progress_done, attempts, send_count, task_id, sent_at)
    SELECT %(id)s, %(kind)s, 'queued', %(params)s, %(key)s, %(owner)s, %(total)s, 0, 0, 1,
        %(task_id)s, now()  -- sent_at: optimistic, as in _insert_job
    {{only_if}}
    {{conflict}}
    RETURNING {_SUBMITTED}
"""
# Only if the stored game exists and is not retired (``only_if_game``).
_GAME_EXISTS = "WHERE EXISTS (SELECT 1 FROM games WHERE id = %(game_id)s AND retired_at IS NULL)"
_ON_KEY = "ON CONFLICT (idempotency_owner, idempotency_key) DO NOTHING"
_SUBMIT_SQL = {
    (game, key): _SUBMIT.format(
        only_if=_GAME_EXISTS if game else "", conflict=_ON_KEY if key else ""
    )
    for game in (False, True)
    for key in (False, True)
}
# The job an Idempotency-Key made before.
_EARLIER = f"""SELECT {_SUBMITTED}, params FROM jobs
    WHERE idempotency_owner = %(owner)s AND idempotency_key = %(key)s"""


def submit(
    database_url: str,
    kind: NamedKind,
    params: dict[str, Any],
    queue: JobQueue,
    *,
    idempotency_key: str | None = None,
    owner: str = "",
    total: int = 0,
    only_if_game: int | None = None,
) -> Any:
    """Commit a job of ``kind``, then hand it to the broker; a broker failure leaves it for
    the reaper. The job's row (a named tuple of ``Job``'s columns, ``params`` aside), or None
    when ``only_if_game`` names a game that is not stored.

    One statement on one pooled connection in autocommit, without the ORM or SQLAlchemy's
    result objects: the INSERT ... RETURNING is its own transaction, durable when it answers,
    so the job is committed before its message is sent without a BEGIN and a COMMIT round
    trip; the game's existence is checked by the same statement. On a taken
    Idempotency-Key, the job made then.
    """
    sql = _SUBMIT_SQL[only_if_game is not None, idempotency_key is not None]
    values = {
        "id": uuid.uuid4(), "kind": kind.name, "params": Jsonb(params), "key": idempotency_key,
        "owner": owner, "total": total, "task_id": str(uuid.uuid4()), "game_id": only_if_game,
    }  # fmt: skip
    with autocommit_cursor(database_url, row_factory=namedtuple_row) as cursor:
        job = cursor.execute(sql, values).fetchone()
        if job is None and idempotency_key is not None:
            earlier = cursor.execute(_EARLIER, values).fetchone()
            # None: the game is not stored
            return None if earlier is None else _same_request(earlier, kind.name, params)
    if job is not None:
        publish(database_url, job, queue)
    return job


def publish(database_url: str, job: Job | Row, queue: JobQueue) -> bool:
    """Send a committed job's message; when the broker refuses it, mark it unsent."""
    try:
        queue.send(JobMessage(job.id, job.kind, job.task_id))
        return True
    except Exception:  # any broker or network failure: the outbox row is the safety net
        log.warning("job not sent; the reaper will", extra={"job_id": str(job.id)})
        with session_scope(database_url) as session:
            session.execute(
                update(Job).where(Job.id == job.id, Job.task_id == job.task_id).values(sent_at=None)
            )
        return False


# A job as the API shows it, by id.
_READ_JOB = f"SELECT {_SHOWN} FROM jobs WHERE id = %(id)s"


def read_job(database_url: str, job_id: uuid.UUID) -> ShownJob | None:
    """The job as the API shows it (a named tuple of the columns shown), or None: one
    autocommit statement on a pooled connection's cursor (no BEGIN and COMMIT round trips;
    a poll reads a job once per wake-up), without SQLAlchemy's ``Connection`` and result
    (whose description of the columns, made anew for each statement of SQL text, cost a
    third of a read's CPU)."""
    with autocommit_cursor(database_url, row_factory=namedtuple_row) as cursor:
        return cursor.execute(_READ_JOB, {"id": job_id}).fetchone()


def get_job(session: Session, job_id: uuid.UUID) -> Job:
    job = session.get(Job, job_id)
    if job is None:
        raise JobNotFound(str(job_id))
    return job


def claim(session: Session, job_id: uuid.UUID, task_id: str) -> Job | None:
    """Take a job for task ``task_id`` with a fresh lease; commit it at once.

    A queued job may be taken; a running one only by a redelivery of the message that
    claimed it, or by anyone once its lease ran out (its attempt is dead). None otherwise:
    the job ended, was cancelled, or another attempt is alive (a duplicate message).
    """
    now = func.now()
    claimable = (Job.status == "queued") | (
        (Job.status == "running") & ((Job.claimed_by == task_id) | (Job.lease_expires_at < now))
    )
    return session.scalars(
        update(Job)
        .where(Job.id == job_id, claimable)
        .values(
            status="running",
            claimed_by=task_id,
            started_at=func.coalesce(Job.started_at, now),
            attempts=Job.attempts + 1,
            lease_expires_at=now + lease_duration(),
        )
        .returning(Job)
    ).one_or_none()


# The claim of :func:`claim_now`: the condition of :func:`claim`, one statement.
_CLAIM = """
    UPDATE jobs SET status = 'running', claimed_by = %(task_id)s,
        started_at = coalesce(started_at, now()), attempts = attempts + 1,
        lease_expires_at = now() + CAST(%(lease)s AS interval)
    WHERE id = %(job_id)s AND (status = 'queued' OR (status = 'running'
        AND (claimed_by = %(task_id)s OR lease_expires_at < now())))
    RETURNING id, kind, params, attempts, task_id
"""

# The claim with mates: the job as above, then (when it holds a one-item list under ``key``)
# up to ``mates`` other jobs of its kind whose params differ only by their own one-item list,
# queued or already claimed by this same task (a redelivery of a micro-batch's message),
# oldest first, SKIP LOCKED (another worker's claim is never waited for). One statement.
_CLAIM_WITH_MATES = f"""
    WITH leader AS ({_CLAIM}),
    mates AS (
        SELECT jobs.id FROM jobs, leader
        WHERE jobs.kind = leader.kind AND jobs.id <> leader.id
          AND (jobs.status = 'queued'
               OR (jobs.status = 'running' AND jobs.claimed_by = %(task_id)s))
          AND CASE WHEN jsonb_typeof(leader.params -> CAST(%(key)s AS text)) = 'array'
                   THEN jsonb_array_length(leader.params -> CAST(%(key)s AS text)) END = 1
          AND CASE WHEN jsonb_typeof(jobs.params -> CAST(%(key)s AS text)) = 'array'
                   THEN jsonb_array_length(jobs.params -> CAST(%(key)s AS text)) END = 1
          AND jobs.params - CAST(%(key)s AS text) = leader.params - CAST(%(key)s AS text)
        ORDER BY jobs.created_at
        LIMIT %(mates)s
        FOR UPDATE OF jobs SKIP LOCKED
    ),
    taken AS (
        UPDATE jobs SET status = 'running', claimed_by = %(task_id)s,
            started_at = coalesce(jobs.started_at, now()), attempts = jobs.attempts + 1,
            lease_expires_at = now() + CAST(%(lease)s AS interval)
        FROM mates WHERE jobs.id = mates.id
        RETURNING jobs.id, jobs.kind, jobs.params, jobs.attempts, jobs.task_id,
            jobs.created_at
    )
    SELECT id, kind, params, attempts, task_id FROM leader
    UNION ALL
    SELECT id, kind, params, attempts, task_id
    FROM (SELECT * FROM taken ORDER BY created_at) AS ordered
"""


def claim_now(
    database_url: str, job_id: uuid.UUID, task_id: str, *, mates: int = 0, key: str = ""
) -> list[Any]:
    """:func:`claim` in one autocommit statement (durable when it answers: no BEGIN and
    COMMIT round trips), and with ``mates`` > 0 a micro-batch: up to ``mates`` other queued
    jobs of the same kind whose params differ from this one's only by a one-item list under
    ``key`` (this one's being one item too), claimed for the same task with the same lease.

    Named tuples of ``(id, kind, params, attempts, task_id)`` (``task_id``: the job's last
    message; read on a pooled connection's cursor, as :func:`read_job` reads), this job
    first; empty when this job was not claimable (then no mate is taken either).
    """
    values = {"job_id": job_id, "task_id": task_id, "lease": lease_duration()}
    if mates > 0:
        sql, values = _CLAIM_WITH_MATES, {**values, "mates": mates, "key": key}
    else:
        sql = _CLAIM
    with autocommit_cursor(database_url, row_factory=namedtuple_row) as cursor:
        return cursor.execute(sql, values).fetchall()


def finishing_owned(
    job_ids: Sequence[uuid.UUID], owner: str, result: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    """The statement (and its values) that marks several jobs succeeded as :func:`finish`
    does, each only while task ``owner`` runs it (the rows stay locked until the transaction
    ends, so nothing else changes them meanwhile); sent with others
    (``app.db.session.pipelined``), it answers a row (``id``) for each job finished."""
    values = {"ids": list(job_ids), "owner": owner, "result": Jsonb(result)}
    return _SUCCEED_OWNED_JOBS, values


# The UPDATE that marks jobs succeeded, notifying their waiters on commit (the notification
# in ``RETURNING``: no round trip of its own); ``{where}`` picks the jobs. SQL text sent as
# is: the ORM's bulk UPDATE built and compiled for every job was a tenth of a one-game
# job's CPU in its worker.
_SUCCEED = f"""
    UPDATE jobs SET status = 'succeeded', result = %(result)s, finished_at = now(),
        progress_done = progress_total, lease_expires_at = NULL
    WHERE {{where}}
    RETURNING id, pg_notify('{CHANNEL}', CAST(id AS text))
"""
_SUCCEED_UNFINISHED_JOB = _SUCCEED.format(where="id = %(id)s AND status IN ('queued', 'running')")
_SUCCEED_OWNED_JOB = _SUCCEED.format(
    where="id = %(id)s AND status = 'running' AND claimed_by = %(owner)s"
)
_SUCCEED_OWNED_JOBS = _SUCCEED.format(
    where="id = ANY(%(ids)s) AND status = 'running' AND claimed_by = %(owner)s"
)


def _succeed(session: Session, sql: str, values: dict[str, Any]) -> list[Row]:
    """Run one of the ``_SUCCEED`` statements in ``session``'s transaction; the jobs marked."""
    return list(session.connection().exec_driver_sql(sql, values))


def renew_lease(
    session: Session, job_id: uuid.UUID, task_id: str, lease: timedelta | None = None
) -> bool:
    """Push the lease of ``task_id``'s attempt on (by ``lease``, or the configured one);
    False when the job is no longer its own."""
    renewed = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status == "running", Job.claimed_by == task_id)
        .values(lease_expires_at=func.now() + (lease or lease_duration()))
    ).rowcount
    return renewed == 1


def set_progress(session: Session, job_id: uuid.UUID, done: int, total: int) -> None:
    session.execute(
        update(Job).where(Job.id == job_id).values(progress_done=done, progress_total=total)
    )


def lock_if_owned(session: Session, job_id: uuid.UUID, task_id: str) -> bool:
    """Lock the job row for the rest of the transaction if ``task_id`` still runs it.

    A cancel waits on this lock, so whatever the transaction then does (a promotion, the
    last write) happens entirely before the cancel or not at all.
    """
    row = session.execute(
        select(Job.status, Job.claimed_by).where(Job.id == job_id).with_for_update()
    ).one_or_none()
    return row is not None and row.status == "running" and row.claimed_by == task_id


def finish(
    session: Session,
    job_id: uuid.UUID,
    result: dict[str, Any] | None = None,
    *,
    owner: str | None = None,
) -> bool:
    """Mark an unfinished job succeeded (only while task ``owner`` runs it, when given);
    False when it had ended, was cancelled or was taken over."""
    return len(_succeed(session, *finishing(job_id, result, owner=owner))) == 1


def finishing(
    job_id: uuid.UUID, result: dict[str, Any] | None, *, owner: str | None = None
) -> tuple[str, dict[str, Any]]:
    """:func:`finish`'s statement and its values, to send with others
    (``app.db.session.pipelined``): a row when the job was finished."""
    values = {"id": job_id, "owner": owner, "result": Jsonb(result)}
    return (_SUCCEED_UNFINISHED_JOB if owner is None else _SUCCEED_OWNED_JOB), values


def fail(database_url: str, job_id: uuid.UUID, error: str) -> None:
    """Mark a job failed, in a transaction of its own (the task's one was rolled back)."""
    with session_scope(database_url) as session:
        failed = session.execute(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(UNFINISHED))
            .values(
                status="failed", error=error[:4000], finished_at=func.now(), lease_expires_at=None
            )
        ).rowcount
        if failed:
            publish_job_changed(session, job_id)


def cancel(database_url: str, job_id: uuid.UUID, queue: JobQueue) -> Job:
    """Cancel a job that has not finished, and revoke its message; a finished job is returned
    unchanged. Work already running stops at its next unit (``app.jobs.runtime``)."""
    with session_scope(database_url) as session:
        job = session.scalars(
            update(Job)
            .where(Job.id == job_id, Job.status.in_(UNFINISHED))
            .values(status="cancelled", finished_at=func.now(), lease_expires_at=None)
            .returning(Job)
        ).one_or_none()
        if job is None:
            return get_job(session, job_id)
        publish_job_changed(session, job_id)
    task_ids = [task_id for task_id in {job.task_id, job.claimed_by} if task_id]
    try:
        queue.revoke(task_ids)
    except Exception:  # the status is what counts; a revoke only saves a worker the claim
        log.warning("revoke failed", extra={"job_id": str(job_id)})
    return job


def requeue_expired(session: Session, *, max_attempts: int) -> int:
    """Put back in the queue running jobs whose lease ran out (their attempt died with its
    message); a job that used up ``max_attempts`` fails instead. Returns how many were requeued.
    """
    expired = (Job.status == "running") & (Job.lease_expires_at < func.now())
    failed_ids = session.scalars(
        update(Job)
        .where(expired, Job.attempts >= max_attempts)
        .values(
            status="failed",
            error=f"no attempt finished; gave up after {max_attempts}",
            finished_at=func.now(),
            lease_expires_at=None,
        )
        .returning(Job.id)
    ).all()
    for job_id in failed_ids:
        publish_job_changed(session, job_id)
    return session.execute(
        update(Job)
        .where(expired)
        .values(status="queued", claimed_by=None, sent_at=None, lease_expires_at=None)
    ).rowcount


def jobs_to_resend(session: Session, *, unclaimed_for: timedelta, limit: int = 1000) -> list[Job]:
    """Queued jobs never sent (or whose send failed), or sent longer ago than
    ``unclaimed_for`` and still not claimed; each gets a new message id and send time."""
    cutoff = datetime.now(UTC) - unclaimed_for
    lost = (
        select(Job.id)
        .where(Job.status == "queued", (Job.sent_at.is_(None)) | (Job.sent_at < cutoff))
        .order_by(Job.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(
        session.scalars(
            update(Job)
            .where(Job.id.in_(lost.scalar_subquery()))
            .values(
                task_id=func.gen_random_uuid().cast(Job.task_id.type),
                sent_at=func.now(),
                send_count=Job.send_count + 1,
            )
            .returning(Job)
        )
    )


def reap(
    database_url: str,
    queue: JobQueue,
    *,
    unclaimed_for: timedelta,
    max_attempts: int = 3,
) -> int:
    """Re-send every lost job (unsent, unclaimed, or whose attempt's lease ran out);
    returns how many were sent. A broker that came back empty lost every queued job's
    message: those are sent again at once rather than after ``unclaimed_for``."""
    if queue.lost_messages():
        unclaimed_for = timedelta(0)
    with session_scope(database_url) as session:
        requeue_expired(session, max_attempts=max_attempts)
        lost = jobs_to_resend(session, unclaimed_for=unclaimed_for)
    return sum(publish(database_url, job, queue) for job in lost)
