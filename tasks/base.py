"""What every task shares: settings, the retry policy of its base class, and the job task base."""

import logging
import uuid
from datetime import timedelta
from functools import cache

from celery import Task
from celery.exceptions import SoftTimeLimitExceeded

from app.config import Settings
from app.db.session import session_scope
from app.jobs.service import fail, lease_duration, renew_lease
from app.kinds import WorkerResources
from app.logs import job_id_var
from app.outages import TRANSIENT_ERRORS  # errors worth retrying

log = logging.getLogger(__name__)

MAX_RETRIES = 6


@cache
def settings() -> Settings:
    """This worker process's settings (the environment ``bullpen worker`` was given)."""
    return Settings.from_env()


@cache
def resources() -> WorkerResources:
    """This worker process's feature store and champion models, shared by its jobs."""
    return WorkerResources(settings())


class RetriedTask(Task):
    """The base of every task: a transient error (PostgreSQL or Redis down) is retried with
    jittered exponential backoff (Celery's autoretry); once the retries are spent it fails."""

    autoretry_for = TRANSIENT_ERRORS
    max_retries = MAX_RETRIES
    # Waits drawn from [0, 2, 4, ... 60] s: about a minute in all, the time a restarting
    # PostgreSQL or Redis takes on a busy machine.
    retry_backoff = 2
    retry_backoff_max = 60
    retry_jitter = True

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if isinstance(exc, TRANSIENT_ERRORS):
            log.error("%s gave up after %d retries: %s", self.name, self.max_retries, exc)


class JobTask(RetriedTask):
    """The base of every job task (first argument: the job id).

    Retried as every task is; any other failure, the last retry's or a soft time limit,
    fails the job with its reason.
    """

    def __call__(self, job_id: str, *args: object) -> object:
        token = job_id_var.set(job_id)
        try:
            return super().__call__(job_id, *args)
        finally:
            job_id_var.reset(token)

    def on_retry(self, exc, task_id, args, kwargs, einfo) -> None:
        """An attempt waiting out its retry's countdown is alive: its lease covers the wait
        (a chunk task holds no lease; nothing changes for it)."""
        hold = lease_duration() + timedelta(seconds=self.retry_backoff_max)
        try:
            with session_scope(settings().database_url) as session:
                renew_lease(session, uuid.UUID(args[0]), task_id, hold)
        except TRANSIENT_ERRORS:  # the database is what failed: the reaper judges later
            log.warning("could not hold the lease through the retry")

    def on_failure(self, exc, task_id, args, kwargs, einfo) -> None:
        if isinstance(exc, SoftTimeLimitExceeded):
            reason = "the task ran out of time"
        elif isinstance(exc, TRANSIENT_ERRORS):
            reason = f"gave up after {self.max_retries} retries: {exc}"
        else:
            reason = f"{type(exc).__name__}: {exc}"
        log.error("job failed: %s", reason, extra={"job_id": args[0]})
        try:
            fail(settings().database_url, uuid.UUID(args[0]), reason)
        except TRANSIENT_ERRORS:  # the lease runs out and the reaper tries the job again
            log.exception("could not record the failure")
