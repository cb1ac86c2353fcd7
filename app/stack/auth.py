"""Flower and the MLflow UI behind the API keys whenever ``BULLPEN_API_KEYS`` is set.

Both ask for HTTP Basic credentials: user ``bullpen``, password an API key with the
``admin`` scope (``Authorization: Bearer KEY`` works for MLflow too). Keys reach the
processes through the environment only, never a command line (``ps`` would show it).
"""

import base64
import binascii
from collections.abc import Callable, Iterable
from typing import Any

from app.api.auth import match_key
from app.config import Settings, parse_api_keys

USER = "bullpen"
REALM = 'Basic realm="bullpen"'


def operator_keys(keys: dict[str, frozenset[str]]) -> dict[str, frozenset[str]]:
    """The keys that may open the operator UIs: those with the ``admin`` scope."""
    return {key: scopes for key, scopes in keys.items() if "admin" in scopes}


def flower_basic_auth(settings: Settings) -> str | None:
    """``FLOWER_BASIC_AUTH``: ``bullpen:KEY`` for every admin key; None when the API is open."""
    if not settings.api_keys:
        return None
    # A configuration with keys but none of them admin still closes Flower: nobody may enter.
    keys = operator_keys(settings.api_keys) or {"": frozenset()}
    return ",".join(f"{USER}:{key}" for key in keys)


def _credential(header: str) -> str:
    if header.startswith("Bearer "):
        return header.removeprefix("Bearer ").strip()
    if header.startswith("Basic "):
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return password if user == USER else ""
    return ""


class RequireKey:
    """WSGI middleware: 401 unless the request carries an admin API key."""

    def __init__(self, app: Callable, keys: dict[str, frozenset[str]]) -> None:
        self.app = app
        self.keys = operator_keys(keys)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        token = _credential(environ.get("HTTP_AUTHORIZATION", ""))
        if token and match_key(token, self.keys) is not None:
            return self.app(environ, start_response)
        start_response(
            "401 Unauthorized",
            [("Content-Type", "text/plain"), ("WWW-Authenticate", REALM)],
        )
        return [b"an admin API key is required (user 'bullpen', the key as password)\n"]


def create_mlflow_app() -> Callable:
    """``mlflow server --app-name bullpen-auth``: MLflow's app, closed when keys are set."""
    import os

    from mlflow.server import app as mlflow_app

    keys = parse_api_keys(os.environ.get("BULLPEN_API_KEYS", ""))
    return RequireKey(mlflow_app, keys) if keys else mlflow_app
