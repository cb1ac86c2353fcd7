"""A worker process killed in the middle of a fanned-out batch: its chunk is redelivered,
progress never goes back, and every result is written exactly once."""

import os
import signal
import threading
import time
import uuid

import psutil
import pytest
from celery import Celery
from sqlalchemy import select

from app.db.session import session_scope
from app.games.models import Game
from app.jobs.kinds import PREDICT
from app.jobs.models import Job, JobChunk, Prediction
from app.ml.prediction_jobs import CHUNK_SIZE
from workers.celery_app import make_celery

pytestmark = pytest.mark.integration

# Every stored game (about ten chunks): long enough for the test to catch a chunk running
# while others are written, even at full speed on warm caches.
SEASONS = (2018, 2019)


def _progress(database_url: str, job_id: uuid.UUID) -> tuple[str, int, int]:
    with session_scope(database_url) as session:
        job = session.get(Job, job_id)
        return job.status, job.progress_done, job.progress_total


def _stored_game_ids(database_url: str, seasons: tuple[int, ...]) -> list[int]:
    with session_scope(database_url) as session:
        return list(
            session.scalars(
                select(Game.id).where(Game.season.in_(seasons)).order_by(Game.game_date, Game.id)
            )
        )


def _running_chunk(celery: Celery, job_id: uuid.UUID) -> tuple[int, int] | None:
    """(pool pid, chunk index) of a chunk of the job being run now, as its worker reports it."""
    hostnames = [hostname for reply in celery.control.ping(timeout=1.0) for hostname in reply]
    inspect = celery.control.inspect(destination=hostnames, limit=len(hostnames), timeout=1.0)
    for tasks in (inspect.active() or {}).values():
        for task in tasks:
            if task["name"] == PREDICT.chunk_task_name and task["args"][0] == str(job_id):
                return task["worker_pid"], task["args"][1]
    return None


class ProgressWatch(threading.Thread):
    """Samples a job's progress until it ends; records every value seen."""

    def __init__(self, database_url: str, job_id: uuid.UUID) -> None:
        super().__init__(daemon=True)
        self.database_url, self.job_id = database_url, job_id
        self.seen: list[int] = []

    def run(self) -> None:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            status, done, _ = _progress(self.database_url, self.job_id)
            self.seen.append(done)
            if status not in ("queued", "running"):
                return
            time.sleep(0.02)


def test_a_killed_worker_child_mid_batch_loses_nothing_and_progress_only_grows(
    seeded, client, worker, record_property
):
    celery = make_celery(seeded)
    game_ids = _stored_game_ids(seeded.database_url, SEASONS)
    assert len(game_ids) > 4 * CHUNK_SIZE, "too few games for a job of several chunks"
    response = client.post("/api/v1/predict/batch", json={"game_ids": game_ids})
    assert response.status_code == 202, response.get_json()
    job_id = uuid.UUID(response.get_json()["job_id"])
    watch = ProgressWatch(seeded.database_url, job_id)
    watch.start()

    # The kill must land on a chunk being run while the job is mid-way.
    deadline = time.monotonic() + 60
    while (running := _running_chunk(celery, job_id)) is None or not (
        _progress(seeded.database_url, job_id)[1] > 0
    ):
        status, _, _ = _progress(seeded.database_url, job_id)
        assert status in ("queued", "running"), f"job ended before a chunk was caught: {status}"
        assert time.monotonic() < deadline, "no chunk of the job was seen running mid-way"
    pid, chunk_index = running
    assert pid in {child.pid for child in psutil.Process(worker.pid).children()}
    status, done_at_kill, total = _progress(seeded.database_url, job_id)
    os.kill(pid, signal.SIGKILL)
    record_property("progress_at_kill", f"{done_at_kill}/{total}")
    print(f"killed pool child {pid} running chunk {chunk_index} at {done_at_kill}/{total}")
    assert status == "running" and 0 < done_at_kill < total == len(game_ids)

    watch.join(timeout=180)
    status, done, total = _progress(seeded.database_url, job_id)
    with session_scope(seeded.database_url) as session:
        item_keys = list(
            session.scalars(select(Prediction.item_key).where(Prediction.job_id == job_id))
        )
        killed_chunk = session.get(JobChunk, (job_id, chunk_index))
        job = session.get(Job, job_id)
    assert status == "succeeded", job.error
    assert killed_chunk.done_at is not None  # the killed chunk was redelivered and written
    assert watch.seen == sorted(watch.seen), "progress went backwards"
    assert len(item_keys) == done == total
    assert sorted(item_keys) == sorted(str(game_id) for game_id in game_ids)  # each exactly once


def test_a_batch_is_spread_over_the_worker_processes(seeded, client, worker):
    game_ids = _stored_game_ids(seeded.database_url, (2019,))
    response = client.post("/api/v1/predict/batch", json={"game_ids": game_ids})
    job_id = uuid.UUID(response.get_json()["job_id"])
    body = client.get(f"/api/v1/jobs/{job_id}?wait=30").get_json()

    with session_scope(seeded.database_url) as session:
        chunks = session.scalars(select(JobChunk).where(JobChunk.job_id == job_id)).all()
    assert body["status"] == "succeeded", body
    assert len(chunks) >= 4
    assert all(chunk.done_at is not None for chunk in chunks)
    assert sorted(i for chunk in chunks for i in chunk.items) == list(range(len(game_ids)))
    # Both pool processes of the worker wrote some of the chunks.
    assert len({chunk.written_by for chunk in chunks}) == 2
