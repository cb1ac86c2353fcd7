"""The bettor's pages: server-rendered HTML under ``/``, every asset served from here."""

from flask import Blueprint, Flask, request
from flask_wtf.csrf import CSRFProtect

blp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)
csrf = CSRFProtect()


@blp.before_request
def check_csrf_token() -> None:
    """Every form the pages post carries Flask-WTF's CSRF token (the session cookie alone, even
    ``SameSite=Lax``, is no proof that this site's page sent the form)."""
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        csrf.protect()


def init_web(app: Flask) -> None:
    """Register the pages, their sign-in gate, their error pages and their number formats."""
    from app.web import filters, pages, signin  # noqa: F401  (routes register on import)

    app.jinja_env.filters.update(filters.FILTERS)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.secret_key = app.extensions["bullpen"].settings.session_secret
    # The API authenticates by Bearer key, never by cookie: only the pages' forms need a token.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    csrf.init_app(app)
    app.register_blueprint(blp)
