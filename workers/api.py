"""The API process: the Flask app wired to Celery (``gunicorn 'workers.api:create_api()'``)."""

from flask import Flask

from app import create_app
from app.config import Settings
from app.redis_clients import bounded_redis
from workers.celery_app import make_celery
from workers.dispatch import CeleryJobQueue


def create_api(settings: Settings | None = None) -> Flask:
    """The API for ``settings`` (the environment when omitted), sending jobs over Celery."""
    settings = settings or Settings.from_env()
    celery = make_celery(settings)
    # A "task-sent" event is a second Redis publish per submission: the job row already says
    # it was sent, and workers still report received/started/succeeded to Flower.
    celery.conf.task_send_sent_event = False
    # A message is one LPUSH on a client of its own (not the readiness probes' pool); a
    # pooled connection the broker closed (a restart) is replaced when it is drawn.
    return create_app(settings, queue=CeleryJobQueue(celery, bounded_redis(settings.broker_url)))
