"""Maintenance tasks."""

from datetime import timedelta

import redis

from app.jobs.beat import record_heartbeat
from app.jobs.service import reap
from app.stack.backup import scheduled_backup
from tasks.base import RetriedTask, settings
from workers.celery_app import celery
from workers.dispatch import CeleryJobQueue

# A job sent this long ago and still unclaimed is assumed lost by the broker; a
# duplicate is harmless because only the first message's task may claim a job.
UNCLAIMED_FOR = timedelta(minutes=2)


@celery.task(
    base=RetriedTask, name="tasks.maintenance.reap_jobs", soft_time_limit=60, time_limit=90
)
def reap_jobs() -> int:
    """Beat: re-send jobs never sent, never claimed, or whose attempt's lease ran out; then
    the reaper's heartbeat, which readiness checks (app.jobs.beat.beat_status)."""
    sent = reap(settings().database_url, CeleryJobQueue(celery), unclaimed_for=UNCLAIMED_FOR)
    client = redis.Redis.from_url(settings().broker_url, socket_timeout=5)
    try:
        record_heartbeat(client, "reaped")
    finally:
        client.close()
    return sent


@celery.task(
    base=RetriedTask, name="tasks.maintenance.backup", soft_time_limit=1800, time_limit=1900
)
def backup() -> dict:
    """Beat, daily: one backup archive of the database and the MLflow store, old ones pruned."""
    return scheduled_backup(settings())
