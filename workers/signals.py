"""Worker signals: every forked child starts with no inherited database connections."""

from celery.signals import worker_process_init

from app.db.session import dispose_engines


@worker_process_init.connect
def reset_database_pool(**_: object) -> None:
    """A pooled connection shared across a fork corrupts both processes' sessions."""
    dispose_engines()
