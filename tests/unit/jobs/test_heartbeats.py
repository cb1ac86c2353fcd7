"""The heartbeat thread of a worker process: what a job's registration costs it."""

import threading
import time
import uuid
from datetime import timedelta

from app.jobs import runtime
from app.jobs.runtime import JobContext


class CountingCondition(threading.Condition):
    """A condition that counts its waits and its notifications."""

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0
        self.notifications = 0

    def wait(self, timeout: float | None = None) -> bool:
        self.waits += 1
        return super().wait(timeout)

    def notify(self, n: int = 1) -> None:
        self.notifications += 1
        super().notify(n)


def test_jobs_shorter_than_a_third_of_their_lease_never_wake_the_heartbeat_thread(
    monkeypatch,
) -> None:
    monkeypatch.setattr(runtime, "lease_duration", lambda: timedelta(seconds=60))  # beat: 20 s
    heartbeats = runtime._Heartbeats(name="heartbeats-under-test")  # sleeps on, a daemon
    changed = heartbeats._changed = CountingCondition()
    jobs = [
        JobContext(uuid.uuid4(), f"task-{i}", {}, "postgresql://unused", None) for i in range(20)
    ]

    heartbeats.register(jobs[0])  # starts the thread
    heartbeats.unregister(jobs[0])
    deadline = time.monotonic() + 30
    while changed.waits == 0 and time.monotonic() < deadline:  # until the thread sleeps
        time.sleep(0.01)
    for job in jobs[1:]:  # one-game jobs, one after another, as a worker runs them
        heartbeats.register(job)
        heartbeats.unregister(job)

    assert changed.waits == 1  # the thread slept through them all
    assert changed.notifications == 0
