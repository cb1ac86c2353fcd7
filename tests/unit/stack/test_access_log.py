"""The API's access lines: one a request, written straight to the stream when logging is
configured as ``gunicorn_logconfig`` configures it, and the same line ``logging`` writes."""

import io
import json
import logging
import time
from collections.abc import Iterator
from datetime import timedelta
from importlib import import_module
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from app.logs import ContextFilter, job_id_var, json_formatter, json_line
from app.stack.access_log import AccessLogger, direct_handler

LOGGERS = ("", "gunicorn.error", "gunicorn.access")


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """gunicorn's logger configures ``logging`` (dictConfig): put it back for other tests."""
    saved = [
        (logger, logger.handlers[:], logger.level, logger.propagate, logger.disabled)
        for logger in map(logging.getLogger, LOGGERS)
    ]
    yield
    for logger, handlers, level, propagate, disabled in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
        logger.propagate, logger.disabled = propagate, disabled


MESSAGES = ["plain", 'quotes " and \\ backslash', "unicode é ✓ and a\nnewline", ""]


def _record(message: str, created: float) -> logging.LogRecord:
    record = logging.LogRecord("gunicorn.access", logging.INFO, __file__, 1, message, (), None)
    record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
    ContextFilter().filter(record)
    return record


@pytest.mark.parametrize("message", MESSAGES)
@pytest.mark.parametrize("job_id", [None, "4d2c3c0e-0000-0000-0000-000000000001"])
def test_a_line_is_the_one_the_json_formatter_makes(message: str, job_id: str | None) -> None:
    token = job_id_var.set(job_id)
    try:
        for created in (1765148400.0, 1765148400.9999, time.time()):
            assert json_line("gunicorn.access", "INFO", message, created) == (
                json_formatter().format(_record(message, created))
            )
    finally:
        job_id_var.reset(token)


def _api_logger() -> AccessLogger:
    """gunicorn's logger as ``bullpen api`` configures it (app.stack.gunicorn_conf)."""
    cfg = Config()
    for name, value in vars(import_module("app.stack.gunicorn_conf")).items():
        if name in cfg.settings:
            cfg.set(name, value)
    logger = cfg.logger_class(cfg)
    assert isinstance(logger, AccessLogger)
    logger.now = lambda: "[07/Dec/2026:22:00:00 +0000]"  # both paths in the same second
    return logger


def _request(logger: AccessLogger) -> str:
    """One request's access line, as written to the access handler's stream."""
    handler = logging.getLogger("gunicorn.access").handlers[0]
    handler.stream = io.StringIO()
    response = SimpleNamespace(status="202 ACCEPTED", headers=[("Content-Type", "x")], sent=99)
    request = SimpleNamespace(headers=[("Host", "localhost")])
    environ = {
        "REQUEST_METHOD": "POST", "RAW_URI": '/api/v1/predict?q="x"', "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1", "HTTP_USER_AGENT": "client/é",
    }  # fmt: skip
    logger.access(response, request, environ, timedelta(microseconds=1500))
    return handler.stream.getvalue()


def test_the_api_s_access_line_skips_logging_and_is_the_line_logging_writes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    logger = _api_logger()
    assert logger._direct is logging.getLogger("gunicorn.access").handlers[0]
    monkeypatch.setattr(time, "time", lambda: 1765148400.25)  # the LogRecord's clock too
    direct = _request(logger)
    monkeypatch.setattr(logger, "_direct", None)  # gunicorn's own path, through logging
    through_logging = _request(logger)

    assert direct == through_logging
    assert direct.count("\n") == 1
    line = json.loads(direct)
    assert line["logger"] == "gunicorn.access" and line["level"] == "INFO"
    assert line["message"].startswith('127.0.0.1 - - [07/Dec/2026:22:00:00 +0000] "POST')


def test_any_other_logging_configuration_goes_through_logging() -> None:
    logger = _api_logger()
    access = logging.getLogger("gunicorn.access")
    handler = access.handlers[0]
    assert direct_handler(access) is handler

    handler.setFormatter(logging.Formatter("%(message)s"))
    assert direct_handler(access) is None
    handler.setFormatter(json_formatter())
    handler.addFilter(logging.Filter("gunicorn"))
    assert direct_handler(access) is None
    handler.filters = handler.filters[:1]
    access.addHandler(logging.StreamHandler(io.StringIO()))
    try:
        assert direct_handler(access) is None
    finally:
        access.handlers = [handler]
    handler.setLevel(logging.WARNING)
    assert direct_handler(access) is None
    handler.setLevel(logging.NOTSET)
    assert direct_handler(access) is handler

    logger.setup(logger.cfg)  # a reload: configured anew
    assert logger._direct is access.handlers[0]


def test_a_disabled_access_logger_writes_nothing() -> None:
    logger = _api_logger()
    logging.getLogger("gunicorn.access").setLevel(logging.WARNING)
    try:
        assert _request(logger) == ""
    finally:
        logging.getLogger("gunicorn.access").setLevel(logging.INFO)
