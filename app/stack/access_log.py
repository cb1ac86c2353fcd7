"""gunicorn's logger for ``bullpen api``: every request's access line, as before, made cheaper.

gunicorn writes an access line per request through ``logging``: a ``LogRecord``, our
:class:`~app.logs.ContextFilter`, python-json-logger's formatter and the handler, a tenth of
the API's CPU on a one-game job's three requests (py-spy, issue 21). :class:`AccessLogger`
keeps the line, its text (gunicorn's own ``access_log_format`` and atoms) and its JSON fields
and writes it straight to the stream of the handler ``gunicorn_logconfig`` gives the access
logger, under that handler's lock. Any other logging configuration (a handler added or
replaced, a formatter or filter of another kind, the logger's level above INFO) goes through
``logging`` as gunicorn does.
"""

import logging
import time
import traceback
from typing import Any

from gunicorn import glogging
from pythonjsonlogger.json import JsonFormatter

from app.logs import FORMAT, RENAMED, ContextFilter, json_line


class AccessLogger(glogging.Logger):
    """gunicorn's ``Logger`` whose access lines skip ``logging`` when it is configured as
    ``gunicorn_logconfig`` configures it."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        self._direct = direct_handler(self.access_log)

    def access(self, resp: Any, req: Any, environ: dict, request_time: Any) -> None:
        handler = getattr(self, "_direct", None)
        if handler is None or not self.access_log.isEnabledFor(logging.INFO):
            super().access(resp, req, environ, request_time)
            return
        if not self.access_log_enabled:  # as gunicorn's: no log configured, no line
            return
        try:
            atoms = self.atoms_wrapper_class(self.atoms(resp, req, environ, request_time))
            line = json_line(
                self.access_log.name, "INFO", self.cfg.access_log_format % atoms, time.time()
            )
            with handler.lock:  # as Handler.handle: one whole line at a time
                handler.stream.write(line + handler.terminator)
                handler.flush()
        except Exception:
            self.error(traceback.format_exc())


def direct_handler(logger: logging.Logger) -> logging.StreamHandler | None:
    """The one handler of ``logger`` when an access line may be written straight to its
    stream with :func:`~app.logs.json_line` and come out as ``logging`` would write it: a
    plain ``StreamHandler`` at INFO or below with our JSON formatter and only our context
    filter, on a logger that has no filter of its own and does not propagate."""
    if logger.filters or logger.propagate or len(logger.handlers) != 1:
        return None
    handler = logger.handlers[0]
    formatter = handler.formatter
    if (
        type(handler) is not logging.StreamHandler
        or handler.level > logging.INFO
        or handler.lock is None
        or type(formatter) is not JsonFormatter
        or formatter._fmt != FORMAT
        or formatter.rename_fields != RENAMED
        or formatter.static_fields
        or formatter.defaults
        or formatter.timestamp
        or formatter.json_indent is not None
        or not formatter.json_ensure_ascii
        or [type(f) for f in handler.filters] != [ContextFilter]
    ):
        return None
    return handler
