"""Schemathesis over ``/api/v1/openapi.json``: every check, every phase, and never a 5xx.

The API runs in a real HTTP server (Werkzeug, threaded) over an installation of its own: its
own database, broker, feature store and MLflow, bootstrapped from the sample, with a worker
of its own, so the stateful phase's trainings and promotions touch no other test. The
schemathesis CLI drives it with a fixed seed and a bounded budget; the run's HAR report holds
every exchange, and the test counts the 5xx answers in it.
"""

import json
import os
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis
from werkzeug.serving import make_server

from app.config import Settings
from tests.bootstrap_cache import seed
from tests.conftest import fresh_database
from tests.integration.conftest import redis_database, start_worker, stop_worker
from tests.servers import serving
from workers.api import create_api

pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

SEED = 20240412
MAX_EXAMPLES = 12
MAX_TIME_SECONDS = 100


# Redis databases no other test uses.
BROKER_DB, FEATURE_STORE_DB = 5, 6


@pytest.fixture
def installation(settings: Settings, tmp_path: Path) -> Iterator[Settings]:
    """A bootstrapped installation of its own, with a worker, on the session's servers."""
    with fresh_database(settings.database_url) as database_url:
        own = replace(
            settings,
            database_url=database_url,
            broker_url=redis_database(settings.broker_url, BROKER_DB),
            feature_store_url=redis_database(settings.broker_url, FEATURE_STORE_DB),
            mlflow_tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}",
            var_dir=tmp_path,
        )
        seed(own)
        worker = start_worker(own, concurrency=1)
        try:
            yield own
        finally:
            stop_worker(worker)
            for url in (own.broker_url, own.feature_store_url):
                redis.Redis.from_url(url).flushdb()


@pytest.fixture
def live_api(installation: Settings) -> Iterator[str]:
    """The API served over HTTP on a free loopback port; its base URL."""
    unlimited = "100000/minute"
    app = create_api(
        replace(installation, rate_limit_default=unlimited, rate_limit_submit=unlimited)
    )
    with serving(make_server("127.0.0.1", 0, app, threaded=True)) as url:
        yield url


def test_no_operation_answers_a_server_error(live_api: str, tmp_path: Path) -> None:
    har = tmp_path / "run.har"
    command = [
        sys.executable, "-m", "schemathesis.cli", "run", f"{live_api}/api/v1/openapi.json",
        "--checks", "all",
        "--phases", "examples,coverage,fuzzing,stateful",
        "--seed", str(SEED),
        "--max-examples", str(MAX_EXAMPLES),
        "--max-time", str(MAX_TIME_SECONDS),
        "--workers", "1",
        "--request-timeout", "45",
        "--no-shrink",
        "--suppress-health-check", "all",
        "--report", "har", "--report-har-path", str(har),
    ]  # fmt: skip
    run = subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=MAX_TIME_SECONDS + 200,
        env={**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_OUTPUT_TRUNCATE": "true"},
    )
    summary = run.stdout[-6000:]
    assert har.exists(), run.stdout[-4000:] + run.stderr[-4000:]
    entries = json.loads(har.read_text())["log"]["entries"]
    server_errors = Counter(
        (entry["request"]["method"], entry["request"]["url"].split("?")[0].replace(live_api, ""))
        for entry in entries
        if entry["response"]["status"] >= 500 and not _documented_503(entry)
    )
    ready_503 = sum(_documented_503(entry) for entry in entries)
    print(f"schemathesis seed={SEED} max_examples={MAX_EXAMPLES}: {len(entries)} requests, "
          f"{sum(server_errors.values())} 5xx (+{ready_503} documented 503 of /health/ready)"
          f"\n{summary}")  # fmt: skip
    assert len(entries) > 200, summary
    assert not server_errors, f"{server_errors}\n{summary}"


def _documented_503(entry: dict) -> bool:
    """``/health/ready`` answers 503 by design while a dependency (here: a worker) is missing."""
    return entry["response"]["status"] == 503 and entry["request"]["url"].split("?")[0].endswith(
        "/health/ready"
    )
