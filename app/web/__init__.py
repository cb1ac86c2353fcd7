"""The bettor's pages: server-rendered HTML under ``/``, every asset served from here."""

from flask import Blueprint, Flask

blp = Blueprint(
    "web",
    __name__,
    template_folder="templates",
    static_folder="static",
    static_url_path="/assets",
)


def init_web(app: Flask) -> None:
    """Register the pages, their sign-in gate, their error pages and their number formats."""
    from app.web import filters, pages, signin  # noqa: F401  (routes register on import)

    app.jinja_env.filters.update(filters.FILTERS)
    app.config.setdefault("SESSION_COOKIE_SAMESITE", "Lax")
    app.secret_key = app.extensions["bullpen"].settings.session_secret
    app.register_blueprint(blp)
