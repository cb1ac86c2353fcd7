"""Maintenance tasks."""

from datetime import timedelta

from app.jobs.service import reap
from tasks.base import settings
from workers.celery_app import celery
from workers.dispatch import celery_sender

# A job sent this long ago and still unclaimed is assumed lost by the broker; a
# duplicate is harmless because only the first message's task may claim a job.
UNCLAIMED_FOR = timedelta(minutes=2)
# Longer than the longest task's hard time limit (training: 1900 s): such an attempt is dead.
RUNNING_FOR = timedelta(minutes=35)


@celery.task(name="tasks.maintenance.reap_jobs", soft_time_limit=60, time_limit=90)
def reap_jobs() -> int:
    """Beat: re-send jobs never sent, never claimed, or whose attempt died with its message."""
    return reap(
        settings().database_url,
        celery_sender(celery),
        unclaimed_for=UNCLAIMED_FOR,
        running_for=RUNNING_FOR,
    )
