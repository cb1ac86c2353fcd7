"""A `bullpen` command that joined the embedded stack and was killed leaves nothing behind.

Found after a `bullpen ingest` was stopped with `kill`: its dead pid stayed in the embedded
PostgreSQL's list of holders (``var/pgdata/.handle_pids.json``) and the server outlived every
later `bullpen up` stop. SIGTERM now ends a command cleanly (its hold released), and a pid
whose process is gone no longer holds the server (a ``kill -9`` cannot be caught).
"""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from app.stack.embedded import HANDLES_FILE, EmbeddedStack
from tests.polling import until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

# A command's start (imports, joining the stack) takes a few seconds here; on a loaded 2-core
# machine several times that.
JOINED_SECONDS = 90
# SIGTERM: rollback, release, exit; generous for a loaded machine.
EXIT_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _holders(var_dir: Path) -> list[int]:
    """pgserver's list of the server's holders, read under its inter-process lock: a command
    joining rewrites the file (truncated, then written), and a read between the two found it
    empty."""
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    with PostgresServer._lock:
        return DiskList(var_dir / "pgdata" / HANDLES_FILE).get()


def _ingest(var_dir: Path, redis_port: int, workbook: Path) -> subprocess.Popen:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BULLPEN_") and key != "MLFLOW_TRACKING_URI"
    }
    env |= {"BULLPEN_VAR_DIR": str(var_dir), "BULLPEN_EMBEDDED_REDIS_PORT": str(redis_port)}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "ingest", "sbro", str(workbook)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _joined(process: subprocess.Popen, var_dir: Path) -> None:
    until(
        lambda: process.pid in _holders(var_dir) or process.poll() is not None,
        timeout=JOINED_SECONDS,
        what="the command joined the embedded PostgreSQL",
    )
    assert process.poll() is None, "the command ended before it could be killed mid-work"


def test_a_killed_command_leaves_nothing_and_the_next_stop_stops_postgres(
    tmp_path: Path, sample_dir: Path
) -> None:
    var_dir = tmp_path / "var"
    redis_port = _free_port()
    stack = EmbeddedStack(var_dir, redis_port)  # the `bullpen up` of this installation
    stack.start()
    postmaster = psutil.Process(stack._postgres.get_pid())
    workbook = sample_dir / "mlb-odds-2019.xlsx"
    try:
        # SIGTERM mid-ingest: the command exits 143, its transaction rolled back, its pid gone.
        terminated = _ingest(var_dir, redis_port, workbook)
        _joined(terminated, var_dir)
        terminated.send_signal(signal.SIGTERM)
        output, _ = terminated.communicate(timeout=EXIT_SECONDS)
        assert terminated.returncode == 128 + signal.SIGTERM, output
        assert "Traceback" not in output
        assert terminated.pid not in _holders(var_dir)

        # kill -9 mid-ingest: nothing runs in the command, its pid stays behind...
        killed = _ingest(var_dir, redis_port, workbook)
        _joined(killed, var_dir)
        killed.kill()
        killed.communicate(timeout=EXIT_SECONDS)
        assert killed.pid in _holders(var_dir)
        assert postmaster.is_running()
    finally:
        stack.stop()  # ...and no longer holds the server: this stop stops it
    until(lambda: not postmaster.is_running(), EXIT_SECONDS, "the embedded PostgreSQL stopped")
    assert _holders(var_dir) == []
    leftovers = [
        process
        for process in psutil.process_iter(["cmdline"])
        if str(var_dir) in " ".join(process.info["cmdline"] or [])
    ]
    assert leftovers == []


def test_a_postgres_restarted_behind_the_stacks_back_stops_with_the_last_holder(
    tmp_path: Path,
) -> None:
    """pgserver stopped only the postmaster it had started: after a `pg_ctl restart` (as the
    soak's fault does) the new one outlived `bullpen up`'s stop."""
    from pgserver._commands import pg_ctl

    var_dir = tmp_path / "var"
    stack = EmbeddedStack(var_dir, _free_port())
    stack.start()
    pgdata = var_dir / "pgdata"
    first = stack._postgres.get_pid()
    try:
        user = "pgserver" if os.geteuid() == 0 else None  # as pgserver runs it under root
        pg_ctl(["-w", "-m", "immediate", "restart"], pgdata=pgdata, user=user, timeout=120)
        restarted = psutil.Process(int((pgdata / "postmaster.pid").read_text().split()[0]))
        assert restarted.pid != first and restarted.is_running()
    finally:
        stack.stop()
    until(lambda: not restarted.is_running(), EXIT_SECONDS, "the restarted PostgreSQL stopped")
    assert not (pgdata / "postmaster.pid").exists()
