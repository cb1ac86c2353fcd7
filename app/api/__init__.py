"""The REST API: one flask-smorest blueprint per resource, errors as ``{code, message, errors}``."""

from flask import Flask, jsonify
from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException

from app.api.auth import check_api_key


class Api(SmorestApi):
    """flask-smorest's Api with every error carrying ``code``, ``message`` and ``errors``."""

    def handle_http_exception(self, error: HTTPException):
        data = getattr(error, "data", None) or {}
        errors = data.get("errors") or data.get("messages") or {}
        if isinstance(errors, dict) and set(errors) <= {"json", "query", "files", "form"}:
            # webargs nests field errors by location; one location is the common case.
            errors = errors.get("json") or errors.get("query") or errors.get("files") or errors
        payload = {
            "code": error.code,
            "status": error.name,
            "message": data.get("message") or error.description,
            "errors": errors,
        }
        response = jsonify(payload)
        response.status_code = error.code
        for name, value in (data.get("headers") or {}).items():
            response.headers[name] = value
        return response


def init_api(app: Flask) -> None:
    """Register the blueprints, the health endpoints and the API-key check on ``app``."""
    from app.api import bets, data, games, health, jobs, predict
    from app.api import features as features_api
    from app.api import ingest as ingest_api
    from app.api import models as models_api

    api = Api(app)
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "BULLPEN_API_KEYS key"}
    )
    for module in (predict, jobs, games, data, ingest_api, models_api, features_api, bets):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1{module.URL_PREFIX}")
    api.register_blueprint(bets.bankroll_blp, url_prefix=f"/api/v1{bets.BANKROLL_URL_PREFIX}")
    api.register_blueprint(health.blp)
    app.before_request(check_api_key)
