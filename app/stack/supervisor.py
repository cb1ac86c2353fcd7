"""``bullpen up``'s components under supervisord: one that dies is restarted, Ctrl-C stops all.

supervisord runs in the foreground from a config written under the var directory: every
component in a process group of its own, restarted when it exits (``autorestart``); one that
dies within ``START_SECONDS`` of starting is retried after 1, 2, 3... seconds and given up
(FATAL) after ``START_RETRIES`` retries. Stopping signals whole groups, so gunicorn and
Celery pool workers go with their parent; an event listener (``app.stack.orphans``) kills
the children a component that died left behind. Operators use
``supervisorctl -c VAR/supervisord.conf`` over a unix socket; nothing listens on the network.
"""

import contextlib
import hashlib
import logging
import os
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
from dataclasses import dataclass
from pathlib import Path

from app.config import Settings
from app.queues import up_workers
from app.stack import procs

log = logging.getLogger(__name__)

GROUP = "bullpen"
# A component that dies within START_SECONDS of starting counts as a failed start; after
# START_RETRIES failed starts in a row supervisord gives it up (FATAL).
START_SECONDS = 10
START_RETRIES = 4
# SIGTERM, then SIGKILL of a component's whole group after this long.
STOP_GRACE_SECONDS = 15
SUPERVISORD_STOP_MARGIN_SECONDS = 15
SUPERVISORD_START_SECONDS = 30
# How long stop() waits for SIGKILLed processes to be gone from /proc.
GROUP_EXIT_SECONDS = 5
# A unix socket's path holds at most 107 bytes on Linux.
MAX_SOCKET_PATH = 100


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
        **{worker.name: [*bullpen, *worker.arguments()] for worker in up_workers()},
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
    """The components under supervisord: started together, restarted alone, stopped together.

    ``run_dir`` holds ``supervisord.conf``, its socket and pid file, and ``logs/`` (a log per
    component, ``NAME.log``, and supervisord's own). :meth:`watch` blocks until supervisord
    ends; :meth:`stop` ends it and checks that nothing of its session is left.
    """

    def __init__(self, commands: dict[str, list[str]], env: dict[str, str], run_dir: Path) -> None:
        self.commands = commands
        self.env = env
        self.run_dir = run_dir
        self.config_path = run_dir / "supervisord.conf"
        self.socket_path = _socket_path(run_dir)
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        """Write the config, start supervisord and wait until it answers on its socket."""
        with contextlib.suppress(OSError, xmlrpc.client.Error):
            pid = self._rpc().supervisor.getPID()
            raise SupervisorError(
                f"a supervisord (pid {pid}) already runs the stack under {self.run_dir}; "
                f"stop it first: supervisorctl -c {self.config_path} shutdown"
            )
        (self.run_dir / "logs").mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(
            supervisord_config(self.commands, self.run_dir, self.socket_path, Path.cwd())
        )
        log.info("starting supervisord with %s", self.config_path)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "supervisor.supervisord", "-c", str(self.config_path)],
            env=self.env,
            stdin=subprocess.DEVNULL,
            # A session of its own: a terminal's Ctrl-C reaches only `bullpen up`, which stops
            # supervisord in order, and every process of the stack is found by its session.
            start_new_session=True,
        )
        deadline = time.monotonic() + SUPERVISORD_START_SECONDS
        while True:
            if self.process.poll() is not None:
                raise SupervisorError(
                    f"supervisord exited with code {self.process.returncode}; "
                    f"see {self.run_dir / 'logs' / 'supervisord.log'}"
                )
            with contextlib.suppress(OSError, xmlrpc.client.Error):
                # Another supervisord on this socket (a `bullpen up` still running) answers
                # too, while ours fails to bind it: only ours counts.
                rpc = self._rpc().supervisor
                if rpc.getPID() == self.process.pid and rpc.getState()["statename"] == "RUNNING":
                    return
            if time.monotonic() > deadline:
                raise SupervisorError(f"supervisord did not answer on {self.socket_path}")
            time.sleep(0.1)

    def running(self) -> bool:
        """Whether supervisord still runs (it ends on a fatal error or a signal)."""
        return self.process is not None and self.process.poll() is None

    def states(self) -> dict[str, str]:
        """Each component's supervisord state (``RUNNING``, ``BACKOFF``, ``FATAL``...)."""
        return {info["name"]: info["statename"] for info in self._process_info()}

    def pids(self) -> dict[str, int]:
        """Each component's main process id (0 while it does not run)."""
        return {info["name"]: info["pid"] for info in self._process_info()}

    def watch(self) -> int:
        """Block until supervisord ends (Ctrl-C or SIGTERM interrupt it sooner); its exit code."""
        if self.process is None:
            return 0
        code = self.process.wait()
        log.log(
            logging.ERROR if code else logging.INFO,
            "supervisord exited with code %s; stopping everything",
            code,
        )
        return code

    def stop(self) -> None:
        """Stop supervisord (it stops every component's group), then kill what is left."""
        if self.process is None:
            return
        _signal(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=STOP_GRACE_SECONDS + SUPERVISORD_STOP_MARGIN_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        # Whatever survived supervisord (it was killed itself, or a component's orphans
        # outran the listener) is still in its session.
        sid = self.process.pid
        deadline = time.monotonic() + GROUP_EXIT_SECONDS
        while left := procs.in_session(sid):
            procs.kill(left)
            if time.monotonic() > deadline:
                log.error("processes left behind: %s", [proc.pid for proc in left])
                break
            time.sleep(0.01)

    def _process_info(self) -> list[dict]:
        return [
            info for info in self._rpc().supervisor.getAllProcessInfo() if info["group"] == GROUP
        ]

    def _rpc(self) -> xmlrpc.client.ServerProxy:
        from supervisor.xmlrpc import SupervisorTransport

        transport = SupervisorTransport(None, None, f"unix://{self.socket_path}")
        return xmlrpc.client.ServerProxy("http://127.0.0.1", transport=transport)


class SupervisorError(RuntimeError):
    """supervisord did not start (one clear line)."""


def supervisord_config(
    commands: dict[str, list[str]], run_dir: Path, socket_path: Path, cwd: Path
) -> str:
    """supervisord's config: the components in group ``bullpen``, the orphan listener.

    A unix socket only (no inet HTTP server). supervisord expands ``%(name)s`` in values,
    so every ``%`` of a command is doubled.
    """
    logs = run_dir / "logs"
    sections = [
        f"""[unix_http_server]
file={socket_path}
chmod=0700

[supervisord]
nodaemon=true
logfile={logs / "supervisord.log"}
logfile_maxbytes=10MB
logfile_backups=3
pidfile={run_dir / "supervisord.pid"}
childlogdir={logs}
directory={cwd}
{_as_root()}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{socket_path}

[eventlistener:orphans]
command={_quote([sys.executable, "-m", "app.stack.orphans"])}
events=PROCESS_STATE_EXITED,PROCESS_STATE_BACKOFF
priority=1
autorestart=true
stopasgroup=true
killasgroup=true
stdout_logfile=NONE
stderr_logfile={logs / "orphans.log"}

[group:{GROUP}]
programs={",".join(commands)}
"""
    ]
    for name, command in commands.items():
        sections.append(
            f"""[program:{name}]
command={_quote(command)}
autorestart=true
startsecs={START_SECONDS}
startretries={START_RETRIES}
stopsignal=TERM
stopwaitsecs={STOP_GRACE_SECONDS}
stopasgroup=true
killasgroup=true
redirect_stderr=true
stdout_logfile={logs / f"{name}.log"}
stdout_logfile_maxbytes=50MB
stdout_logfile_backups=3
"""
        )
    return "\n".join(sections)


def _as_root() -> str:
    # Run as root, supervisord logs a CRIT line unless told that root is meant.
    return "user=root" if os.geteuid() == 0 else ""


def _quote(command: list[str]) -> str:
    return shlex.join(command).replace("%", "%%")


def _socket_path(run_dir: Path) -> Path:
    """``run_dir/supervisor.sock``, or one under the temp dir where that is too long a path."""
    path = run_dir / "supervisor.sock"
    if len(str(path)) <= MAX_SOCKET_PATH:
        return path
    digest = hashlib.sha256(str(run_dir).encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"bullpen-{digest}.sock"


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def interrupt_on_sigterm() -> None:
    """Make SIGTERM and SIGINT stop ``bullpen up`` the way Ctrl-C does.

    SIGINT is set explicitly because a process started in the background by a
    non-interactive shell inherits it ignored.
    """

    def handler(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
