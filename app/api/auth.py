"""Bearer API keys with scopes, enforced only when ``BULLPEN_API_KEYS`` is set.

A view states the scope it needs with :func:`requires`; otherwise reads need
``read`` and writes need ``predict``. Health, metrics and the docs stay open.
"""

from collections.abc import Callable
from typing import TypeVar

from flask import current_app, request
from flask_smorest import abort

F = TypeVar("F", bound=Callable)

OPEN_PREFIXES = ("/health", "/metrics", "/api/v1/openapi.json", "/api/v1/docs")


def requires(scope: str) -> Callable[[F], F]:
    """Mark a view function as needing ``scope``."""

    def mark(view: F) -> F:
        view.required_scope = scope  # type: ignore[attr-defined]
        return view

    return mark


def check_api_key() -> None:
    """``before_request`` hook: 401 without a known key, 403 without the needed scope."""
    keys = current_app.extensions["bullpen"].settings.api_keys
    if not keys or request.path.startswith(OPEN_PREFIXES):
        return
    header = request.headers.get("Authorization", "")
    token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
    scopes = keys.get(token)
    if scopes is None:
        abort(401, message="a valid 'Authorization: Bearer KEY' header is required")
    needed = _needed_scope()
    if needed not in scopes:
        abort(403, message=f"this key lacks the '{needed}' scope")


def _needed_scope() -> str:
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, request.method.lower(), None) if view_class else view
    scope = getattr(handler, "required_scope", None)
    if scope:
        return scope
    return "read" if request.method in ("GET", "HEAD", "OPTIONS") else "predict"
