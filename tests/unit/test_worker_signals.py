"""The worker's main process prepares its pool children to share its memory."""

import gc
import logging
import sys

from workers.signals import share_memory_with_the_pool


def test_the_worker_main_imports_what_children_load_and_freezes_its_objects():
    gc.unfreeze()
    assert gc.get_freeze_count() == 0
    try:
        share_memory_with_the_pool()
        assert "mlflow.lightgbm" in sys.modules
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()


def test_only_the_no_result_backend_warning_of_a_revoke_is_dropped():
    from celery import Celery

    from workers.signals import _no_backend_to_mark_revoked

    try:  # what the revoke of a worker of an app without a result backend meets
        Celery("no-backend").backend.get_state("task-1")
    except NotImplementedError as error:
        no_backend = error

    def record(msg: str, *args: object) -> logging.LogRecord:
        return logging.LogRecord("celery.worker.control", logging.WARNING, "", 0, msg, args, None)

    revoked = "Failed to mark task %s as revoked in backend: %s"
    assert not _no_backend_to_mark_revoked(record(revoked, "task-1", no_backend))
    assert _no_backend_to_mark_revoked(record(revoked, "task-1", ConnectionError("down")))
    assert _no_backend_to_mark_revoked(record("Terminating %s (%s)", "task-1", "SIGTERM"))
