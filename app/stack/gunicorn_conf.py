"""gunicorn settings of ``bullpen api`` (``--config python:app.stack.gunicorn_conf``)."""

import gc
import sys
from typing import Any

from app.logs import gunicorn_logconfig

logconfig_dict = gunicorn_logconfig()
# gunicorn's control socket (for ``gunicornc``) defaults to one path per user,
# ~/.gunicorn/gunicorn.ctl: every installation and test stack on a machine would take it from
# the one before, and a home that cannot be written fails it. supervisord runs the API.
control_socket_disable = True


def post_worker_init(worker: Any) -> None:
    """Check psycopg cooperates with gevent, start the worker's job-event listener, then
    freeze what the worker loaded.

    psycopg picks its wait function when first imported: imported before gevent's
    monkey-patching (say, by a ``--preload``), it would wait in C and stall every greenlet.
    The listener starts now rather than on the first long poll, so that one is not missed.
    The application and every module it imported live as long as the worker: frozen, the
    garbage collector no longer walks them in each full collection, which took 100-300 ms
    of a worker (every request it held waiting) several times a minute under load.
    """
    monkey = sys.modules.get("gevent.monkey")
    if monkey is not None and monkey.is_module_patched("select"):
        from psycopg import waiting

        if waiting.wait is getattr(waiting, "wait_c", None):
            raise RuntimeError("psycopg was imported before gevent patched select")
    services = worker.wsgi.extensions.get("bullpen")
    if services is not None:
        services.job_events.start()
    gc.collect()  # the start-up's garbage is not frozen with the rest
    gc.freeze()
