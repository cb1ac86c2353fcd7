"""A worker process killed in the middle of a fanned-out batch: its chunk is redelivered,
progress never goes back, and every result is written exactly once."""

import os
import signal
import threading
import time
import uuid

import psutil
import pytest
from sqlalchemy import select

from app.db.session import session_scope
from app.games.models import Game
from app.jobs.models import Job, JobChunk
from app.ml.models import Prediction
from app.predictions.jobs import CHUNK_SIZE

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


def _submit(client, game_ids: list[int]) -> uuid.UUID:
    response = client.post("/api/v1/predict/batch", json={"game_ids": game_ids})
    assert response.status_code == 202, response.get_json()
    return uuid.UUID(response.get_json()["job_id"])


def _chunk_writers(database_url: str, job_ids: list[uuid.UUID]) -> set[str]:
    with session_scope(database_url) as session:
        return set(session.scalars(select(JobChunk.written_by).where(JobChunk.job_id.in_(job_ids))))


def test_both_pool_children_killed_mid_batch_lose_nothing_and_progress_only_grows(
    seeded, client, worker, record_property
):
    """SIGKILL both pool children while the job has chunks written and chunks to go: the
    chunks they were running are redelivered, each result row is written exactly once."""
    game_ids = _stored_game_ids(seeded.database_url, SEASONS)
    assert len(game_ids) > 3 * CHUNK_SIZE, "too few games for a job of several chunks"
    # Other batches queued beside it keep the job's chunks spread out in time.
    others = [_submit(client, game_ids[i::3]) for i in range(3)]
    job_id = _submit(client, game_ids)
    watch = ProgressWatch(seeded.database_url, job_id)
    watch.start()

    deadline = time.monotonic() + 60
    while not 0 < _progress(seeded.database_url, job_id)[1] < len(game_ids):
        status, _, _ = _progress(seeded.database_url, job_id)
        assert status in ("queued", "running"), f"job ended before seen mid-way: {status}"
        assert time.monotonic() < deadline, "the job was never seen mid-way"
        time.sleep(0.002)
    children = psutil.Process(worker.pid).children()
    for child in children:
        os.kill(child.pid, signal.SIGKILL)
    status, done_at_kill, total = _progress(seeded.database_url, job_id)
    record_property("progress_at_kill", f"{done_at_kill}/{total}")
    print(f"killed pool children {[c.pid for c in children]} at {done_at_kill}/{total}")
    assert len(children) == 2
    assert status == "running" and done_at_kill < total  # the kill landed mid-job

    watch.join(timeout=180)
    status, done, total = _progress(seeded.database_url, job_id)
    with session_scope(seeded.database_url) as session:
        item_keys = list(
            session.scalars(select(Prediction.item_key).where(Prediction.job_id == job_id))
        )
        job = session.get(Job, job_id)
    assert status == "succeeded", job.error
    assert watch.seen == sorted(watch.seen), "progress went backwards"
    assert len(item_keys) == done == total
    assert sorted(item_keys) == sorted(str(game_id) for game_id in game_ids)  # each exactly once
    for other in others:
        assert client.get(f"/api/v1/jobs/{other}?wait=30").get_json()["status"] == "succeeded"


def test_batches_are_spread_over_the_worker_processes(seeded, client, worker):
    game_ids = _stored_game_ids(seeded.database_url, SEASONS)
    job_ids = [_submit(client, game_ids[i::2]) for i in range(2)]
    bodies = [client.get(f"/api/v1/jobs/{job_id}?wait=30").get_json() for job_id in job_ids]

    with session_scope(seeded.database_url) as session:
        chunks = session.scalars(select(JobChunk).where(JobChunk.job_id.in_(job_ids))).all()
    assert [body["status"] for body in bodies] == ["succeeded", "succeeded"], bodies
    assert len(chunks) >= 4  # two jobs of two chunks at least (more than CHUNK_SIZE games each)
    assert all(chunk.done_at is not None for chunk in chunks)
    for job_id, body in zip(job_ids, bodies, strict=True):
        covered = sorted(i for c in chunks if c.job_id == job_id for i in c.items)
        assert covered == list(range(body["progress"]["total"]))
    # Both pool processes of the worker wrote some of the chunks.
    assert len(_chunk_writers(seeded.database_url, job_ids)) == 2
