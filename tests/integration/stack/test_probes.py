"""`bullpen probe worker`: a real worker on this host answers; a host with none does not.
Readiness expects a beat where one ran in the last day: it holds its lock and its reaper runs."""

import os
import subprocess
import sys
import time

import pytest
import redis

from app.config import Settings
from app.jobs.beat import BEAT_HEARTBEAT_KEY, BEAT_LOCK_KEY, record_heartbeat
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


def test_readiness_reports_a_beat_that_ran_here_and_stopped(client, worker, seeded: Settings):
    broker = redis.Redis.from_url(seeded.broker_url)

    def ready() -> tuple[int, dict]:
        response = client.get("/health/ready")
        return response.status_code, response.get_json()

    try:
        status, body = ready()  # no beat ever ran here (a replay, a worker-only host)
        assert status == 200, body
        assert "no beat" in body["checks"]["beat"]["detail"]

        record_heartbeat(broker, "started")
        broker.set(BEAT_LOCK_KEY, "a beat", ex=30)
        status, body = ready()
        assert status == 200, body

        broker.delete(BEAT_LOCK_KEY)  # the beat died: its lock expired
        status, body = ready()
        assert (status, body["not_ready"]) == (503, ["beat"])
        assert "lock" in body["message"]

        long_ago = time.time() - 1000  # a beat that holds its lock but whose reaper stopped
        broker.set(BEAT_LOCK_KEY, "a beat", ex=30)
        record_heartbeat(broker, "started", now=long_ago)
        record_heartbeat(broker, "reaped", now=long_ago)
        status, body = ready()
        assert (status, body["not_ready"]) == (503, ["beat"])
        assert "the reaper last ran 10" in body["message"]
    finally:
        broker.delete(BEAT_HEARTBEAT_KEY, BEAT_LOCK_KEY)
