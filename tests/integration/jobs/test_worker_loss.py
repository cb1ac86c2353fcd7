"""A worker process killed in the middle of a job: the message is redelivered, nothing is lost."""

import os
import signal
import time
import uuid
from dataclasses import dataclass

import psutil
import pytest
from celery import Celery
from sqlalchemy import select

from app.db.session import session_scope
from app.games.models import Game
from app.jobs.models import Job, Prediction
from app.ml.predict import CHUNK_SIZE
from workers.celery_app import make_celery

pytestmark = pytest.mark.integration

PREDICT_TASK = "tasks.predict.run_prediction_job"
# Every stored game (about ten chunks): long enough for the test to catch the job between
# two of its progress commits, even when the job runs at full speed on warm caches.
SEASONS = (2018, 2019)
POLL_SECONDS = 0.01


@dataclass(frozen=True)
class Progress:
    """A job row's state at one instant."""

    status: str
    attempts: int
    done: int
    total: int

    @property
    def mid_job(self) -> bool:
        return 0 < self.done < self.total


def _progress(database_url: str, job_id: uuid.UUID) -> Progress:
    with session_scope(database_url) as session:
        job = session.get(Job, job_id)
        return Progress(job.status, job.attempts, job.progress_done, job.progress_total)


def _stored_game_ids(database_url: str, seasons: tuple[int, ...]) -> list[int]:
    with session_scope(database_url) as session:
        return list(
            session.scalars(
                select(Game.id).where(Game.season.in_(seasons)).order_by(Game.game_date, Game.id)
            )
        )


def _worker_hostnames(celery: Celery) -> list[str]:
    return [hostname for reply in celery.control.ping(timeout=1.0) for hostname in reply]


def _pool_child_running(celery: Celery, hostnames: list[str], job_id: uuid.UUID) -> int | None:
    """The pid of the pool process running the job's task, as its worker reports it."""
    # A reply limit returns as soon as every worker answered instead of after the timeout.
    inspect = celery.control.inspect(destination=hostnames, limit=len(hostnames), timeout=1.0)
    for tasks in (inspect.active() or {}).values():
        for task in tasks:
            if task["name"] == PREDICT_TASK and task["args"] == [str(job_id)]:
                return task["worker_pid"]
    return None


def _wait_finished(database_url: str, job_id: uuid.UUID, timeout: float) -> Job:
    deadline = time.monotonic() + timeout
    while (progress := _progress(database_url, job_id)).status not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, f"job still {progress.status} after the worker loss"
        time.sleep(0.5)
    with session_scope(database_url) as session:
        return session.get(Job, job_id)


def test_a_killed_worker_child_loses_no_job(seeded, client, worker, record_property):
    """SIGKILL the pool child once the job's row shows some chunks committed and not all."""
    celery = make_celery(seeded)
    hostnames = _worker_hostnames(celery)
    game_ids = _stored_game_ids(seeded.database_url, SEASONS)
    assert len(game_ids) > 4 * CHUNK_SIZE, "too few games for a job of several chunks"
    response = client.post("/api/v1/predict/batch", json={"game_ids": game_ids})
    assert response.status_code == 202, response.get_json()
    job_id = uuid.UUID(response.get_json()["job_id"])

    deadline = time.monotonic() + 30
    while (pid := _pool_child_running(celery, hostnames, job_id)) is None:
        progress = _progress(seeded.database_url, job_id)
        assert progress.status in ("queued", "running"), f"job over before seen running: {progress}"
        assert time.monotonic() < deadline, "the job's task was never seen running"
    assert pid in {child.pid for child in psutil.Process(worker.pid).children()}

    # The kill must land between two progress commits: only then is there work to lose.
    deadline = time.monotonic() + 60
    while not (at_kill := _progress(seeded.database_url, job_id)).mid_job:
        assert at_kill.status in ("queued", "running"), f"job never seen mid-way: {at_kill}"
        assert time.monotonic() < deadline, f"job never seen mid-way: {at_kill}"
        time.sleep(POLL_SECONDS)
    os.kill(pid, signal.SIGKILL)
    record_property("progress_at_kill", f"{at_kill.done}/{at_kill.total}")
    print(f"killed pool child {pid} at progress {at_kill.done}/{at_kill.total}")
    assert (at_kill.status, at_kill.attempts) == ("running", 1)
    assert 0 < at_kill.done < at_kill.total == len(game_ids)

    job = _wait_finished(seeded.database_url, job_id, timeout=120)
    with session_scope(seeded.database_url) as session:
        item_keys = list(
            session.scalars(select(Prediction.item_key).where(Prediction.job_id == job_id))
        )
    assert job.status == "succeeded", job.error
    assert job.attempts == 2  # the killed attempt, then the redelivered message
    assert len(item_keys) == job.progress_total == response.get_json()["progress"]["total"]
    assert sorted(item_keys) == sorted(str(game_id) for game_id in game_ids)  # each exactly once
