"""The job runtime: how every kind of job runs, whatever its work.

A worker task hands a job id to :func:`execute`, which claims the job with a lease in one
autocommit statement (committed when it answers), runs its kind's work with a
:class:`JobContext` while the process's heartbeat thread renews the lease, and finishes the
job with the work's result. The work checks in at each unit (:meth:`JobContext.checkpoint`):
a cancelled job, or one another attempt took over, stops there. A kind with a
:class:`MicroBatch` (one-game predictions) claims other queued one-item jobs with a one-item
job and runs them together: the per-job round trips and Python of a one-game job are paid
once per batch. Nothing here knows Celery: the task layer supplies the task id, retries
transient errors and records other failures with :func:`app.jobs.service.fail`.
"""

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import marshmallow as ma
from sqlalchemy.orm import Session

from app.db.session import session_scope
from app.jobs.service import (
    claim_now,
    fail,
    finish,
    lease_duration,
    lock_if_owned,
    renew_lease,
    set_progress,
)
from app.outages import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

# Sends a fanned-out job's chunks (by index) to the workers; supplied by the task layer.
FanOut = Callable[[uuid.UUID, Sequence[int]], None]
# Drops messages not yet delivered (by task id), best effort; supplied by the task layer.
Dismiss = Callable[[Sequence[str]], None]


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
class MicroBatch:
    """How the one-item jobs of a kind run together: the claim of such a job takes up to
    ``mates`` other queued jobs of its kind whose params differ from its own only by their
    one-item list under ``key`` (``app.jobs.service.claim_now``), and ``work`` runs them all,
    finishing in one transaction those the claiming task still owns. A mate's own message,
    when it comes, finds its job running or ended and is skipped."""

    key: str
    mates: int
    work: Callable[[list[JobContext]], None]


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
    # For a kind whose one-item jobs may run together (a one-game prediction).
    micro_batch: "MicroBatch | None" = None

    @property
    def task_name(self) -> str:
        return f"tasks.jobs.{self.name}"

    @property
    def chunk_task_name(self) -> str:
        return f"tasks.jobs.{self.name}_chunk"


class _Heartbeats:
    """One thread per process renews the lease of every running attempt, each a third of a
    lease after its claim or its last renewal.

    A job that ends within a third of its lease (a one-game prediction) is never renewed and
    costs the thread nothing but its registration: the thread never sleeps longer than a
    third of a lease, so it wakes by a new job's first renewal anyway and a registration does
    not wake it (which cost every one-game job a switch to the thread and back). The thread
    itself starts with the first job of a process (after any fork: a forked child has no
    threads of its parent).
    """

    def __init__(self, name: str = "heartbeats") -> None:
        self.name = name  # the thread's
        self._reset()
        # A child forked while the parent's thread held the lock must not inherit it held.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._due: dict[int, tuple[float, JobContext]] = {}
        self._changed = threading.Condition()
        self._started = False
        self._wake_at: float | None = None  # while the thread sleeps: when it wakes

    def register(self, context: JobContext) -> None:
        due = time.monotonic() + lease_duration().total_seconds() / 3
        with self._changed:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name=self.name, daemon=True).start()
            self._due[id(context)] = (due, context)
            if self._wake_at is not None and self._wake_at > due:
                self._changed.notify()

    def unregister(self, context: JobContext) -> None:
        with self._changed:
            self._due.pop(id(context), None)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                idle = now + lease_duration().total_seconds() / 3
                earliest = min((due for due, _ in self._due.values()), default=idle)
                if earliest > now:
                    self._wake_at = earliest
                    self._changed.wait(earliest - now)
                    self._wake_at = None
                    continue
                due = [context for at, context in self._due.values() if at <= now]
            for context in due:
                self._beat(context)

    def _beat(self, context: JobContext) -> None:
        try:
            alive = context._renew()
        except Exception:  # a database blip: the next beat tries again
            log.warning("lease renewal failed", exc_info=True)
            alive = True
        if not alive:
            context._lost.set()
        with self._changed:
            if id(context) in self._due:
                if alive:
                    next_due = time.monotonic() + lease_duration().total_seconds() / 3
                    self._due[id(context)] = (next_due, context)
                else:
                    del self._due[id(context)]


_heartbeats = _Heartbeats()


@cache
def _params_schema(schema: type[ma.Schema]) -> ma.Schema:
    """One instance per params schema (building a marshmallow schema costs more than using it)."""
    return schema()


def execute(
    kind: JobKind,
    job_id: uuid.UUID,
    task_id: str,
    database_url: str,
    resources: Any,
    fan_out: FanOut | None = None,
    dismiss: Dismiss | None = None,
) -> bool:
    """Claim the job (with the mates of a micro-batch, for a kind that has them), run its
    work under a heartbeat, finish it. False when it was not ours to run (ended, cancelled,
    or alive under another attempt) or was cancelled on the way. After a micro-batch, its
    mates' own messages are ``dismiss``ed: each would only find its job ended.
    """
    batch = kind.micro_batch
    claimed = claim_now(
        database_url, job_id, task_id,
        mates=batch.mates if batch else 0, key=batch.key if batch else "",
    )  # fmt: skip
    if not claimed:
        log.info("job not claimable; skipped")
        return False
    contexts = []
    for job in claimed:
        log.info("job claimed", extra={"kind": kind.name, "attempt": job.attempts,
                                       "claimed_job": str(job.id)})  # fmt: skip
        errors = _params_schema(kind.params).validate(job.params)
        if errors:
            fail(database_url, job.id, f"invalid params: {errors}")
            continue
        contexts.append(JobContext(job.id, task_id, job.params, database_url, resources, fan_out))
    if len(contexts) > 1:
        _run_together(kind, contexts)
        if dismiss is not None:
            try:
                dismiss([job.task_id for job in claimed[1:] if job.task_id])
            except Exception:  # a message not dismissed is skipped when it comes
                log.warning("mates' messages not dismissed", exc_info=True)
        return True
    return bool(contexts) and _run(kind, contexts[0])


def _run(kind: JobKind, context: JobContext) -> bool:
    """One claimed job's work, under the heartbeat; False when it was cancelled on the way."""
    _heartbeats.register(context)
    try:
        result = kind.work(context)
        if result is not None:
            with context.owned() as session:
                finish(session, context.job_id, result)
    except JobCancelled:
        log.info("job cancelled or taken over; stopped")
        return False
    finally:
        _heartbeats.unregister(context)
    log.info("job work done", extra={"kind": kind.name})
    return True


def _run_together(kind: JobKind, contexts: list[JobContext]) -> None:
    """A micro-batch's work, under the heartbeat. When it fails for any reason but an outage,
    each job runs alone instead, so that one job that cannot succeed fails alone (with the
    error it would have had alone) and takes no other job's attempts with it. An outage is
    raised: the task retries the whole claim (its redelivery takes its mates back)."""
    for context in contexts:
        _heartbeats.register(context)
    try:
        kind.micro_batch.work(contexts)
        log.info("micro-batch done", extra={"kind": kind.name, "jobs": len(contexts)})
        return
    except TRANSIENT_ERRORS:
        raise
    except Exception:
        log.warning("micro-batch failed; its jobs run one by one", exc_info=True)
    finally:
        for context in contexts:
            _heartbeats.unregister(context)
    for context in contexts:
        try:
            _run(kind, context)
        except TRANSIENT_ERRORS:
            raise
        except Exception as error:  # as the task layer records a job's own failure
            log.exception("job failed", extra={"claimed_job": str(context.job_id)})
            fail(context.database_url, context.job_id, f"{type(error).__name__}: {error}")
