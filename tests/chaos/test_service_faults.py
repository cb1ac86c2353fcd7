"""The services under the workers fail: the broker Redis loses everything, the feature store
is lost, PostgreSQL restarts mid-batch, the whole stack is killed."""

import time
import uuid

import pytest
import redis
from sqlalchemy import func, select

from app.db.session import session_scope
from app.ml.models import Prediction
from tests.chaos.conftest import ChaosStack

pytestmark = pytest.mark.chaos

QUEUED_JOBS = 1000
DURING_OUTAGE = 50


def _submit(client, game_id: int) -> tuple[int, uuid.UUID | None, float]:
    started = time.perf_counter()
    response = client.post("/api/v1/predict", json={"game_id": game_id})
    elapsed = time.perf_counter() - started
    body = response.get_json()
    return response.status_code, uuid.UUID(body["job_id"]) if "job_id" in body else None, elapsed


def _one_row_each(chaos: ChaosStack, job_ids: list[uuid.UUID]) -> dict[int, int]:
    """How many jobs have each number of result rows."""
    with session_scope(chaos.database_url) as session:
        counts = dict(
            session.execute(
                select(Prediction.job_id, func.count())
                .where(Prediction.job_id.in_(job_ids))
                .group_by(Prediction.job_id)
            ).all()
        )
    histogram: dict[int, int] = {}
    for job_id in job_ids:
        rows = counts.get(job_id, 0)
        histogram[rows] = histogram.get(rows, 0) + 1
    return histogram


def test_the_broker_restarted_without_persistence_with_1000_jobs_queued(chaos: ChaosStack):
    client = chaos.client()
    game_ids = chaos.game_ids(2019)
    chaos.stop_worker()  # the jobs wait in the broker
    queued = [_submit(client, game_ids[i % len(game_ids)])[1] for i in range(QUEUED_JOBS)]
    waiting = redis.Redis.from_url(chaos.broker.url).llen("predict")

    chaos.broker.kill()  # every queued message is gone
    outage = [_submit(client, game_ids[i]) for i in range(DURING_OUTAGE)]
    ready = client.get("/health/ready")
    chaos.broker.start()  # empty; the beat, whose lock was lost with it, is started again
    back = time.monotonic()
    chaos.start_worker()

    job_ids = queued + [job_id for _, job_id, _ in outage]
    statuses = chaos.wait_finished(job_ids, timeout=420)
    took = time.monotonic() - back
    latencies = sorted(elapsed for _, _, elapsed in outage)
    chaos.note(
        f"broker lost with {waiting} messages queued: {DURING_OUTAGE} submits during the outage "
        f"answered {sorted({code for code, _, _ in outage})} (p99 "
        f"{latencies[int(0.99 * (len(latencies) - 1))] * 1000:.0f} ms), /health/ready "
        f"{ready.status_code}; all {len(job_ids)} jobs {statuses} {took:.0f} s after it came back"
    )
    assert waiting == QUEUED_JOBS  # the fault landed on queued work
    assert {code for code, _, _ in outage} == {202}
    assert ready.status_code == 503
    assert statuses == {"succeeded": len(job_ids)}
    assert _one_row_each(chaos, job_ids) == {1: len(job_ids)}


