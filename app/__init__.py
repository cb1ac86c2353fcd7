"""Bullpen: MLB betting predictions served by Celery workers."""

from typing import TYPE_CHECKING

from flask import Flask

from app.config import Settings

if TYPE_CHECKING:
    from app.api.context import WorkerQueue


def create_app(settings: Settings | None = None, *, queue: "WorkerQueue") -> Flask:
    """The Flask application (the API), sending jobs through ``queue`` (see
    ``workers.api.create_api`` for the real one). Services are connected lazily."""
    from app.api import init_api
    from app.api.context import Services
    from app.api.docs import ASSETS_URL
    from app.bets.strategies import check_settings
    from app.web import init_web

    settings = settings or Settings.from_env()
    check_settings(settings)  # a bad betting setting is an error at start, not at first use
    if settings.database_url is None or settings.broker_url is None:
        raise RuntimeError(
            "BULLPEN_DATABASE_URL and BULLPEN_BROKER_URL must be set (`bullpen api` sets them)"
        )
    app = Flask("bullpen")
    app.config.update(
        API_TITLE="Bullpen",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=ASSETS_URL,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        JSON_SORT_KEYS=False,
    )
    app.extensions["bullpen"] = Services(settings, queue)
    init_api(app)
    init_web(app)
    return app
