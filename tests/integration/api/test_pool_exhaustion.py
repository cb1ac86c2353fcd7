"""The API's database pool under more long polls than it has connections, and exhausted
(the 60-minute soak's two 500s: ``QueuePool limit ... reached`` on ``?wait=10``)."""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import psycopg
import pytest
import requests

from app.config import Settings
from app.db.session import session_scope
from app.jobs.events import libpq_conninfo
from app.jobs.service import claim, create_job, finish
from tests.integration.servers import api_server

pytestmark = pytest.mark.integration

WAITERS = 12  # long polls at once, on a pool of one connection
POOL = {"BULLPEN_DB_POOL_SIZE": "1", "BULLPEN_DB_MAX_OVERFLOW": "0", "BULLPEN_DB_POOL_TIMEOUT": "2"}


@pytest.fixture(scope="module")
def small_pool(settings: Settings) -> Iterator[tuple[str, Settings]]:
    """`bullpen api`, one process whose database pool holds one connection."""
    served = replace(settings, rate_limit_default="100000/minute")
    with api_server({**served.as_env(), **POOL}, workers=1) as (base, _):
        yield base, served


def _new_job(settings: Settings) -> str:
    with session_scope(settings.database_url) as session:
        return str(create_job(session, "predict", {"game_ids": [1]}, total=1)[0].id)  # never sent


def test_long_polls_hold_no_connection_while_they_wait(small_pool) -> None:
    base, settings = small_pool
    job_id = _new_job(settings)
    url = f"{base}/api/v1/jobs/{job_id}"
    with ThreadPoolExecutor(WAITERS) as pool:
        polls = [pool.submit(requests.get, url, params={"wait": 8}, timeout=30)
                 for _ in range(WAITERS)]  # fmt: skip
        time.sleep(1.5)  # every poll is in and waiting
        # The pool's one connection is free: other requests are served at once, meanwhile.
        for _ in range(5):
            started = time.monotonic()
            answer = requests.get(url, timeout=10)
            assert answer.status_code == 200, answer.text
            assert time.monotonic() - started < 1.5
        assert not any(poll.done() for poll in polls)
        with session_scope(settings.database_url) as session:
            claim(session, job_id, "task-1")
            finish(session, job_id, {"predictions": 1})
        answers = [poll.result() for poll in polls]
    assert [(a.status_code, a.json()["status"]) for a in answers] == [(200, "succeeded")] * WAITERS


def test_an_exhausted_pool_answers_503_with_retry_after(small_pool) -> None:
    """A request that finds no free connection within the pool's timeout is told to retry."""
    base, settings = small_pool
    job_id = _new_job(settings)
    url = f"{base}/api/v1/jobs/{job_id}"
    held = threading.Event()
    with psycopg.connect(libpq_conninfo(settings.database_url)) as locker:
        # A read of the jobs table now waits for this lock, on the pool's one connection.
        locker.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
        with ThreadPoolExecutor(1) as pool:
            first = pool.submit(requests.get, url, timeout=30)
            time.sleep(1.0)  # the first holds the connection, waiting on the lock
            held.set()
            started = time.monotonic()
            second = requests.get(url, timeout=30)
            waited = time.monotonic() - started
            locker.rollback()  # the lock goes; the first is answered
            assert first.result().status_code == 200
    assert second.status_code == 503, second.text
    assert second.headers["Retry-After"] == "5"
    assert second.json()["errors"] == {"service": "sqlalchemy"}
    assert 1.5 < waited < 6  # the pool's 2-s timeout, not 30
    assert requests.get(url, timeout=10).status_code == 200


def test_many_jobs_woken_at_once_queue_for_the_pool_instead_of_failing(small_pool) -> None:
    """Long polls of as many jobs, all woken by one commit while their re-reads are slow:
    each waits its turn for the one connection (not the pool's 2-s timeout, then a 503)."""
    base, settings = small_pool
    job_ids = [_new_job(settings) for _ in range(WAITERS)]
    conninfo = libpq_conninfo(settings.database_url)

    def lock_jobs_for_3s() -> None:
        with psycopg.connect(conninfo) as locker:
            # Queued behind the writer's row locks, granted the moment it commits: every
            # re-read the commit wakes then waits 3 s on the pool's one connection.
            locker.execute("LOCK TABLE jobs IN ACCESS EXCLUSIVE MODE")
            time.sleep(3)

    with ThreadPoolExecutor(WAITERS + 1) as pool:
        polls = [
            pool.submit(requests.get, f"{base}/api/v1/jobs/{job_id}", params={"wait": 20},
                        timeout=60)
            for job_id in job_ids
        ]  # fmt: skip
        time.sleep(1.5)  # every poll is in and waiting
        with psycopg.connect(conninfo) as writer:
            writer.execute(
                # As a worker ends them (the session's database is shared: its metrics count
                # every finished job's run time).
                "UPDATE jobs SET status = 'succeeded', progress_done = 1, started_at = now(),"
                " finished_at = now(), result = '{}' WHERE id = ANY(%s)",
                (job_ids,),
            )
            for job_id in job_ids:
                writer.execute("SELECT pg_notify('bullpen_job_changed', %s)", (job_id,))
            locked = pool.submit(lock_jobs_for_3s)
            time.sleep(0.5)  # the lock is queued
            writer.commit()
        locked.result()
        answers = [poll.result() for poll in polls]
    assert [(a.status_code, a.json().get("status")) for a in answers] == [
        (200, "succeeded")
    ] * WAITERS
