"""The API process: the Flask app wired to Celery (``gunicorn 'workers.api:create_api()'``)."""

from flask import Flask

from app import create_app
from app.config import Settings
from workers.celery_app import make_celery
from workers.dispatch import CeleryJobQueue


def create_api(settings: Settings | None = None) -> Flask:
    """The API for ``settings`` (the environment when omitted), sending jobs over Celery."""
    settings = settings or Settings.from_env()
    return create_app(settings, queue=CeleryJobQueue(make_celery(settings)))
