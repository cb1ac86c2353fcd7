"""The job runtime: how every kind of job runs, whatever its work.

A worker task hands a job id to :func:`execute`, which claims the job in a short committed
transaction with a lease, runs its kind's work with a :class:`JobContext` while a heartbeat
renews the lease, and finishes the job with the work's result. The work checks in at each
unit (:meth:`JobContext.checkpoint`): a cancelled job, or one another attempt took over,
stops there. Nothing here knows Celery: the task layer supplies the task id, retries
transient errors and records other failures with :func:`app.jobs.service.fail`.
"""

import logging
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import marshmallow as ma
from sqlalchemy.orm import Session

from app.db.session import session_scope
from app.jobs.service import (
    claim,
    fail,
    finish,
    lease_duration,
    lock_if_owned,
    renew_lease,
    set_progress,
)

log = logging.getLogger(__name__)

# Sends a fanned-out job's chunks (by index) to the workers; supplied by the task layer.
FanOut = Callable[[uuid.UUID, Sequence[int]], None]


class JobCancelled(Exception):
    """The job is no longer this attempt's: cancelled, or taken over after a lost lease."""


@dataclass
class JobContext:
    """What a kind's work gets: the job, its params, the process's resources, and check-ins."""

    job_id: uuid.UUID
    task_id: str
    params: dict[str, Any]
    database_url: str
    resources: Any
    fan_out: FanOut | None = None
    _lost: threading.Event = field(default_factory=threading.Event)

    def checkpoint(self) -> None:
        """Between units of work: renew the lease, or stop if the job is no longer ours."""
        if self._lost.is_set() or not self._renew():
            raise JobCancelled(str(self.job_id))

    def progress(self, done: int, total: int) -> None:
        """Record progress (and check in)."""
        self.checkpoint()
        with session_scope(self.database_url) as session:
            set_progress(session, self.job_id, done, total)

    @contextmanager
    def owned(self) -> Iterator[Session]:
        """A transaction holding the job row, entered only while the job is still ours.

        A cancel waits for it to end: what it writes (the last results, a promotion, the
        job's success) happens wholly before the cancel or not at all.
        """
        with session_scope(self.database_url) as session:
            if not lock_if_owned(session, self.job_id, self.task_id):
                raise JobCancelled(str(self.job_id))
            yield session

    def _renew(self) -> bool:
        with session_scope(self.database_url) as session:
            return renew_lease(session, self.job_id, self.task_id)


@dataclass(frozen=True)
class JobKind:
    """One kind of job, declared once: everything the API, the workers and the reaper need."""

    name: str
    # The Celery queue its messages go to (a worker pool per queue).
    queue: str
    # What its params must look like (checked when a worker takes the job).
    params: type[ma.Schema]
    # The work: returns the job's result, or None when it finished the job itself.
    work: Callable[[JobContext], dict[str, Any] | None]
    soft_time_limit: int
    time_limit: int
    # For a kind that fans out: runs one chunk of a job (resources, job id, chunk index).
    chunk: Callable[[Any, uuid.UUID, int], None] | None = None

    @property
    def task_name(self) -> str:
        return f"tasks.jobs.{self.name}"

    @property
    def chunk_task_name(self) -> str:
        return f"tasks.jobs.{self.name}_chunk"


class _Heartbeat(threading.Thread):
    """Renews a running attempt's lease every third of it until stopped."""

    def __init__(self, context: JobContext) -> None:
        super().__init__(name=f"heartbeat-{context.job_id}", daemon=True)
        self.context = context
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(lease_duration().total_seconds() / 3):
            try:
                if not self.context._renew():
                    self.context._lost.set()
                    return
            except Exception:  # a database blip: the next beat tries again
                log.warning("lease renewal failed", exc_info=True)


def execute(
    kind: JobKind,
    job_id: uuid.UUID,
    task_id: str,
    database_url: str,
    resources: Any,
    fan_out: FanOut | None = None,
) -> bool:
    """Claim the job, run its work under a heartbeat, finish it. False when it was not ours
    to run (ended, cancelled, or alive under another attempt) or was cancelled on the way.
    """
    with session_scope(database_url) as session:
        job = claim(session, job_id, task_id)
        if job is None:
            log.info("job not claimable; skipped")
            return False
        params, attempt = job.params, job.attempts
    log.info("job claimed", extra={"kind": kind.name, "attempt": attempt})
    errors = kind.params().validate(params)
    if errors:
        fail(database_url, job_id, f"invalid params: {errors}")
        return False
    context = JobContext(job_id, task_id, params, database_url, resources, fan_out)
    heartbeat = _Heartbeat(context)
    heartbeat.start()
    try:
        result = kind.work(context)
        if result is not None:
            with context.owned() as session:
                finish(session, job_id, result)
    except JobCancelled:
        log.info("job cancelled or taken over; stopped")
        return False
    finally:
        heartbeat.stopped.set()
    log.info("job work done", extra={"kind": kind.name})
    return True
