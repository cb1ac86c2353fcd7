"""Job-change notifications: PostgreSQL NOTIFY when a change commits, one LISTEN per process.

Writers call :func:`publish_job_changed` inside the transaction that changes a job;
PostgreSQL delivers the notification only if that transaction commits. Readers share
one :class:`JobEvents` per process: a background thread holding a dedicated LISTEN
connection wakes every waiter of the job named in a notification. A notification can
be missed (the listener was reconnecting), so waiters also re-read on a slow timer:
a lost notification costs latency, never a wrong answer.

Plain ``threading`` throughout: under gevent's monkey-patching (gunicorn's ``gevent``
worker) the thread is a greenlet and the events are cooperative.
"""

import contextlib
import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

CHANNEL = "bullpen_job_changed"
# The listener's connection, as pg_stat_activity names it (followed by the process id).
APPLICATION_NAME = "bullpen-job-events"
# The listener wakes every waiter this often, notification or not (and checks its connection):
# waiters of one job then share one re-read per process, however many they are.
TICK_SECONDS = 5.0
# A waiter re-reads on its own this often, should the listener itself be stuck.
RECHECK_SECONDS = 15.0

T = TypeVar("T")


def publish_job_changed(session: Session, job_id: uuid.UUID | str) -> None:
    """Notify listeners that ``job_id`` changed, when (and only if) ``session`` commits."""
    session.execute(
        text("SELECT pg_notify(:channel, :job_id)"), {"channel": CHANNEL, "job_id": str(job_id)}
    )


def libpq_conninfo(database_url: str) -> str:
    """The libpq URI of a SQLAlchemy ``postgresql+psycopg://`` URL."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class _SharedRead:
    """One read of a job, begun after ``begun_after`` wakes, that waiters may share."""

    def __init__(self, begun_after: int) -> None:
        self.begun_after = begun_after
        self.done = threading.Event()
        self.value: Any = None
        self.error: BaseException | None = None


class JobEvents:
    """One process's job-change listener and the waiters it wakes."""

    def __init__(
        self,
        conninfo: str,
        *,
        tick_seconds: float = TICK_SECONDS,
        recheck_seconds: float = RECHECK_SECONDS,
        max_reads: int | None = None,
    ) -> None:
        self.conninfo = conninfo
        # Re-reads at once, at most (None: no bound). Hundreds of waiters of as many jobs
        # woken together would otherwise each wait on the process's database pool, and past
        # its timeout answer 503; here they queue for a slot, as long as their own wait lasts.
        self._read_slots = (
            threading.BoundedSemaphore(max_reads) if max_reads else contextlib.nullcontext()
        )
        self.tick_seconds = tick_seconds
        self.recheck_seconds = recheck_seconds
        self.listening = threading.Event()  # set while the LISTEN connection is up
        self._waiters: dict[str, set[threading.Event]] = {}
        self._reads: dict[str, _SharedRead] = {}
        self._wakes = 0  # wake-ups so far: a shared read serves only waiters woken before it
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    # --- waiters ------------------------------------------------------------------------------

    @contextmanager
    def watch(self, job_id: uuid.UUID | str) -> Iterator[threading.Event]:
        """An event set whenever ``job_id`` may have changed, for the ``with`` block's length."""
        key, event = str(job_id), threading.Event()
        with self._lock:
            self._waiters.setdefault(key, set()).add(event)
        try:
            yield event
        finally:
            with self._lock:
                events = self._waiters.get(key)
                if events is not None:
                    events.discard(event)
                    if not events:
                        del self._waiters[key]

    def wake(self, job_id: str) -> None:
        """Wake every waiter of ``job_id``."""
        with self._lock:
            self._wakes += 1
            events = list(self._waiters.get(job_id, ()))
        for event in events:
            event.set()

    def wake_all(self) -> None:
        """Wake every waiter (notifications may have been missed)."""
        with self._lock:
            self._wakes += 1
            events = [event for events in self._waiters.values() for event in events]
        for event in events:
            event.set()

    def wait_until(
        self,
        job_id: uuid.UUID | str,
        read: Callable[[], T],
        done: Callable[[T], bool],
        timeout: float,
    ) -> T:
        """``read()`` until ``done`` says so or ``timeout`` seconds pass; re-read on each wake.

        Waiters of one job woken together share one re-read (every waiter of a job must read
        it the same way): a notification costs one query per process, not one per waiter.
        """
        key = str(job_id)
        deadline = time.monotonic() + timeout
        with self.watch(key) as changed:
            value = read()  # after subscribing: a change committed from now on wakes us
            while not done(value):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                changed.wait(min(remaining, self.recheck_seconds))
                changed.clear()  # before reading: a change after the read sets it again
                value = self._shared_read(key, read)
        return value

    def _shared_read(self, key: str, read: Callable[[], T]) -> T:
        """``read()``, or the result of a read of ``key`` that began after this waiter woke."""
        with self._lock:
            flight = self._reads.get(key)
            lead = flight is None or flight.begun_after < self._wakes
            if lead:
                flight = self._reads[key] = _SharedRead(self._wakes)
        assert flight is not None
        if not lead:
            flight.done.wait()
            if flight.error is not None:
                raise flight.error
            return flight.value
        try:
            with self._read_slots:
                flight.value = read()
        except BaseException as error:
            flight.error = error
            raise
        finally:
            with self._lock:
                if self._reads.get(key) is flight:
                    del self._reads[key]
            flight.done.set()
        return flight.value

    # --- the listener -------------------------------------------------------------------------

    def start(self) -> "JobEvents":
        """Start the listener thread (once)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="bullpen-job-events", daemon=True
                )
                self._thread.start()
        return self

    def stop(self, timeout: float = 10) -> None:
        """Stop the listener and wait for its thread (a notification wakes it up)."""
        self._stopping.set()
        if self._thread is None or not self._thread.is_alive():
            return
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(self.conninfo, autocommit=True, connect_timeout=2) as conn,
        ):
            conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
        self._thread.join(timeout)

    def _run(self) -> None:
        backoff = 0.1
        while not self._stopping.is_set():
            try:
                self._listen()
                backoff = 0.1
            except Exception as error:  # the listener must outlive any one failure
                self.listening.clear()
                if backoff == 0.1:
                    log.warning("job-event listener lost its connection; reconnecting: %s", error)
                self._stopping.wait(backoff)
                self.wake_all()  # while no one listens, the waiters' re-reads go on
                backoff = min(backoff * 2, self.tick_seconds)

    def _listen(self) -> None:
        with psycopg.connect(
            self.conninfo,
            autocommit=True,
            connect_timeout=5,
            application_name=f"{APPLICATION_NAME} {os.getpid()}",
        ) as conn:
            conn.execute(f"LISTEN {CHANNEL}")
            self.listening.set()
            self.wake_all()  # changes made while no one listened
            while not self._stopping.is_set():
                for notify in conn.notifies(timeout=self.tick_seconds):
                    self.wake(notify.payload)
                    if self._stopping.is_set():
                        return
                self.wake_all()  # the safety re-read
                # A server that died without closing the socket would stay silent forever.
                conn.execute("SELECT 1")
        self.listening.clear()
