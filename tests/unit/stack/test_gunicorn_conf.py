"""The API's gunicorn workers: what each does once it loaded the application."""

import gc
from types import SimpleNamespace

from app.stack.gunicorn_conf import post_worker_init


def test_a_worker_freezes_what_it_loaded_out_of_the_garbage_collector_s_walks() -> None:
    gc.unfreeze()
    worker = SimpleNamespace(wsgi=SimpleNamespace(extensions={}))
    try:
        post_worker_init(worker)

        assert gc.get_freeze_count() > 0  # a full collection no longer walks them
    finally:
        gc.unfreeze()
