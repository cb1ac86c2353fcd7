"""gunicorn settings of ``bullpen api`` (``--config python:app.stack.gunicorn_conf``)."""

from app.logs import gunicorn_logconfig

logconfig_dict = gunicorn_logconfig()
