"""The replay's own stack under ``var/replay-Y/``: embedded PostgreSQL and Redis on free
ports, the API (the WSGI server ``bullpen up`` runs) and Celery workers for every queue,
started by ``bullpen up``'s supervisor with the replay's settings. The main data is never
touched: every URL comes from this stack, none from the environment.
"""

import contextlib
import os
import shutil
import socket
import time
from dataclasses import dataclass, replace
from pathlib import Path

import requests

from app.config import Settings
from app.queues import up_workers
from app.stack.embedded import EmbeddedStack
from app.stack.supervisor import Ports, Supervisor, component_commands

# The components of `bullpen up` a replay runs: the API and a worker for every queue (no beat:
# the replay drives the feeds and settlement itself; no Flower or MLflow UI).
REPLAY_COMPONENTS = ("api", *(worker.name for worker in up_workers()))
READY_TIMEOUT_SECONDS = 180
ODDS_API_KEY = "replay"


class ReplayStackError(RuntimeError):
    """The replay stack cannot start (one clear line)."""


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def replay_dir(base: Settings, season: int) -> Path:
    """``var/replay-Y`` (next to the main stack's var directory)."""
    return base.var_dir / f"replay-{season}"


def _postgres_running(var_dir: Path) -> bool:
    pid_file = var_dir / "pgdata" / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class ReplayStack:
    """The replay's databases and processes; :meth:`stop` ends all of them."""

    settings: Settings
    api_url: str
    embedded: EmbeddedStack
    supervisor: Supervisor | None = None

    @classmethod
    def start(cls, base: Settings, season: int, provider_url: str) -> "ReplayStack":
        """A fresh stack for ``season`` whose feeds point at ``provider_url``."""
        var_dir = replay_dir(base, season)
        if _postgres_running(var_dir):
            raise ReplayStackError(
                f"a replay stack of {season} is still running under {var_dir}; stop it first"
            )
        shutil.rmtree(var_dir, ignore_errors=True)
        redis_port, api_port = free_port(), free_port()
        embedded = EmbeddedStack(var_dir, redis_port)
        urls = embedded.start()
        settings = replace(
            base,
            database_url=None,
            broker_url=None,
            feature_store_url=None,
            mlflow_tracking_uri=None,
            api_keys={},
            var_dir=var_dir,
            embedded_redis_port=redis_port,
            schedule_api_url=provider_url,
            odds_api_url=provider_url,
            odds_api_key=ODDS_API_KEY,
            clock_url=f"redis://127.0.0.1:{redis_port}/2",
        ).with_urls(urls)
        return cls(settings, f"http://127.0.0.1:{api_port}", embedded)

    def start_components(self) -> None:
        """Migrate, then start the API and the workers (they boot while the caller trains)."""
        from app.db.migrate import upgrade
        from app.ml.registry import client as mlflow_client

        upgrade(self.settings.database_url)
        mlflow_client(self.settings)
        port = int(self.api_url.rsplit(":", 1)[1])
        commands = component_commands(self.settings, Ports(api=port))
        # Nothing of the caller's configuration reaches the replay's processes but through
        # the replay's settings (e.g. never the main database's URL or its API keys).
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("BULLPEN_", "MLFLOW_"))
        }
        env = {**inherited, **self.settings.as_env(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        self.supervisor = Supervisor(
            {name: commands[name] for name in REPLAY_COMPONENTS}, env, self.settings.var_dir
        )
        self.supervisor.start()

    def wait_ready(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Block until ``/health/ready`` answers 200 (champions loaded, a worker alive)."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            self._check_components()
            try:
                response = requests.get(f"{self.api_url}/health/ready", timeout=5)
                if response.status_code == 200:
                    return
                last = f"{response.status_code} {response.text[:200]}"
            except requests.RequestException as error:
                last = type(error).__name__
            time.sleep(0.5)
        raise ReplayStackError(f"the replay API was not ready after {timeout:g} s: {last}")

    def _check_components(self) -> None:
        if self.supervisor is None:
            return
        if self.supervisor.process is not None and self.supervisor.process.poll() is not None:
            raise ReplayStackError(f"the replay's supervisord exited; see {self.settings.var_dir}")
        for name, state in self.supervisor.states().items():
            if state == "FATAL":
                raise ReplayStackError(
                    f"replay {name} kept exiting at start and was given up; see "
                    f"{self.settings.var_dir / 'logs' / (name + '.log')}"
                )

    def stop(self) -> None:
        """Stop the processes, then Redis and PostgreSQL."""
        if self.supervisor is not None:
            self.supervisor.stop()
            self.supervisor = None
        self.embedded.stop()
