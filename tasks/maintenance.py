"""Maintenance tasks."""

from datetime import timedelta

from app.jobs.service import reap
from tasks.base import settings
from workers.celery_app import celery
from workers.dispatch import CeleryJobQueue

# A job sent this long ago and still unclaimed is assumed lost by the broker; a
# duplicate is harmless because only the first message's task may claim a job.
UNCLAIMED_FOR = timedelta(minutes=2)


@celery.task(name="tasks.maintenance.reap_jobs", soft_time_limit=60, time_limit=90)
def reap_jobs() -> int:
    """Beat: re-send jobs never sent, never claimed, or whose attempt's lease ran out."""
    return reap(settings().database_url, CeleryJobQueue(celery), unclaimed_for=UNCLAIMED_FOR)
