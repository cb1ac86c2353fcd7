"""What every job task shares: settings, retries for transient errors, failure recording."""

import logging
import uuid
from collections.abc import Callable
from functools import cache

import redis
import sqlalchemy.exc
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from app.config import Settings
from app.jobs.service import fail
from app.logs import job_id_var

log = logging.getLogger(__name__)

# Errors worth retrying: the database or Redis was briefly unreachable.
TRANSIENT_ERRORS = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    redis.ConnectionError,
    redis.TimeoutError,
)
MAX_RETRIES = 5


@cache
def settings() -> Settings:
    """This worker process's settings (the environment ``bullpen worker`` was given)."""
    return Settings.from_env()


def run_job_task(task: Task, job_id: str, work: Callable[[uuid.UUID, str], None]) -> None:
    """Run ``work(job_id, task_id)``: retry transient errors with backoff, else fail the job."""
    job_uuid = uuid.UUID(job_id)
    token = job_id_var.set(job_id)
    log.info("job task started", extra={"kind": task.name, "attempt": task.request.retries})
    try:
        work(job_uuid, task.request.id)
        log.info("job task done")
    except TRANSIENT_ERRORS as error:
        if task.request.retries < MAX_RETRIES:
            raise task.retry(exc=error, countdown=2**task.request.retries) from error
        _fail(job_uuid, f"gave up after {MAX_RETRIES} retries: {error}")
    except SoftTimeLimitExceeded:
        _fail(job_uuid, "the task ran out of time")
    except Exception as error:  # the job records any other failure; the worker goes on
        log.exception("job %s failed", job_id)
        _fail(job_uuid, f"{type(error).__name__}: {error}")
    finally:
        job_id_var.reset(token)


def _fail(job_id: uuid.UUID, message: str) -> None:
    fail(settings().database_url, job_id, message)
