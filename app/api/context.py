"""What views need, built once per process and reached through ``services()``."""

from functools import cached_property

import redis
from celery import Celery
from flask import current_app

from app.config import Settings
from app.jobs.service import Sender


class Services:
    """Lazily connected clients for one API process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    @cached_property
    def celery(self) -> Celery:
        from workers.celery_app import make_celery

        return make_celery(self.settings)

    @cached_property
    def send(self) -> Sender:
        from workers.dispatch import celery_sender

        return celery_sender(self.celery)

    @cached_property
    def feature_redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.feature_store_url, socket_timeout=2)

    @cached_property
    def broker_redis(self) -> redis.Redis:
        return redis.Redis.from_url(self.settings.broker_url, socket_timeout=2)


def services() -> Services:
    """The current application's services."""
    return current_app.extensions["bullpen"]
