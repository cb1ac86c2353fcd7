"""The API's gunicorn workers: what each does once it loaded the application."""

import gc
from importlib import import_module
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


def test_no_control_socket_is_shared_with_other_installations() -> None:
    """gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl):
    each installation's API would take it from the last one started."""
    from gunicorn.config import Config

    cfg = Config()
    for name, value in vars(import_module("app.stack.gunicorn_conf")).items():
        if name in cfg.settings:
            cfg.set(name, value)

    assert cfg.control_socket_disable is True
