"""The job runtime against the real database: claims and leases, heartbeats, cancellation at
the next unit of work, and a cancelled training that never promotes."""

import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import marshmallow as ma
import pytest
from sqlalchemy import func, select, update

from app.config import Settings
from app.db.session import session_scope
from app.games.models import Game
from app.jobs import runtime, service
from app.jobs.models import Job, JobChunk
from app.jobs.runtime import JobContext, JobKind, execute
from app.jobs.service import claim, create_job, renew_lease
from app.kinds import KINDS, TRAIN, WorkerResources
from app.ml import registry
from app.ml.models import Prediction
from app.predictions.jobs import CHUNK_SIZE, predict_chunk

pytestmark = pytest.mark.integration


class NoParams(ma.Schema):
    units = ma.fields.Integer()


class _NoQueue:
    def __init__(self) -> None:
        self.revoked: list[str] = []

    def send(self, message: service.JobMessage) -> None:
        raise ConnectionError("no broker in this test")

    def revoke(self, task_ids) -> None:
        self.revoked.extend(task_ids)


def _new_job(database_url: str, kind: str = "units", params: dict | None = None) -> uuid.UUID:
    with session_scope(database_url) as session:
        job, _ = create_job(session, kind, params or {})
        return job.id


def _job(database_url: str, job_id: uuid.UUID) -> Job:
    with session_scope(database_url) as session:
        return session.get(Job, job_id)


