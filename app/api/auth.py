"""Bearer API keys with scopes, enforced only when ``BULLPEN_API_KEYS`` is set.

A view states the scope it needs with :func:`requires`; otherwise reads need
``read`` and writes need ``predict``. Health, metrics and the docs stay open.

Keys are compared in constant time against every configured key, and a key is never
logged: logs, rate limits and idempotency scopes use its *key id*, a short hash.
Every request needing ``admin`` writes one audit line (key id, action, target, status).
"""

import hashlib
import hmac
import logging
from collections.abc import Callable
from typing import TypeVar

from flask import Response, current_app, g, request
from flask_smorest import abort

F = TypeVar("F", bound=Callable)

OPEN_PREFIXES = ("/health", "/metrics", "/api/v1/openapi.json", "/api/v1/docs")
# Blueprints with a door of their own: the bettor's pages (app/web/signin.py) take a signed-in
# session as well as a Bearer key.
SESSION_BLUEPRINTS = frozenset({"web"})
# The key id of requests when no keys are configured (the open loopback default).
OPEN_KEY_ID = ""

audit_log = logging.getLogger("bullpen.audit")


def requires(scope: str) -> Callable[[F], F]:
    """Mark a view function as needing ``scope``."""

    def mark(view: F) -> F:
        view.required_scope = scope  # type: ignore[attr-defined]
        return view

    return mark


def key_id(key: str) -> str:
    """The public name of a key: the first 12 hex digits of its SHA-256."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:12]


def _digest(value: str) -> bytes:
    return hashlib.sha256(value.encode("utf-8", "surrogateescape")).digest()


def match_key(token: str, keys: dict[str, frozenset[str]]) -> tuple[str, frozenset[str]] | None:
    """The configured key equal to ``token`` and its scopes, compared in constant time.

    Every key is compared (no early exit), on equal-length digests, so the time taken
    tells nothing about which key, or how much of one, matched.
    """
    wanted = _digest(token)
    found = None
    for key, scopes in keys.items():
        if hmac.compare_digest(wanted, _digest(key)) and token:
            found = (key, scopes)
    return found


def current_key_id() -> str:
    """The key id of the request's valid key; :data:`OPEN_KEY_ID` without keys or a valid one."""
    if "api_key_id" not in g:
        keys = current_app.extensions["bullpen"].settings.api_keys
        header = request.headers.get("Authorization", "")
        token = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else ""
        matched = match_key(token, keys) if keys else None
        g.api_key_id = key_id(matched[0]) if matched else OPEN_KEY_ID
        g.api_key_scopes = matched[1] if matched else None
    return g.api_key_id


def check_api_key() -> None:
    """``before_request`` hook: 401 without a known key, 403 without the needed scope."""
    keys = current_app.extensions["bullpen"].settings.api_keys
    if not keys or request.path.startswith(OPEN_PREFIXES):
        return
    if request.blueprint in SESSION_BLUEPRINTS:
        return
    current_key_id()
    scopes = g.api_key_scopes
    if scopes is None:
        abort(401, message="a valid 'Authorization: Bearer KEY' header is required")
    needed = _needed_scope()
    if needed not in scopes:
        abort(403, message=f"this key lacks the '{needed}' scope")


def audit_admin_action(response: Response) -> Response:
    """``after_request`` hook: one audit line per request to an ``admin`` endpoint."""
    if request.endpoint and _needed_scope() == "admin":
        audit_log.info(
            "admin action",
            extra={
                "audit": True,
                "key_id": current_key_id() or "open",
                "action": request.endpoint,
                "method": request.method,
                "target": request.path,
                "status": response.status_code,
            },
        )
    return response


def _needed_scope() -> str:
    view = current_app.view_functions.get(request.endpoint or "")
    view_class = getattr(view, "view_class", None)
    handler = getattr(view_class, request.method.lower(), None) if view_class else view
    scope = getattr(handler, "required_scope", None)
    if scope:
        return scope
    return "read" if request.method in ("GET", "HEAD", "OPTIONS") else "predict"
