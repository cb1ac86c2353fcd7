"""The outbox: a job survives a broker that is down, lost or duplicating messages."""

import socket
import time
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
import redis
from sqlalchemy import func, select, update

from app.db.session import session_scope
from app.jobs.models import Job
from app.jobs.service import reap
from app.kinds import PREDICT
from app.ml.models import Prediction
from workers.api import create_api
from workers.celery_app import make_celery
from workers.dispatch import BROKER_MARKER, CeleryJobQueue

pytestmark = pytest.mark.integration


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _job(database_url: str, job_id: str) -> Job:
    with session_scope(database_url) as session:
        return session.get(Job, uuid.UUID(job_id))


def _wait_finished(database_url: str, job_id: str, timeout: float = 30) -> Job:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job = _job(database_url, job_id)
        if job.status in ("succeeded", "failed", "cancelled"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"job {job_id} still {job.status}")


def _a_game_id(client) -> int:
    return client.get("/api/v1/games?date=2019-08-01").get_json()[0]["id"]


def test_a_job_submitted_while_the_broker_is_down_is_kept_and_sent_later(seeded, client, worker):
    broker_down = replace(seeded, broker_url=f"redis://127.0.0.1:{_closed_port()}/0")
    down_client = create_api(broker_down).test_client()

    response = down_client.post("/api/v1/predict", json={"game_id": _a_game_id(client)})

    assert response.status_code == 202
    job_id = response.get_json()["job_id"]
    job = _job(seeded.database_url, job_id)
    assert (job.status, job.sent_at) == ("queued", None)

    resent = reap(
        seeded.database_url,
        CeleryJobQueue(make_celery(seeded)),
        unclaimed_for=timedelta(minutes=2),
    )

    assert resent >= 1
    assert _wait_finished(seeded.database_url, job_id).status == "succeeded"


def test_a_duplicated_message_runs_the_job_once(seeded, client, worker):
    celery = make_celery(seeded)
    response = client.post("/api/v1/predict/batch", json={"date": "2019-08-02"})
    job_id = response.get_json()["job_id"]

    celery.send_task(PREDICT.task_name, args=[job_id])  # a second message, another task id

    job = _wait_finished(seeded.database_url, job_id)
    time.sleep(1)  # let the duplicate arrive and be refused
    with session_scope(seeded.database_url) as session:
        rows = session.scalar(
            select(func.count()).select_from(Prediction).where(Prediction.job_id == job.id)
        )
        attempts = session.get(Job, job.id).attempts
    assert job.status == "succeeded"
    assert rows == job.progress_total
    assert attempts == 1


def test_a_cancelled_job_is_not_run(seeded, client, worker):
    broker_down = replace(seeded, broker_url=f"redis://127.0.0.1:{_closed_port()}/0")
    response = (
        create_api(broker_down)
        .test_client()
        .post("/api/v1/predict", json={"game_id": _a_game_id(client)})
    )
    job_id = response.get_json()["job_id"]

    cancelled = client.delete(f"/api/v1/jobs/{job_id}")
    make_celery(seeded).send_task(PREDICT.task_name, args=[job_id])
    time.sleep(2)

    assert cancelled.get_json()["status"] == "cancelled"
    with session_scope(seeded.database_url) as session:
        assert session.get(Job, uuid.UUID(job_id)).status == "cancelled"
        assert not session.scalar(
            select(func.count())
            .select_from(Prediction)
            .where(Prediction.job_id == uuid.UUID(job_id))
        )


def test_a_job_whose_lease_ran_out_is_run_again(seeded, client, worker):
    response = client.post("/api/v1/predict", json={"game_id": _a_game_id(client)})
    job_id = response.get_json()["job_id"]
    _wait_finished(seeded.database_url, job_id)
    with session_scope(seeded.database_url) as session:
        # As if its attempt had died together with its message, its lease run out.
        session.execute(
            update(Job)
            .where(Job.id == uuid.UUID(job_id))
            .values(
                status="running",
                claimed_by="a-dead-task",
                lease_expires_at=datetime.now(UTC) - timedelta(seconds=1),
                finished_at=None,
            )
        )

    reap(
        seeded.database_url,
        CeleryJobQueue(make_celery(seeded)),
        unclaimed_for=timedelta(minutes=2),
    )

    job = _wait_finished(seeded.database_url, job_id)
    assert job.status == "succeeded"
    assert job.claimed_by not in (None, "a-dead-task")


def test_a_broker_that_lost_its_data_is_noticed_once(seeded):
    queue = CeleryJobQueue(make_celery(seeded))
    queue.lost_messages()  # whatever the broker held before this test
    intact = queue.lost_messages()
    redis.Redis.from_url(seeded.broker_url).delete(BROKER_MARKER)  # as a restart would lose it

    assert intact is False
    assert queue.lost_messages() is True
    assert queue.lost_messages() is False
