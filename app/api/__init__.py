"""The REST API: one flask-smorest blueprint per resource, errors as ``{code, message, errors}``."""

import logging

from flask import Flask, jsonify, request
from flask_limiter import Limiter
from flask_smorest import Api as SmorestApi
from werkzeug.exceptions import HTTPException

from app.api.auth import OPEN_PREFIXES, audit_admin_action, check_api_key, current_key_id
from app.api.bounds import CONVERTERS, path_schema
from app.config import Settings
from app.outages import TRANSIENT_ERRORS

log = logging.getLogger(__name__)

OUTAGE_RETRY_AFTER_SECONDS = 5


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
        for name, value in error.get_headers():
            if name.lower() in ("allow", "retry-after", "www-authenticate"):
                response.headers[name] = value
        return response


def outage(error: Exception):
    """503 with ``Retry-After`` (not a 500) while PostgreSQL or the broker is unreachable."""
    log.warning("a service is unreachable: %s", str(error).splitlines()[0][:300])
    response = jsonify(
        {
            "code": 503,
            "status": "Service Unavailable",
            "message": "a service the API needs is unreachable (restarting?); retry shortly",
            "errors": {"service": type(error).__module__.split(".")[0]},
        }
    )
    response.status_code = 503
    response.headers["Retry-After"] = str(OUTAGE_RETRY_AFTER_SECONDS)
    return response


def rate_limit_key() -> str:
    """Rate limits count per API key (its key id)."""
    return current_key_id() or f"addr:{request.remote_addr}"


def init_limiter(app: Flask, settings: Settings) -> Limiter:
    """Per-key limits in the broker's Redis; 429 with ``Retry-After`` past them.

    ``BULLPEN_RATE_LIMIT`` bounds every request, ``BULLPEN_RATE_LIMIT_SUBMIT`` the POSTs that
    start work (shared across them). Health, metrics and the docs are not limited. A Redis
    outage lets requests through rather than failing them. Without ``BULLPEN_API_KEYS`` the
    API runs open on loopback for one operator: there is no key to count per, and every
    local client shares one address, so nothing is limited.
    """
    limiter = Limiter(
        rate_limit_key,
        app=app,
        default_limits=[settings.rate_limit_default],
        storage_uri=settings.broker_url,
        storage_options={"socket_timeout": 2},
        strategy="moving-window",
        headers_enabled=True,
        swallow_errors=True,
        key_prefix="bullpen-ratelimit",
    )
    limiter.request_filter(lambda: not settings.api_keys or request.path.startswith(OPEN_PREFIXES))
    return limiter


def init_api(app: Flask) -> None:
    """Register the blueprints, the health endpoints and the API-key check on ``app``."""
    from app.api import bets, data, docs, fair, games, health, jobs, predict, strategies
    from app.api import features as features_api
    from app.api import feeds as feeds_api
    from app.api import ingest as ingest_api
    from app.api import models as models_api

    settings = app.extensions["bullpen"].settings
    app.url_map.converters.update(CONVERTERS)
    api = Api(app)
    for converter in CONVERTERS.values():
        api.register_converter(converter, path_schema)
    limiter = init_limiter(app, settings)
    submit_limit = limiter.shared_limit(
        settings.rate_limit_submit, scope="submit", methods=["POST"], override_defaults=False
    )
    for module in (predict, ingest_api, models_api, features_api, feeds_api, bets):
        submit_limit(module.blp)
    api.spec.components.security_scheme(
        "bearer", {"type": "http", "scheme": "bearer", "description": "BULLPEN_API_KEYS key"}
    )
    blueprints = (
        predict, jobs, games, data, ingest_api, models_api, features_api, feeds_api, bets, fair
    )  # fmt: skip
    for module in (*blueprints, strategies):
        api.register_blueprint(module.blp, url_prefix=f"/api/v1{module.URL_PREFIX}")
    api.register_blueprint(bets.bankroll_blp, url_prefix=f"/api/v1{bets.BANKROLL_URL_PREFIX}")
    api.register_blueprint(fair.arbitrage_blp, url_prefix=f"/api/v1{fair.ARBITRAGE_URL_PREFIX}")
    api.register_blueprint(health.blp)
    app.register_blueprint(docs.blp)
    for error in TRANSIENT_ERRORS:
        app.register_error_handler(error, outage)
    app.before_request(check_api_key)
    app.after_request(audit_admin_action)
