"""JSON log lines for every process, each carrying the ``job_id`` and ``task_id`` in effect.

``job_id`` comes from :data:`job_id_var` (set while a task works on a job) or from a log
call's ``extra``; ``task_id`` from Celery's current task. Both are null elsewhere.
"""

import logging
import sys
from contextvars import ContextVar
from typing import Any

from pythonjsonlogger.json import JsonFormatter

job_id_var: ContextVar[str | None] = ContextVar("bullpen_job_id", default=None)

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s %(job_id)s %(task_id)s %(process)d"
RENAMED = {"asctime": "time", "levelname": "level", "name": "logger"}


class ContextFilter(logging.Filter):
    """Add ``job_id`` and ``task_id`` to every record that lacks them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "job_id", None) is None:
            record.job_id = job_id_var.get()
        if getattr(record, "task_id", None) is None:
            record.task_id = _current_task_id()
        return True


def _current_task_id() -> str | None:
    if "celery" not in sys.modules:
        return None
    from celery import current_task

    request = getattr(current_task, "request", None) if current_task else None
    return getattr(request, "id", None)


def json_formatter() -> JsonFormatter:
    """The formatter of every Bullpen log line."""
    return JsonFormatter(FORMAT, rename_fields=RENAMED)


def configure_logging(level: int | str = logging.INFO) -> None:
    """Send the root logger's records to stderr as JSON lines (replacing its handlers)."""
    handler = logging.StreamHandler()
    handler.setFormatter(json_formatter())
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)


def gunicorn_logconfig(level: str = "INFO") -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for gunicorn: its own and the app's lines as JSON."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"context": {"()": ContextFilter}},
        "formatters": {"json": {"()": json_formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
                "filters": ["context"],
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": ["stderr"], "propagate": False},
            "gunicorn.access": {"level": level, "handlers": ["stderr"], "propagate": False},
        },
    }
