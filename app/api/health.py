"""Liveness, readiness and Prometheus metrics."""

from collections.abc import Callable

from flask import Response
from flask.views import MethodView
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text

from app.api.bounds import Blueprint
from app.api.context import services
from app.db.session import get_engine, session_scope
from app.metrics import BullpenCollector, MetricSources, redis_queue_lengths

blp = Blueprint("health", __name__, description="Health checks and metrics")


def _check_database() -> str:
    with get_engine(services().database_url).connect() as conn:
        conn.execute(text("SELECT 1"))
    return "ok"


def _check_broker() -> str:
    services().broker_redis.ping()
    return "ok"


def _check_feature_store() -> str:
    services().feature_redis.ping()
    return "ok"


def _check_worker() -> str:
    answered = services().queue.ping(timeout=1.0)
    if not answered:
        raise RuntimeError("no Celery worker answered a ping within 1 s")
    return f"{answered} worker(s)"


def _check_models() -> str:
    from app.ml.registry import champion_versions

    versions = champion_versions(services().settings)
    missing = [target for target, version in versions.items() if version is None]
    if missing:
        raise RuntimeError(f"no champion model for {', '.join(missing)}")
    return ", ".join(f"{target} v{version}" for target, version in versions.items())


def _check_beat() -> str:
    from app.jobs.beat import beat_status

    return beat_status(services().broker_redis, services().settings.reap_interval_seconds)


CHECKS: dict[str, Callable[[], str]] = {
    "database": _check_database,
    "broker": _check_broker,
    "feature_store": _check_feature_store,
    "worker": _check_worker,
    "models": _check_models,
    # Where a beat ran in the last day: it holds its lock and its reaper runs.
    "beat": _check_beat,
}


def run_checks() -> tuple[bool, dict[str, dict[str, str]]]:
    """Run every readiness check; a failing check reports its error instead of raising."""
    results, healthy = {}, True
    for name, check in CHECKS.items():
        try:
            results[name] = {"status": "ok", "detail": check()}
        except Exception as error:  # a health check reports every failure, whatever it is
            healthy = False
            results[name] = {"status": "failing", "detail": f"{type(error).__name__}: {error}"}
    return healthy, results


@blp.route("/health")
class Health(MethodView):
    @blp.response(200)
    def get(self):
        """Every check, with details; always 200 (use /health/ready to gate traffic)."""
        healthy, checks = run_checks()
        return {"status": "ok" if healthy else "degraded", "checks": checks}


@blp.route("/health/live")
class Live(MethodView):
    @blp.response(200)
    def get(self):
        """The API process answers."""
        return {"status": "ok"}


@blp.route("/health/ready")
class Ready(MethodView):
    @blp.response(200)
    @blp.alt_response(503, description="A dependency is not ready")
    def get(self):
        """Database, broker, feature store, a live worker, a champion for every target, and the
        beat with its reaper where one runs."""
        healthy, checks = run_checks()
        failing = [name for name, check in checks.items() if check["status"] != "ok"]
        body: dict = {"status": "ok" if healthy else "not ready", "checks": checks}
        if failing:
            body["not_ready"] = failing
            body["message"] = "not ready: " + "; ".join(
                f"{name} ({checks[name]['detail']})" for name in failing
            )
        return body, (200 if healthy else 503)


@blp.route("/metrics")
class Metrics(MethodView):
    def get(self):
        """Prometheus text format: the CONTRACT's ``bullpen_*`` metrics (see app/metrics.py)."""
        from app.ml.registry import champion_versions

        svc = services()
        queues = list(svc.queue.queue_names)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(
            BullpenCollector(
                MetricSources(
                    session=lambda: session_scope(svc.database_url),
                    queue_lengths=lambda: redis_queue_lengths(svc.broker_redis, queues),
                    champion_versions=lambda: champion_versions(svc.settings),
                )
            )
        )
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