def test_a_lost_feature_store_is_recomputed_never_served_wrong(chaos: ChaosStack):
    client = chaos.client()
    game_ids = chaos.game_ids(2019)[:600]

    def probabilities() -> dict[int, float]:
        response = client.post("/api/v1/predict/batch", json={"game_ids": game_ids})
        job = client.get(f"{response.headers['Location']}?wait=30").get_json()
        assert job["status"] == "succeeded", job
        items = client.get(f"{job['results_url']}?page_size=1000").get_json()["items"]
        return {item["game_id"]: item["home_ml_probability"] for item in items}

    before = probabilities()
    chaos.store.kill()
    chaos.store.start()  # empty: every feature vector is gone
    assert redis.Redis.from_url(chaos.store.url).dbsize() == 0
    after = probabilities()

    chaos.store.kill()  # and now down altogether
    response = client.post("/api/v1/predict", json={"game_id": game_ids[0]})
    job_id = uuid.UUID(response.get_json()["job_id"])
    statuses = chaos.wait_finished([job_id], timeout=300)
    failed = chaos.job(job_id)
    chaos.store.start()
    chaos.note(
        f"feature store lost: {len(after)} predictions recomputed equal to before; with the "
        f"store down a job {statuses} after retries: {failed.error[:120]!r}"
    )
    assert after == before
    assert statuses == {"failed": 1}
    assert "retries" in failed.error and "Connection" in failed.error


def test_postgresql_restarted_during_a_batch(chaos: ChaosStack):
    client = chaos.client()
    game_ids = chaos.game_ids(2018, 2019)
    response = client.post("/api/v1/predict/batch", json={"game_ids": game_ids})
    job_id = uuid.UUID(response.get_json()["job_id"])
    deadline = time.monotonic() + 60
    while not 0 < (done := chaos.job(job_id).progress_done) < len(game_ids):
        assert time.monotonic() < deadline, "never seen mid-batch"
        time.sleep(0.005)

    chaos.postgres.restart()
    statuses = chaos.wait_finished([job_id], timeout=240)
    keys = chaos.results(job_id)
    chaos.note(f"PostgreSQL restarted at {done}/{len(game_ids)}: job {statuses}, "
               f"{len(keys)} rows, {len(set(keys))} distinct")  # fmt: skip
    assert statuses == {"succeeded": 1}, chaos.job(job_id).error
    assert sorted(keys) == sorted(str(game_id) for game_id in game_ids)


def test_the_whole_stack_killed_and_restarted_resumes_every_running_job(chaos: ChaosStack):
    """Worker, beat and broker killed at once mid-batch, then started again: every job that
    was running is running again (a new attempt) within 60 s of the restart, and succeeds."""
    client = chaos.client()
    game_ids = chaos.game_ids(2018, 2019)
    job_ids = [
        uuid.UUID(client.post("/api/v1/predict/batch", json={"game_ids": game_ids[i::2]})
                  .get_json()["job_id"])
        for i in range(2)
    ]  # fmt: skip
    deadline = time.monotonic() + 60
    while not any(chaos.job(job_id).progress_done > 0 for job_id in job_ids):
        assert time.monotonic() < deadline, "never seen mid-batch"
        time.sleep(0.005)
    running = [job_id for job_id in job_ids if chaos.job(job_id).status == "running"]
    attempts = {job_id: chaos.job(job_id).attempts for job_id in running}

    chaos.kill_worker_group()
    chaos.stop_beat()
    chaos.broker.kill()
    chaos.broker.start()
    chaos.start_beat()
    chaos.start_worker()
    restarted = time.monotonic()

    resumed: dict[uuid.UUID, float] = {}
    while len(resumed) < len(running) and time.monotonic() - restarted < 120:
        for job_id in running:
            job = chaos.job(job_id)
            if job_id not in resumed and (job.attempts > attempts[job_id] or job.status
                                          in ("succeeded", "failed")):  # fmt: skip
                resumed[job_id] = time.monotonic() - restarted
        time.sleep(0.2)
    statuses = chaos.wait_finished(job_ids, timeout=240)
    chaos.note(f"whole stack killed with {len(running)} jobs running: resumed after "
               f"{sorted(round(s, 1) for s in resumed.values())} s; {statuses}")  # fmt: skip
    assert running
    assert len(resumed) == len(running) and max(resumed.values()) <= 60
    assert statuses == {"succeeded": len(job_ids)}
    for i, job_id in enumerate(job_ids):
        assert sorted(chaos.results(job_id)) == sorted(str(g) for g in game_ids[i::2])
