"""Worker signals: JSON logs, and every forked child starts with no inherited connections."""

import logging

from celery.signals import setup_logging, worker_process_init

from app.db.session import dispose_engines
from app.logs import configure_logging


@setup_logging.connect
def json_logs(loglevel: int | str | None = None, **_: object) -> None:
    """Celery's own logging is replaced by JSON lines carrying ``job_id`` and ``task_id``."""
    configure_logging(loglevel or logging.INFO)


@worker_process_init.connect
def reset_database_pool(**_: object) -> None:
    """A pooled connection shared across a fork corrupts both processes' sessions."""
    dispose_engines()
