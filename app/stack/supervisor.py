"""``bullpen up``: every component in one foreground process tree, stopped cleanly by Ctrl-C.

Each component runs in its own process group so that stopping it also stops its
children (gunicorn and Celery pool workers); nothing outlives the supervisor.
"""

import contextlib
import logging
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 15
# How long stop() waits for SIGKILLed groups to be gone (/proc, where there is one).
GROUP_EXIT_SECONDS = 5


@dataclass(frozen=True)
class Ports:
    api: int = 8000
    flower: int = 5555
    mlflow: int = 5001


def component_commands(settings: Settings, ports: Ports) -> dict[str, list[str]]:
    """The command line of every component, each through the ``bullpen`` CLI."""
    bullpen = [sys.executable, "-m", "app.cli"]
    return {
        "api": [*bullpen, "api", "--port", str(ports.api)],
        "worker": [*bullpen, "worker", "--queues", "predict,features,ingest,maintenance,feeds"],
        "worker-training": [*bullpen, "worker", "--queues", "training", "--concurrency", "1"],
        "beat": [*bullpen, "beat"],
        "flower": [*bullpen, "flower", "--port", str(ports.flower)],
        "mlflow": mlflow_command(settings, ports.mlflow),
    }  # fmt: skip


def mlflow_command(settings: Settings, port: int) -> list[str]:
    """The MLflow UI; with API keys, under gunicorn as ``bullpen-auth`` (admin keys only)."""
    command = [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", settings.mlflow_tracking_uri,
        "--default-artifact-root", settings.mlflow_artifact_root.as_uri(),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    if settings.api_keys:
        # The key check is WSGI middleware, so the server is gunicorn rather than uvicorn.
        command += ["--app-name", "bullpen-auth", "--gunicorn-opts", "--log-level warning"]
    return command


class Supervisor:
    """Start components, watch them, stop them all on a signal or when one dies."""

    def __init__(
        self, commands: dict[str, list[str]], env: dict[str, str], log_dir: Path | None = None
    ) -> None:
        self.commands = commands
        self.env = env
        # Where each component's output goes (``NAME.log``); None: this process's terminal.
        self.log_dir = log_dir
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        for name, command in self.commands.items():
            log.info("starting %s", name)
            output = None
            if self.log_dir is not None:
                self.log_dir.mkdir(parents=True, exist_ok=True)
                output = (self.log_dir / f"{name}.log").open("ab")
            self.processes[name] = subprocess.Popen(
                command,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT if output else None,
                start_new_session=True,
            )
            if output is not None:
                output.close()  # the child holds its own copy

    def watch(self) -> None:
        """Block until a component exits (Ctrl-C or SIGTERM interrupt it sooner)."""
        while True:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    log.error(
                        "%s exited with code %s; stopping everything", name, process.returncode
                    )
                    return
            time.sleep(0.5)

    def stop(self) -> None:
        """SIGTERM every process group, then SIGKILL what is left after the grace period."""
        for process in self.processes.values():
            _signal_group(process, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for process in self.processes.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
        for process in self.processes.values():
            _signal_group(process, signal.SIGKILL)  # stragglers and orphaned grandchildren
            process.wait()
        # A SIGKILLed grandchild is not gone the instant killpg returns: wait until every
        # group is empty (zombies awaiting their reaper count as gone).
        deadline = time.monotonic() + GROUP_EXIT_SECONDS
        while any(_group_alive(process.pid) for process in self.processes.values()):
            if time.monotonic() > deadline:
                break
            time.sleep(0.01)


def _group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies excluded)."""
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[-1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                return True
    return False


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def interrupt_on_sigterm() -> None:
    """Make SIGTERM and SIGINT stop ``bullpen up`` the way Ctrl-C does.

    SIGINT is set explicitly because a process started in the background by a
    non-interactive shell inherits it ignored.
    """

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
