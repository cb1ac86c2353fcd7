"""Liveness, readiness and Prometheus metrics."""

import sys
import threading
import time
import weakref
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import TypeVar

from flask import Response
from flask.views import MethodView
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import text

from app.api.bounds import Blueprint
from app.api.context import Services, services
from app.db.session import get_engine, session_scope
from app.metrics import BullpenCollector, MetricSources, redis_queue_lengths
from app.outages import ServiceTimeout

blp = Blueprint("health", __name__, description="Health checks and metrics")
T = TypeVar("T")


# Every readiness check answers within this, whatever its service does: a check that has not
# answered by then fails with "no answer within N s" (a hung broker connection once held
# /health/ready without any answer for 21 minutes while the rest of the API served).
CHECK_DEADLINE_SECONDS = 3.0
# One worker ping per process at a time, its answer shared by the readiness probes that asked
# meanwhile and for this long after: a burst of probes (a load balancer, a soak's retries)
# must not become a burst of broadcasts on the broker.
PING_SHARED_SECONDS = 2.0


class CheckTimedOut(ServiceTimeout):
    """A readiness check (or a metric's source) gave no answer within its deadline: a 503
    like any outage where a request meets it."""


def _check_database(svc: Services) -> str:
    with get_engine(svc.database_url).connect() as conn:
        conn.execute(text("SELECT 1"))
    return "ok"


def _check_broker(svc: Services) -> str:
    svc.broker_redis.ping()
    return "ok"


def _check_feature_store(svc: Services) -> str:
    svc.feature_redis.ping()
    return "ok"


class SharedPing:
    """The process's worker ping: one at a time, its answer reused for ``shared_seconds``."""

    def __init__(self, shared_seconds: float = PING_SHARED_SECONDS) -> None:
        self.shared_seconds = shared_seconds
        self._lock = threading.Lock()
        self._answer: tuple[float, int | BaseException] | None = None

    def __call__(self, ping: Callable[[], int]) -> int:
        with self._lock:  # the probes that come meanwhile wait for this ping's answer
            if self._answer is None or time.monotonic() - self._answer[0] > self.shared_seconds:
                try:
                    answer: int | BaseException = ping()
                except Exception as error:  # reported to every probe that shares it
                    answer = error
                self._answer = (time.monotonic(), answer)
            answer = self._answer[1]
        if isinstance(answer, BaseException):
            raise answer
        return answer


# One shared ping per job queue: an app of another broker in the same process (tests make
# several) must not be given this one's answer.
_shared_pings: "weakref.WeakKeyDictionary[object, SharedPing]" = weakref.WeakKeyDictionary()
_shared_pings_lock = threading.Lock()


def _check_worker(svc: Services) -> str:
    with _shared_pings_lock:
        shared = _shared_pings.setdefault(svc.queue, SharedPing())
    answered = shared(lambda: svc.queue.ping(timeout=1.0))
    if not answered:
        raise RuntimeError("no Celery worker answered a ping within 1 s")
    return f"{answered} worker(s)"


def _check_models(svc: Services) -> str:
    from app.ml.registry import champion_versions

    versions = champion_versions(svc.settings)
    missing = [target for target, version in versions.items() if version is None]
    if missing:
        raise RuntimeError(f"no champion model for {', '.join(missing)}")
    return ", ".join(f"{target} v{version}" for target, version in versions.items())


def _check_beat(svc: Services) -> str:
    from app.jobs.beat import beat_status

    return beat_status(svc.broker_redis, svc.settings.reap_interval_seconds)


CHECKS: dict[str, Callable[[Services], str]] = {
    "database": _check_database,
    "broker": _check_broker,
    "feature_store": _check_feature_store,
    "worker": _check_worker,
    "models": _check_models,
    # Where a beat ran in the last day: it holds its lock and its reaper runs.
    "beat": _check_beat,
}


def within(seconds: float, call: Callable[[], T]) -> T:
    """``call()``, or :class:`CheckTimedOut` once ``seconds`` passed.

    Under gevent (``bullpen api``'s worker class) the call is interrupted where it waits, so a
    hung call releases what it holds; under threads it runs on in its thread, unanswered.
    """
    if _gevent_patched():
        import gevent

        with gevent.Timeout(seconds, CheckTimedOut(f"no answer within {seconds:g} s")):
            return call()
    future = _executor().submit(call)
    try:
        return future.result(timeout=seconds)
    except FutureTimeout:
        raise CheckTimedOut(f"no answer within {seconds:g} s") from None


def run_checks(
    deadline: float = CHECK_DEADLINE_SECONDS,
) -> tuple[bool, dict[str, dict[str, str]]]:
    """Run every readiness check at once, each within ``deadline`` seconds; a failing check
    reports its error instead of raising."""
    svc = services()

    def one(check: Callable[[Services], str]) -> dict[str, str]:
        try:
            return {"status": "ok", "detail": within(deadline, lambda: check(svc))}
        except Exception as error:  # a health check reports every failure, whatever it is
            return {"status": "failing", "detail": f"{type(error).__name__}: {error}"}

    futures = {name: _executor().submit(one, check) for name, check in CHECKS.items()}
    results = {}
    for name, future in futures.items():
        try:
            # ``one`` answers within its deadline; this bound holds even if the pool is full.
            results[name] = future.result(timeout=deadline + 1)
        except FutureTimeout:
            results[name] = {"status": "failing", "detail": f"no answer within {deadline:g} s"}
    healthy = all(result["status"] == "ok" for result in results.values())
    return healthy, results


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _executor() -> ThreadPoolExecutor:
    """The process's pool for the checks (greenlets under gevent), made after any fork."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=32, thread_name_prefix="health-check")
        return _pool


def _gevent_patched() -> bool:
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and monkey.is_module_patched("threading")


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
                    queue_lengths=lambda: within(
                        CHECK_DEADLINE_SECONDS,
                        lambda: redis_queue_lengths(svc.broker_redis, queues),
                    ),
                    champion_versions=lambda: within(
                        CHECK_DEADLINE_SECONDS, lambda: champion_versions(svc.settings)
                    ),
                )
            )
        )
        return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)
