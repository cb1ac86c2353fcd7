"""Exactly one beat: a second ``celery beat`` started on purpose sends nothing twice.

Two real beat processes run against a Redis database of their own, with the reaper
scheduled every second and no worker, so every message a beat sends stays in the
``maintenance`` queue to be counted.
"""

import json
import os
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import redis

from app.config import Settings
from app.stack.probes import beat_holds_lock
from tests.integration.conftest import redis_database

pytestmark = pytest.mark.integration

INTERVAL_SECONDS = 1.0
RUN_SECONDS = 12
BROKER_DB = 9  # a Redis database no other test uses


def _start_beat(settings: Settings) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat",
         "--scheduler", "redbeat.RedBeatScheduler", "--loglevel", "INFO"],
        env={**os.environ, **settings.as_env()},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()


def _reaps_sent(client: redis.Redis) -> int:
    messages = [json.loads(raw) for raw in client.lrange("maintenance", 0, -1)]
    return sum(m["headers"]["task"] == "tasks.maintenance.reap_jobs" for m in messages)


def test_a_second_beat_does_not_double_scheduled_runs(settings: Settings) -> None:
    broker = redis_database(settings.broker_url, BROKER_DB)
    beat_settings = replace(settings, broker_url=broker, reap_interval_seconds=INTERVAL_SECONDS)
    client = redis.Redis.from_url(broker)
    client.flushdb()
    assert not beat_holds_lock(broker)  # no beat yet
    first = _start_beat(beat_settings)
    second = _start_beat(beat_settings)
    try:
        deadline = time.monotonic() + 30
        while _reaps_sent(client) == 0 and time.monotonic() < deadline:
            time.sleep(0.2)
        start_count, started = _reaps_sent(client), time.monotonic()
        time.sleep(RUN_SECONDS)
        sent = _reaps_sent(client) - start_count
        elapsed = time.monotonic() - started
        assert first.poll() is None and second.poll() is None  # both beats still running
        assert beat_holds_lock(broker)  # what `bullpen probe beat` reports
    finally:
        _stop(first)
        _stop(second)
        client.flushdb()

    expected = elapsed / INTERVAL_SECONDS
    print(
        f"two beats, {elapsed:.1f} s at {INTERVAL_SECONDS} s: {sent} runs "
        f"(one beat: ~{expected:.0f})"
    )
    # One beat sends about one run per interval; two unlocked beats would send twice that. A
    # loaded machine delays ticks (fewer runs), so the floor is low; the ceiling is below 2.
    assert expected * 0.4 <= sent <= expected * 1.5
