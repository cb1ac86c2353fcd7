"""Long polls wake on PostgreSQL notifications: at once on commit, never on rollback, and
still (late, not wrong) when the listener lost its connection."""

import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator

import pytest
from flask import Flask
from sqlalchemy import text
from sqlalchemy.orm import Session

from app.config import Settings
from app.db.session import get_engine, session_scope
from app.jobs.events import APPLICATION_NAME, JobEvents, publish_job_changed
from app.jobs.service import claim, create_job, fail, finish
from workers.api import create_api

pytestmark = pytest.mark.integration

# A notification wakes a waiter in milliseconds; 1 s leaves room for a loaded 2-core machine's
# scheduling and is still half the 2 s safety re-read, so a re-read cannot pass for a wake-up.
PROMPT = 1.0
# Woken by the listener's tick: within a tick, plus room for a loaded machine (the failure this
# guards against is a waiter that sleeps out its whole wait, 30 s).
TICK_ROOM = 3.0


@pytest.fixture(scope="module")
def api(settings: Settings) -> Iterator[Flask]:
    app = create_api(settings)
    yield app
    app.extensions["bullpen"].job_events.stop()


@pytest.fixture
def events(api: Flask) -> JobEvents:
    events = api.extensions["bullpen"].job_events
    assert events.listening.wait(10), "the listener never connected"
    return events


def _queued_job(database_url: str) -> uuid.UUID:
    with session_scope(database_url) as session:
        job, _ = create_job(session, "predict", {"game_ids": [1]}, total=1)
        return job.id


def _finish(database_url: str, job_id: uuid.UUID) -> None:
    with session_scope(database_url) as session:
        claim(session, job_id, "task-1")
        finish(session, job_id, {"predictions": 1})


def _end_by_finishing(api: Flask, job_id: uuid.UUID) -> None:
    _finish(api.extensions["bullpen"].database_url, job_id)


def _end_by_failing(api: Flask, job_id: uuid.UUID) -> None:
    fail(api.extensions["bullpen"].database_url, job_id, "boom")


def _end_by_cancelling(api: Flask, job_id: uuid.UUID) -> None:
    assert api.test_client().delete(f"/api/v1/jobs/{job_id}").status_code == 200


def _long_poll(api: Flask, job_id: uuid.UUID) -> tuple[threading.Thread, dict]:
    """A client long-polling ``job_id`` in the background; its answer and when it came."""
    answer: dict = {}

    def poll() -> None:
        answer["body"] = api.test_client().get(f"/api/v1/jobs/{job_id}?wait=25").get_json()
        answer["at"] = time.monotonic()

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.5)  # the waiter reads "queued" and waits
    assert waiter.is_alive()
    return waiter, answer


@pytest.mark.parametrize(
    ("end", "status"),
    [
        (_end_by_finishing, "succeeded"),
        (_end_by_failing, "failed"),
        (_end_by_cancelling, "cancelled"),
    ],
)
def test_a_long_poll_answers_as_soon_as_the_job_ends(
    api: Flask,
    events: JobEvents,
    settings: Settings,
    end: Callable[[Flask, uuid.UUID], None],
    status: str,
) -> None:
    job_id = _queued_job(settings.database_url)
    waiter, answer = _long_poll(api, job_id)
    end(api, job_id)
    ended = time.monotonic()
    waiter.join(20)

    assert answer["body"]["status"] == status
    assert answer["at"] - ended < PROMPT


def test_a_change_rolled_back_wakes_no_one_and_a_committed_one_does(
    events: JobEvents, settings: Settings
) -> None:
    job_id = uuid.uuid4()
    with events.watch(job_id) as changed:
        with Session(get_engine(settings.database_url)) as session:
            publish_job_changed(session, job_id)
            session.rollback()
        assert not changed.wait(1.0)

        with session_scope(settings.database_url) as session:
            publish_job_changed(session, job_id)
        assert changed.wait(PROMPT)


def _kill_listener(database_url: str) -> int:
    with get_engine(database_url).connect() as conn:
        killed = conn.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = :name AND datname = current_database()"
            ),
            {"name": f"{APPLICATION_NAME} {os.getpid()}"},
        ).scalar_one()
        conn.commit()
    return killed


def test_a_listener_whose_connection_dies_reconnects_and_no_answer_is_wrong(
    api: Flask, events: JobEvents, settings: Settings
) -> None:
    job_id = _queued_job(settings.database_url)
    waiter, answer = _long_poll(api, job_id)
    assert _kill_listener(settings.database_url) >= 1  # as a PostgreSQL restart would
    deadline = time.monotonic() + 5
    while events.listening.is_set() and time.monotonic() < deadline:
        time.sleep(0.01)
    _finish(settings.database_url, job_id)  # its notification has no listener
    ended = time.monotonic()
    waiter.join(20)

    # Woken by the reconnection (or the listener's tick): late at worst, never wrong.
    assert answer["body"]["status"] == "succeeded"
    assert answer["at"] - ended < events.tick_seconds + TICK_ROOM
    assert events.listening.wait(10)

    second = _queued_job(settings.database_url)
    with events.watch(second) as changed:
        _finish(settings.database_url, second)
        assert changed.wait(PROMPT)  # the new connection listens


def test_a_change_that_notified_no_one_is_seen_at_the_listener_s_next_tick(
    api: Flask, events: JobEvents, settings: Settings
) -> None:
    job_id = _queued_job(settings.database_url)
    waiter, answer = _long_poll(api, job_id)
    with session_scope(settings.database_url) as session:  # no publish_job_changed
        session.execute(
            text("UPDATE jobs SET status = 'failed', finished_at = now() WHERE id = :id"),
            {"id": job_id},
        )
    ended = time.monotonic()
    waiter.join(30)

    assert answer["body"]["status"] == "failed"
    assert answer["at"] - ended < events.tick_seconds + TICK_ROOM
