"""The API's readiness and metrics through a broker outage (the 60-minute soak's finding:
after a 60-s broker outage ``/health/ready`` and ``/metrics`` hung for 21 minutes)."""

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from app.config import Settings
from tests.chaos.conftest import RedisServer
from tests.integration.servers import api_server

pytestmark = pytest.mark.chaos

# Readiness runs every check under a deadline of its own, all at once (app/api/health.py).
ANSWER_WITHIN_S = 5.0
PROBES = 24  # at a time: more than the broker connection pool's 10 (broker_pool_limit)


def _probe(base: str, path: str) -> tuple[float, int, dict]:
    started = time.monotonic()
    try:
        response = requests.get(f"{base}{path}", timeout=30)
    except requests.RequestException:
        return time.monotonic() - started, 0, {}
    body = response.json() if path.startswith("/health") else {}
    return time.monotonic() - started, response.status_code, body


def _volley(base: str, pool: ThreadPoolExecutor) -> list[tuple[float, int, dict]]:
    """``PROBES`` readiness probes and a few metrics scrapes at once."""
    paths = ["/health/ready"] * PROBES + ["/metrics"] * 4
    return list(pool.map(lambda path: (path, *_probe(base, path)), paths))


def test_readiness_and_metrics_answer_during_and_after_a_broker_outage(
    settings: Settings, tmp_path: Path
) -> None:
    broker = RedisServer(tmp_path / "broker")
    broker.start()
    served = replace(settings, broker_url=broker.url)
    pool = ThreadPoolExecutor(PROBES + 4)
    try:
        with api_server(served.as_env(), workers=1) as (base, _):
            # The first one creates the test's empty MLflow store (seconds, once).
            assert _probe(base, "/health/ready")[1] == 503
            before = _volley(base, pool)
            assert all(seconds < ANSWER_WITHIN_S for _, seconds, _, _ in before), before

            broker.kill()
            during = []
            for _ in range(3):
                during += _volley(base, pool)
            slow = [(path, round(s, 1), code) for path, s, code, _ in during
                    if s >= ANSWER_WITHIN_S or code == 0]  # fmt: skip
            assert not slow, f"no answer within {ANSWER_WITHIN_S} s while the broker was down"
            ready = [body for path, _, _, body in during if path == "/health/ready"]
            assert all(body["checks"]["broker"]["status"] == "failing" for body in ready)
            assert {code for path, _, code, _ in during if path == "/metrics"} == {503}

            broker.start()  # on the same port, as a restart
            back = time.monotonic()
            after = []
            while time.monotonic() - back < 20:
                volley = _volley(base, pool)
                after += volley
                if all(
                    body["checks"]["broker"]["status"] == "ok"
                    for path, _, _, body in volley
                    if path == "/health/ready"
                ) and all(code == 200 for path, _, code, _ in volley if path == "/metrics"):
                    break
            slow = [(path, round(s, 1), code) for path, s, code, _ in after
                    if s >= ANSWER_WITHIN_S or code == 0]  # fmt: skip
            assert not slow, f"no answer within {ANSWER_WITHIN_S} s after the broker came back"
            assert time.monotonic() - back < 20, "the broker check never passed again"
            print(f"\nslowest answer: before {max(s for _, s, _, _ in before):.2f} s, "
                  f"broker down {max(s for _, s, _, _ in during):.2f} s, back "
                  f"{max(s for _, s, _, _ in after):.2f} s; broker ok again after "
                  f"{time.monotonic() - back:.1f} s")  # fmt: skip
            # And it stays so: the next volleys answer as fast.
            for _ in range(3):
                again = _volley(base, pool)
                assert all(s < ANSWER_WITHIN_S and code for _, s, code, _ in again), again
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        if broker.process is not None and broker.process.poll() is None:
            broker.kill()