def test_a_claim_is_committed_with_a_lease_and_only_its_task_or_a_taker_after_expiry_may_resume(
    database_url,
):
    job_id = _new_job(database_url)
    with session_scope(database_url) as session:
        first = claim(session, job_id, "task-1")
    # Committed: another connection sees it running at once, with a lease ahead.
    seen = _job(database_url, job_id)
    assert (first.status, seen.status, seen.claimed_by) == ("running", "running", "task-1")
    assert seen.lease_expires_at > datetime.now(UTC) + service.lease_duration() / 2

    with session_scope(database_url) as session:
        assert claim(session, job_id, "task-2") is None  # a duplicate message, lease alive
        assert claim(session, job_id, "task-1") is not None  # a redelivery of the claimer
        session.execute(
            update(Job)
            .where(Job.id == job_id)
            .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    with session_scope(database_url) as session:
        taken = claim(session, job_id, "task-2")  # the claimer is dead: its lease ran out
        assert taken is not None and taken.attempts == 3
        assert not renew_lease(session, job_id, "task-1")  # the old attempt lost the job
        assert renew_lease(session, job_id, "task-2")


def _units_kind(seen: list[int], unit_seconds: float) -> JobKind:
    def work(context: JobContext) -> dict:
        for unit in range(context.params["units"]):
            context.checkpoint()
            seen.append(unit)
            time.sleep(unit_seconds)
        return {"units": len(seen)}

    return JobKind("units", "predict", NoParams, work, soft_time_limit=60, time_limit=70)


def test_the_heartbeat_renews_the_lease_while_the_work_runs(database_url, monkeypatch):
    monkeypatch.setattr(runtime, "lease_duration", lambda: timedelta(seconds=0.6))  # beat: 0.2 s
    job_id = _new_job(database_url, params={"units": 1})
    leases = []

    def work(context: JobContext) -> dict:
        for _ in range(5):
            time.sleep(0.25)
            leases.append(_job(database_url, job_id).lease_expires_at)
        return {"ok": True}

    kind = JobKind("units", "predict", NoParams, work, soft_time_limit=60, time_limit=70)
    assert execute(kind, job_id, "task-1", database_url, resources=None)

    assert len(set(leases)) >= 3, leases  # pushed on while no unit of work checked in
    assert _job(database_url, job_id).status == "succeeded"


def test_one_heartbeat_thread_renews_every_running_job_of_the_process(database_url, monkeypatch):
    monkeypatch.setattr(runtime, "lease_duration", lambda: timedelta(seconds=0.6))  # beat: 0.2 s
    job_ids = [_new_job(database_url, params={"units": 1}) for _ in range(2)]
    leases: dict[uuid.UUID, list] = {job_id: [] for job_id in job_ids}
    beating: list[int] = []

    def work(context: JobContext) -> dict:
        for _ in range(5):
            time.sleep(0.25)
            leases[context.job_id].append(_job(database_url, context.job_id).lease_expires_at)
            beating.append(sum(t.name == "heartbeats" for t in threading.enumerate()))
        return {"ok": True}

    kind = JobKind("units", "predict", NoParams, work, soft_time_limit=60, time_limit=70)
    runs = [
        threading.Thread(target=execute, args=(kind, job_id, f"task-{i}", database_url, None))
        for i, job_id in enumerate(job_ids)
    ]
    for run in runs:
        run.start()
    for run in runs:
        run.join(timeout=20)

    for job_id in job_ids:  # each pushed on while no unit of work checked in
        assert len(set(leases[job_id])) >= 3, leases[job_id]
        assert _job(database_url, job_id).status == "succeeded"
    assert set(beating) == {1}  # one thread for both, not one per job


def test_a_cancel_is_honoured_at_the_next_unit_of_work(database_url):
    job_id = _new_job(database_url, params={"units": 50})
    seen: list[int] = []
    kind = _units_kind(seen, unit_seconds=0.05)
    outcome = {}
    running = threading.Thread(
        target=lambda: outcome.update(
            ran=execute(kind, job_id, "task-1", database_url, resources=None)
        )
    )
    running.start()
    while len(seen) < 3:
        time.sleep(0.01)
    queue = _NoQueue()
    cancelled = service.cancel(database_url, job_id, queue)
    units_at_cancel = len(seen)
    running.join(timeout=10)

    job = _job(database_url, job_id)
    assert cancelled.status == "cancelled"  # it landed while the job was running
    assert outcome == {"ran": False}
    assert len(seen) <= units_at_cancel + 1  # the unit in progress at most, then it stopped
    assert (job.status, job.result) == ("cancelled", None)
    assert "task-1" in queue.revoked


def test_a_cancelled_fanned_out_batch_writes_no_further_chunk(seeded, client, worker):
    # Every stored game: chunks enough that the two processes' first ones are not the last.
    with session_scope(seeded.database_url) as session:
        game_ids = list(session.scalars(select(Game.id).order_by(Game.id)))
    assert len(game_ids) > 2 * CHUNK_SIZE
    response = client.post("/api/v1/predict/batch", json={"game_ids": game_ids})
    job_id = uuid.UUID(response.get_json()["job_id"])
    deadline = time.monotonic() + 60
    while _job(seeded.database_url, job_id).progress_done == 0:
        assert time.monotonic() < deadline, "no chunk was written"
        time.sleep(0.01)

    cancelled = client.delete(f"/api/v1/jobs/{job_id}").get_json()
    time.sleep(0.5)  # a chunk running at the cancel may not write; none after it may
    with session_scope(seeded.database_url) as session:
        written = session.scalar(
            select(func.count()).select_from(Prediction).where(Prediction.job_id == job_id)
        )
    time.sleep(3)
    with session_scope(seeded.database_url) as session:
        later = session.scalar(
            select(func.count()).select_from(Prediction).where(Prediction.job_id == job_id)
        )
        done_items = session.scalar(
            select(func.sum(func.cardinality(JobChunk.items))).where(
                JobChunk.job_id == job_id, JobChunk.done_at.is_not(None)
            )
        )
        total = session.get(Job, job_id).progress_total

    assert cancelled["status"] == "cancelled"
    assert 0 < cancelled["progress"]["done"] < total  # it landed mid-batch
    assert later == written == done_items < total  # whole chunks, none after the cancel


def test_a_chunk_written_twice_counts_once(seeded, client, worker):
    response = client.post("/api/v1/predict/batch", json={"season": 2019})
    job_id = uuid.UUID(response.get_json()["job_id"])
    body = client.get(f"/api/v1/jobs/{job_id}?wait=30").get_json()
    assert body["status"] == "succeeded", body

    with session_scope(seeded.database_url) as session:
        # As if the job were still running when a duplicate of chunk 0 arrived.
        session.execute(update(Job).where(Job.id == job_id).values(status="running"))
    rewritten = predict_chunk(WorkerResources(seeded), job_id, 0)
    job = _job(seeded.database_url, job_id)

    assert rewritten is False
    assert job.progress_done == job.progress_total == body["progress"]["total"]


def test_a_cancelled_training_never_promotes(seeded: Settings):
    client = registry.client(seeded)
    name = seeded.model_name("moneyline")
    champion = registry.version_by_alias(client, name, registry.CHAMPION).version
    known = {v.version for v in client.search_model_versions(f"name='{name}'")}
    job_id = _new_job(seeded.database_url, "train", {"target": "moneyline", "seasons": [2018]})
    outcome = {}
    training = threading.Thread(
        target=lambda: outcome.update(
            ran=execute(TRAIN, job_id, "task-1", seeded.database_url, WorkerResources(seeded))
        )
    )
    training.start()
    # Cancel once the new version is registered: its alias is decided, not yet applied.
    deadline = time.monotonic() + 300
    while not (new := {v.version for v in client.search_model_versions(f"name='{name}'")} - known):
        assert training.is_alive() and time.monotonic() < deadline, "no version was registered"
        time.sleep(0.05)
    cancelled = service.cancel(seeded.database_url, job_id, _NoQueue())
    training.join(timeout=300)

    (version,) = new
    assert cancelled.status == "cancelled"  # it landed before the job ended
    assert outcome == {"ran": False}
    assert registry.version_by_alias(client, name, registry.CHAMPION).version == champion
    assert not client.get_model_version(name, version).aliases
    assert _job(seeded.database_url, job_id).status == "cancelled"


def test_every_kind_routes_to_a_declared_queue():
    from app.queues import QUEUE_NAMES as QUEUES

    assert {kind.queue for kind in KINDS.values()} <= set(QUEUES)
