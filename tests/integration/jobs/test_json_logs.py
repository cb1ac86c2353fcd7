"""Worker and API log lines are JSON and carry the ``job_id`` and ``task_id`` they concern."""

import json
import logging
import os
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from app.config import Settings
from app.logs import ContextFilter, gunicorn_logconfig, job_id_var, json_formatter
from tests.integration.conftest import WORKER_QUEUES, redis_database, stop_worker

pytestmark = pytest.mark.integration


def _json_lines(path: Path) -> list[dict]:
    lines = []
    for raw in path.read_text().splitlines():
        try:
            lines.append(json.loads(raw))
        except json.JSONDecodeError:
            continue
    return lines


BROKER_DB = 11  # a broker of its own: the session's worker must not take this test's job


def test_worker_lines_carry_the_job_and_task_ids(seeded: Settings, tmp_path: Path) -> None:
    from workers.api import create_api
    from workers.celery_app import make_celery

    broker = redis_database(seeded.broker_url, BROKER_DB)
    redis.Redis.from_url(broker).flushdb()
    seeded = replace(seeded, broker_url=broker)
    client = create_api(seeded).test_client()
    hostname = f"jsonlogs-{time.monotonic_ns()}@{socket.gethostname()}"
    log_file = tmp_path / "worker.log"
    with log_file.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
             "--queues", WORKER_QUEUES, "--concurrency", "1",
             "--hostname", hostname, "--loglevel", "INFO",
             "--without-gossip", "--without-mingle"],
            env={**os.environ, **seeded.as_env()},
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        control = make_celery(seeded).control
        deadline = time.monotonic() + 60
        while not control.ping(destination=[hostname], timeout=0.5):
            assert time.monotonic() < deadline, "the worker did not start"
            time.sleep(0.2)
        game_id = client.get("/api/v1/games?date=2019-06-15").get_json()[0]["id"]
        job = client.post("/api/v1/predict", json={"game_id": game_id}).get_json()
        done = client.get(f"/api/v1/jobs/{job['job_id']}?wait=30").get_json()
        assert done["status"] == "succeeded", done
        time.sleep(0.5)
    finally:
        stop_worker(process)
        redis.Redis.from_url(broker).flushdb()

    lines = _json_lines(log_file)
    assert lines, log_file.read_text()[-2000:]
    ours = [line for line in lines if line.get("job_id") == job["job_id"]]
    assert any(line.get("task_id") for line in ours), ours
    assert {"time", "level", "logger", "message"} <= set(ours[0])


def test_api_lines_are_json_with_the_job_id() -> None:
    config = gunicorn_logconfig()
    assert config["handlers"]["stderr"]["formatter"] == "json"
    record = logging.LogRecord("bullpen.audit", logging.INFO, __file__, 1, "admin action", (), None)
    token = job_id_var.set("4d2c3c0e-0000-0000-0000-000000000001")
    try:
        ContextFilter().filter(record)
    finally:
        job_id_var.reset(token)

    line = json.loads(json_formatter().format(record))

    assert line["job_id"] == "4d2c3c0e-0000-0000-0000-000000000001"
    assert line["task_id"] is None
    assert line["message"] == "admin action" and line["level"] == "INFO"
