"""The job runtime: how every kind of job runs, whatever its work.

A worker task hands a job id to :func:`execute`, which claims the job in a short committed
transaction with a lease, runs its kind's work with a :class:`JobContext` while the process's
heartbeat thread renews the lease, and finishes the job with the work's result. The work
checks in at each unit (:meth:`JobContext.checkpoint`): a cancelled job, or one another
attempt took over, stops there. Nothing here knows Celery: the task layer supplies the task
id, retries transient errors and records other failures with :func:`app.jobs.service.fail`.
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


class _Heartbeats:
    """One thread per process renews the lease of every running attempt, each a third of a
    lease after its claim or its last renewal.

    A job that ends within a third of its lease (a one-game prediction) is never renewed and
    costs the thread nothing but its registration; the thread itself starts with the first
    job of a process (after any fork: a forked child has no threads of its parent).
    """

    def __init__(self) -> None:
        self._reset()
        # A child forked while the parent's thread held the lock must not inherit it held.
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._due: dict[int, tuple[float, JobContext]] = {}
        self._changed = threading.Condition()
        self._started = False

    def register(self, context: JobContext) -> None:
        interval = lease_duration().total_seconds() / 3
        with self._changed:
            if not self._started:
                self._started = True
                threading.Thread(target=self._run, name="heartbeats", daemon=True).start()
            earliest = min((due for due, _ in self._due.values()), default=None)
            self._due[id(context)] = (time.monotonic() + interval, context)
            if earliest is None or earliest > time.monotonic() + interval:
                self._changed.notify()

    def unregister(self, context: JobContext) -> None:
        with self._changed:
            self._due.pop(id(context), None)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                earliest = min((due for due, _ in self._due.values()), default=None)
                if earliest is None or earliest > now:
                    self._changed.wait(None if earliest is None else earliest - now)
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
    errors = _params_schema(kind.params).validate(params)
    if errors:
        fail(database_url, job_id, f"invalid params: {errors}")
        return False
    context = JobContext(job_id, task_id, params, database_url, resources, fan_out)
    _heartbeats.register(context)
    try:
        result = kind.work(context)
        if result is not None:
            with context.owned() as session:
                finish(session, job_id, result)
    except JobCancelled:
        log.info("job cancelled or taken over; stopped")
        return False
    finally:
        _heartbeats.unregister(context)
    log.info("job work done", extra={"kind": kind.name})
    return True
