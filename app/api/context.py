"""What views need, built once per process and reached through ``services()``."""

import threading
from collections.abc import Sequence
from functools import cached_property
from typing import Protocol

import redis
from flask import current_app

from app.config import Settings
from app.db.session import pool_settings
from app.features.definitions import FEATURE_SET
from app.features.store import FeatureStore
from app.jobs.events import JobEvents, libpq_conninfo
from app.jobs.service import JobQueue
from app.redis_clients import bounded_redis


class WorkerQueue(JobQueue, Protocol):
    """The job queue the API is given (``workers.dispatch.CeleryJobQueue``), which can also
    say which workers answer and which queues exist."""

    queue_names: Sequence[str]

    def ping(self, timeout: float = 1.0) -> int:
        """How many workers answered within ``timeout`` seconds."""


class Services:
    """Lazily connected clients for one API process; the job queue is injected."""

    def __init__(self, settings: Settings, queue: WorkerQueue) -> None:
        self.settings = settings
        self.queue = queue
        self._events_lock = threading.Lock()
        self._job_events: JobEvents | None = None

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    @property
    def job_events(self) -> JobEvents:
        """The process's one job-change listener, started on first use (after any fork)."""
        with self._events_lock:
            if self._job_events is None:
                # Re-reads take at most the pool's kept connections; its overflow stays free
                # for every other request.
                self._job_events = JobEvents(
                    libpq_conninfo(self.database_url), max_reads=pool_settings()["pool_size"]
                ).start()
            return self._job_events

    @cached_property
    def feature_redis(self) -> redis.Redis:
        return bounded_redis(self.settings.feature_store_url)

    @cached_property
    def feature_store(self) -> FeatureStore:
        """The process's reader of stored features (one connection, held)."""
        return FeatureStore(self.feature_redis, FEATURE_SET)

    @cached_property
    def broker_redis(self) -> redis.Redis:
        return bounded_redis(self.settings.broker_url)


def services() -> Services:
    """The current application's services."""
    return current_app.extensions["bullpen"]
