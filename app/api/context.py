"""What views need, built once per process and reached through ``services()``."""

from collections.abc import Sequence
from functools import cached_property
from typing import Protocol

import redis
from flask import current_app

from app.config import Settings
from app.jobs.service import JobQueue


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

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    @cached_property
    def feature_redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.feature_store_url, socket_timeout=2)

    @cached_property
    def broker_redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.broker_url, socket_timeout=2)


def services() -> Services:
    """The current application's services."""
    return current_app.extensions["bullpen"]
