"""Worker signals: JSON logs, pool children that share the parent's memory, and every forked
child starts with no inherited connections."""

import gc
import logging

from celery.signals import beat_init, setup_logging, worker_init, worker_process_init

from app.db.session import dispose_engines
from app.logs import configure_logging


@setup_logging.connect
def json_logs(loglevel: int | str | None = None, **_: object) -> None:
    """Celery's own logging is replaced by JSON lines carrying ``job_id`` and ``task_id``."""
    configure_logging(loglevel or logging.INFO)
    logging.getLogger("celery.worker.control").addFilter(_no_backend_to_mark_revoked)


def _no_backend_to_mark_revoked(record: logging.LogRecord) -> bool:
    """Drop Celery's warning, one per revoked task id, that there is no result backend to
    mark it revoked in: there is none by design (job state lives in PostgreSQL), and a
    micro-batch revokes its mates' messages (``tasks.jobs``)."""
    return not (
        str(record.msg).startswith("Failed to mark task")
        and "No result backend" in str(record.args[-1] if record.args else "")
    )


@worker_process_init.connect
def reset_database_pool(**_: object) -> None:
    """A pooled connection shared across a fork corrupts both processes' sessions."""
    dispose_engines()


@worker_init.connect
def share_memory_with_the_pool(**_: object) -> None:
    """Import what every pool child imports, then freeze the parent's objects, before the pool
    forks: the children then share those pages instead of each making ~110 MB of them private.

    A pool child is replaced every ``worker_max_tasks_per_child`` tasks and each used to import
    MLflow on its first model load, and its garbage collector wrote into the header of every
    object inherited from the parent, copying their pages: measured on a fresh child after its
    first jobs, 128 MB private (USS) without this, 16 MB with it (bench/soak.py, README
    "Soak").
    """
    import mlflow.lightgbm  # noqa: F401 - app.ml.registry imports it at a child's first load

    gc.freeze()


@beat_init.connect
def beat_heartbeat(sender: object = None, **_: object) -> None:
    """The beat notes its start in the broker's Redis: readiness then expects a beat here
    (app.jobs.beat.beat_status) and reports one that died."""
    import redis

    from app.jobs.beat import record_heartbeat

    client = redis.Redis.from_url(sender.app.conf.broker_url, socket_timeout=5)
    try:
        record_heartbeat(client, "started")
    finally:
        client.close()
