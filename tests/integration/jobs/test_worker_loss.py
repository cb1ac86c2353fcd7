"""A worker process killed in the middle of a job: the message is redelivered, nothing is lost."""

import os
import signal
import time
import uuid

import pytest
from sqlalchemy import func, select

from app.db.session import session_scope
from app.jobs.models import Job, Prediction
from workers.celery_app import make_celery

pytestmark = pytest.mark.integration


def _job(database_url: str, job_id: uuid.UUID) -> Job:
    with session_scope(database_url) as session:
        return session.get(Job, job_id)


def _pid_running(celery, task_name: str) -> int | None:
    for tasks in (celery.control.inspect(timeout=1.0).active() or {}).values():
        for task in tasks:
            if task["name"] == task_name:
                return task["worker_pid"]
    return None


def test_a_killed_worker_child_loses_no_job(seeded, client, worker):
    celery = make_celery(seeded)
    response = client.post("/api/v1/predict/batch", json={"season": 2019})
    job_id = uuid.UUID(response.get_json()["job_id"])

    pid = None
    deadline = time.monotonic() + 30
    while pid is None and time.monotonic() < deadline:
        pid = _pid_running(celery, "tasks.predict.run_prediction_job")
    assert pid is not None, "the job was never seen running"
    os.kill(pid, signal.SIGKILL)

    deadline = time.monotonic() + 120
    while (job := _job(seeded.database_url, job_id)).status not in ("succeeded", "failed"):
        assert time.monotonic() < deadline, f"job still {job.status} after the worker loss"
        time.sleep(0.5)
    with session_scope(seeded.database_url) as session:
        rows = session.scalar(
            select(func.count()).select_from(Prediction).where(Prediction.job_id == job_id)
        )
    assert job.status == "succeeded", job.error
    assert job.attempts == 2  # the killed attempt, then the redelivered message
    assert rows == job.progress_total == response.get_json()["progress"]["total"]
