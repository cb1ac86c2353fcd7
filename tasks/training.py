"""Training tasks of the beat (training jobs are ``tasks.jobs``)."""

from app.jobs.service import submit
from app.kinds import TRAIN
from app.markets import TARGETS
from tasks.base import RetriedTask, settings
from workers.celery_app import celery
from workers.dispatch import CeleryJobQueue


@celery.task(base=RetriedTask, name="tasks.training.retrain_all", soft_time_limit=60, time_limit=90)
def retrain_all() -> str:
    """Beat: one training job for every target, sharing their features; visible and pollable
    like any other job."""
    queue = CeleryJobQueue(celery)
    return str(submit(settings().database_url, TRAIN, {"targets": list(TARGETS)}, queue).id)
