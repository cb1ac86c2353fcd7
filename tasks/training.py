"""Training tasks, on their own queue and worker (prefetch 1)."""

from functools import partial

from app.config import TARGETS
from app.jobs.service import run_job, submit
from app.ml.jobs import train_for_params
from tasks.base import run_job_task, settings
from workers.celery_app import celery
from workers.dispatch import celery_sender


@celery.task(
    bind=True, name="tasks.training.run_training_job", soft_time_limit=1800, time_limit=1900
)
def run_training_job(self, job_id: str) -> None:
    """Train one target's model (or several, sharing their features); each becomes champion
    only if it beats the current one."""
    run_job_task(
        self,
        job_id,
        lambda job, task_id: run_job(
            settings().database_url,
            job,
            task_id,
            partial(train_for_params, settings=settings()),
        ),
    )


@celery.task(name="tasks.training.retrain_all", soft_time_limit=60, time_limit=90)
def retrain_all() -> str:
    """Beat: one training job for every target, sharing their features; visible and pollable
    like any other job."""
    send = celery_sender(celery)
    return str(submit(settings().database_url, "train", {"targets": list(TARGETS)}, send).id)
