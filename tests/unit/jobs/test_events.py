"""The waiting side of job events: who is woken, and when a waiter re-reads."""

import threading
import time

from app.jobs.events import JobEvents, libpq_conninfo


def _events(recheck: float = 5.0) -> JobEvents:
    return JobEvents("postgresql://unused", recheck_seconds=recheck)  # never started


def test_a_wake_reaches_every_waiter_of_that_job_and_no_other():
    events = _events()
    with events.watch("a") as first, events.watch("a") as second, events.watch("b") as other:
        events.wake("a")

        assert first.is_set() and second.is_set()
        assert not other.is_set()


def test_wake_all_reaches_every_waiter_and_finished_watches_are_forgotten():
    events = _events()
    with events.watch("a") as first, events.watch("b") as second:
        events.wake_all()
        assert first.is_set() and second.is_set()

    assert events._waiters == {}


def test_a_waiter_returns_as_soon_as_a_wake_brings_the_change():
    events = _events(recheck=30)
    state = {"status": "queued"}
    reads = []

    def read() -> str:
        reads.append(state["status"])
        return state["status"]

    def finish_later() -> None:
        time.sleep(0.2)
        state["status"] = "succeeded"
        events.wake("job")

    threading.Thread(target=finish_later).start()
    started = time.monotonic()
    status = events.wait_until("job", read, lambda s: s == "succeeded", timeout=10)

    assert status == "succeeded"
    assert 0.15 < time.monotonic() - started < 2
    assert reads == ["queued", "succeeded"]  # no polling in between


def test_without_any_wake_a_waiter_still_sees_the_change_at_its_own_recheck():
    events = _events(recheck=0.3)
    state = {"status": "queued"}
    threading.Timer(0.1, lambda: state.update(status="failed")).start()
    started = time.monotonic()

    status = events.wait_until("job", lambda: state["status"], lambda s: s != "queued", timeout=10)

    assert status == "failed"
    assert 0.25 < time.monotonic() - started < 2


def test_a_waiter_gives_up_at_its_timeout_with_the_last_value_read():
    events = _events(recheck=0.1)
    started = time.monotonic()

    status = events.wait_until("job", lambda: "running", lambda s: False, timeout=0.35)

    assert status == "running"
    assert 0.3 < time.monotonic() - started < 1.5


def test_a_zero_timeout_reads_once():
    events = _events()
    reads = []

    events.wait_until("job", lambda: reads.append(1) or "queued", lambda s: False, timeout=0)

    assert reads == [1]


def test_the_listener_connects_with_libpq_s_own_url():
    url = "postgresql+psycopg://user:secret@db.example:5433/bullpen?sslmode=require"

    assert libpq_conninfo(url) == "postgresql://user:secret@db.example:5433/bullpen?sslmode=require"


def test_waiters_woken_together_share_one_re_read():
    events = _events(recheck=30)
    state = {"status": "queued"}
    reads = []

    def slow_read() -> str:
        reads.append(state["status"])
        time.sleep(0.3)
        return state["status"]

    answers = []
    waiters = [
        threading.Thread(
            target=lambda: answers.append(
                events.wait_until("job", slow_read, lambda s: s == "succeeded", timeout=20)
            )
        )
        for _ in range(10)
    ]
    for waiter in waiters:
        waiter.start()
    time.sleep(0.6)  # every waiter made its first read and waits
    state["status"] = "succeeded"
    events.wake("job")
    for waiter in waiters:
        waiter.join(10)

    assert answers == ["succeeded"] * 10
    assert reads.count("queued") == 10
    assert 1 <= reads.count("succeeded") <= 2  # one read, two if a waiter woke very late


def test_a_read_begun_before_a_wake_is_not_shared_with_the_woken():
    events = _events()
    state = {"status": "queued"}
    reads = []

    def slow_read() -> str:
        seen = state["status"]
        reads.append(seen)
        time.sleep(0.4)
        return seen

    results = {}
    first = threading.Thread(
        target=lambda: results.update(first=events._shared_read("j", slow_read))
    )
    first.start()
    time.sleep(0.1)
    joined = threading.Thread(
        target=lambda: results.update(joined=events._shared_read("j", slow_read))
    )
    joined.start()  # no wake since the first read began: it may share it
    time.sleep(0.1)
    state["status"] = "succeeded"
    events.wake("j")
    woken = events._shared_read("j", slow_read)  # woken after the change: must read again
    first.join()
    joined.join()

    assert results == {"first": "queued", "joined": "queued"}
    assert woken == "succeeded"
    assert reads == ["queued", "succeeded"]
