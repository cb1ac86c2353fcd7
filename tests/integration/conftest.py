"""The whole system under test: migrated database, seeded data, champions, a real worker."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from app.config import Settings
from app.queues import QUEUE_NAMES
from tests.bootstrap_cache import seed
from tests.integration.replay.harness import FIRST, LAST, WEEK_ENV, running_replay
from workers.api import create_api

# The tests' worker consumes every queue.
WORKER_QUEUES = ",".join(QUEUE_NAMES)


@pytest.fixture(scope="session")
def settings(
    database_url: str,
    service_urls: dict[str, str],
    tmp_path_factory: pytest.TempPathFactory,
    sample_dir: Path,
) -> Settings:
    """Settings of a complete installation on the test services, with its own var folder."""
    var_dir = tmp_path_factory.mktemp("bullpen-var")
    base = Settings.from_env({})
    settings = replace(
        base,
        database_url=database_url,
        broker_url=service_urls["BULLPEN_BROKER_URL"],
        feature_store_url=service_urls["BULLPEN_FEATURE_STORE_URL"],
        mlflow_tracking_uri=f"sqlite:///{var_dir / 'mlflow.db'}",
        var_dir=var_dir,
        sample_dir=sample_dir,
    )
    for url in (settings.broker_url, settings.feature_store_url):
        redis.Redis.from_url(url).flushdb()
    return settings


@pytest.fixture(scope="session")
def seeded(settings: Settings) -> Settings:
    """Sample ingested, features stored, a champion per target: ``bullpen up``'s bootstrap."""
    seed(settings)
    return settings


@pytest.fixture(scope="session")
def worker(seeded: Settings) -> Iterator[subprocess.Popen]:
    """A real Celery worker process on every queue, stopped at the end of the session."""
    process = start_worker(seeded)
    try:
        yield process
    finally:
        stop_worker(process)


def start_worker(settings: Settings, *, concurrency: int = 2) -> subprocess.Popen:
    """Start a worker subprocess and wait until it answers a ping."""
    from workers.celery_app import make_celery

    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
            "--queues", WORKER_QUEUES, "--concurrency", str(concurrency),
            "--hostname", f"test-{os.getpid()}-{time.monotonic_ns()}@%h",
            "--loglevel", "WARNING", "--without-gossip", "--without-mingle",
        ],
        env={**os.environ, **settings.as_env()},
        start_new_session=True,
    )  # fmt: skip
    control = make_celery(settings).control
    deadline = time.monotonic() + 60
    while not _answers(control):
        if process.poll() is not None or time.monotonic() > deadline:
            stop_worker(process)
            raise RuntimeError("the Celery worker did not start")
    return process


def redis_database(url: str, db: int) -> str:
    """The URL of database ``db`` on the Redis server of ``url``: a broker or store of its own."""
    server = redis.Redis.from_url(url).connection_pool.connection_kwargs
    return f"redis://{server['host']}:{server['port']}/{db}"


def _answers(control) -> bool:
    """Whether a worker answers a ping; a broker connection that just broke counts as no."""
    try:
        return bool(control.ping(timeout=0.5))
    except (redis.RedisError, OSError):
        return False


def stop_worker(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()


@pytest.fixture(scope="session")
def replayed_week(sample_dir: Path) -> Iterator[dict]:
    """`bullpen replay --keep` of the week in tests/integration/replay/harness.py, kept running
    for the whole session: its API URL, JSON report, output and folder; SIGINT at the end."""
    with running_replay(sample_dir, FIRST, LAST, WEEK_ENV) as run:
        yield run


@pytest.fixture(scope="session")
def app(seeded: Settings):
    return create_api(seeded)


@pytest.fixture
def client(app):
    return app.test_client()
