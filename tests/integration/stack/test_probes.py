"""`bullpen probe worker`: a real worker on this host answers; a host with none does not."""

import os
import subprocess
import sys

import pytest

from app.config import Settings
from app.stack.probes import worker_answers

pytestmark = pytest.mark.integration


def test_the_sessions_worker_answers_under_this_hosts_name(worker, seeded: Settings):
    assert worker_answers(seeded.broker_url)
    assert not worker_answers(seeded.broker_url, timeout=1, host="no-such-host.invalid")


def test_the_probe_command_exits_by_what_it_found(worker, seeded: Settings):
    env = {**os.environ, **seeded.as_env()}
    serving = subprocess.run(
        [sys.executable, "-m", "app.cli", "probe", "worker"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert (serving.returncode, serving.stdout.strip()) == (0, "worker: serving")
    no_api = subprocess.run(
        [sys.executable, "-m", "app.cli", "probe", "api", "--port", "1"],
        env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert (no_api.returncode, no_api.stdout.strip()) == (1, "api: NOT serving")
