"""The pages' door: with ``BULLPEN_API_KEYS`` set, a key with the ``read`` scope.

A bettor signs in once with a key; the session (Flask's signed cookie) keeps only the key
id, never the key, and each request checks that id against the configured keys again, so
a key removed from the configuration signs its sessions out. A script may instead send
``Authorization: Bearer KEY`` like to the API. Without keys the pages are open.
"""

from urllib.parse import urlsplit

from flask import current_app, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from app.api.auth import current_key_id, key_id, match_key
from app.web import blp

READ_SCOPE = "read"
# Reachable without signing in: the form itself, its stylesheet and the icon.
OPEN_ENDPOINTS = frozenset({"web.signin", "web.static", "web.favicon"})


def _keys() -> dict[str, frozenset[str]]:
    return current_app.extensions["bullpen"].settings.api_keys


def _scopes_of(identity: str) -> frozenset[str] | None:
    """The scopes of the configured key whose id is ``identity``; None when there is none."""
    for key, scopes in _keys().items():
        if key_id(key) == identity:
            return scopes
    return None


@blp.before_request
def require_read_key() -> Response | tuple[str, int] | None:
    """Let the request through when the pages are open or the visitor holds a read key."""
    g.web_identity = None
    if not _keys() or request.endpoint in OPEN_ENDPOINTS:
        return None
    header_key = current_key_id()  # an ``Authorization: Bearer`` key, checked like the API's
    identity = header_key or session.get("key_id")
    scopes = g.api_key_scopes if header_key else _scopes_of(identity or "")
    if scopes is None:
        session.pop("key_id", None)
        if request.method == "GET":
            return redirect(url_for("web.signin", next=request.full_path.rstrip("?")))
        return render_template("error.html", code=401, message="sign in first"), 401
    if READ_SCOPE not in scopes:
        message = "this key lacks the 'read' scope"
        return render_template("error.html", code=403, message=message), 403
    g.web_identity = identity
    return None


def _safe_next(target: str | None) -> str:
    """Only a path of this site may be the page after signing in: no scheme, no host, and
    nothing a browser would read as one (``//host``, ``/\\host``)."""
    parts = urlsplit(target or "")
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or parts.scheme
        or parts.netloc
    ):
        return url_for("web.slate")
    return target


@blp.route("/signin", methods=["GET", "POST"])
def signin() -> Response | str | tuple[str, int]:
    """The sign-in form; a key with the ``read`` scope opens the pages."""
    next_page = _safe_next(request.values.get("next"))
    if not _keys():
        return redirect(next_page)
    if request.method == "GET":
        return render_template("signin.html", next_page=next_page, error=None)
    matched = match_key(request.form.get("key", "").strip(), _keys())
    if matched is None or READ_SCOPE not in matched[1]:
        error = "unknown key" if matched is None else "this key lacks the 'read' scope"
        return render_template("signin.html", next_page=next_page, error=error), 401
    session.clear()
    session["key_id"] = key_id(matched[0])
    return redirect(next_page)


@blp.route("/signout", methods=["POST"])
def signout() -> Response:
    """Forget the signed-in key."""
    session.clear()
    return redirect(url_for("web.signin") if _keys() else url_for("web.slate"))
