"""``Supervisor`` with a real supervisord and real processes: restart, give up, stop clean."""

import os
import signal
import sys
from pathlib import Path

import pytest

from app.stack import procs
from app.stack.supervisor import START_RETRIES, Supervisor, SupervisorError, supervisord_config
from tests.polling import until

SPAWNER = (
    "import subprocess, sys, time; "
    "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
    "open(sys.argv[1] + '.tmp', 'w').write(str(p.pid)); "
    "__import__('os').replace(sys.argv[1] + '.tmp', sys.argv[1]); time.sleep(600)"
)


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for init to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _grandchild(pid_file: Path, old: int | None = None) -> int:
    def written() -> int | None:
        try:
            pid = int(pid_file.read_text())
        except (OSError, ValueError):
            return None
        return pid if pid != old else None

    return until(written, 30, f"{pid_file} written")


@pytest.fixture
def supervisor(tmp_path):
    started: list[Supervisor] = []

    def start(commands: dict[str, list[str]]) -> Supervisor:
        supervisor = Supervisor(commands, dict(os.environ), tmp_path / "run")
        started.append(supervisor)
        supervisor.start()
        return supervisor

    yield start
    for supervisor in started:
        supervisor.stop()


def test_config_has_no_network_server_and_escapes_percent(tmp_path):
    config = supervisord_config(
        {"worker": ["celery", "--hostname", "predict@%h"]},
        tmp_path,
        tmp_path / "supervisor.sock",
        tmp_path,
    )

    assert "inet_http_server" not in config
    assert f"file={tmp_path / 'supervisor.sock'}\nchmod=0700" in config
    assert "command=celery --hostname predict@%%h\n" in config
    assert "autorestart=true" in config
    assert "killasgroup=true" in config


def test_a_component_killed_is_restarted_its_orphans_killed_the_others_untouched(
    supervisor, tmp_path
):
    pid_file = tmp_path / "grandchild.pid"
    running = supervisor(
        {"spawner": [sys.executable, "-c", SPAWNER, str(pid_file)], "sleeper": ["sleep", "600"]}
    )
    grandchild = _grandchild(pid_file)
    before = running.pids()

    os.kill(before["spawner"], signal.SIGKILL)

    after = until(
        lambda: (pids := running.pids())["spawner"] not in (0, before["spawner"]) and pids,
        15,
        "spawner restarted",
    )
    until(lambda: not _alive(grandchild), 10, "the dead spawner's child killed")
    assert after["sleeper"] == before["sleeper"]
    assert _grandchild(pid_file, old=grandchild) != grandchild  # the new one has its own
    orphans_log = (tmp_path / "run" / "logs" / "orphans.log").read_text()
    assert f"killed orphan {grandchild} (group {before['spawner']})" in orphans_log


def test_a_component_that_exits_at_every_start_is_given_up(supervisor, tmp_path):
    running = supervisor(
        {"crasher": [sys.executable, "-c", "raise SystemExit(3)"], "sleeper": ["sleep", "600"]}
    )
    sleeper = running.pids()["sleeper"]

    # Retries after 1, 2, 3... s: 1 + 2 + 3 + 4 = 10 s of backoff for 4 retries, plus starts.
    until(lambda: running.states()["crasher"] == "FATAL", 60, "crasher given up")

    log = (tmp_path / "run" / "logs" / "supervisord.log").read_text()
    assert log.count("exited: crasher (exit status 3; not expected)") == START_RETRIES + 1
    assert "gave up: crasher entered FATAL state" in log
    assert running.states()["sleeper"] in ("STARTING", "RUNNING")
    assert running.pids()["sleeper"] == sleeper


def test_stop_leaves_no_process_or_grandchild_behind(supervisor, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    running = supervisor(
        {"spawner": [sys.executable, "-c", SPAWNER, str(pid_file)], "sleeper": ["sleep", "600"]}
    )
    grandchild = _grandchild(pid_file)
    groups = set(running.pids().values())
    session = running.process.pid

    running.stop()

    assert running.process.poll() is not None
    assert not _alive(grandchild)
    left = [p for p in procs.running() if p.sid == session or p.pgid in groups]
    assert left == []


def test_a_second_supervisor_on_the_same_directory_is_refused(supervisor, tmp_path):
    first = supervisor({"sleeper": ["sleep", "600"]})
    config = first.config_path.read_text()

    with pytest.raises(SupervisorError, match="already runs the stack"):
        Supervisor({"other": ["sleep", "601"]}, dict(os.environ), tmp_path / "run").start()

    assert first.config_path.read_text() == config
    assert first.states()["sleeper"] in ("STARTING", "RUNNING")


def test_supervisord_killed_leaves_nothing_behind_once_stopped(supervisor, tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    running = supervisor({"spawner": [sys.executable, "-c", SPAWNER, str(pid_file)]})
    grandchild = _grandchild(pid_file)
    session = running.process.pid

    os.kill(session, signal.SIGKILL)
    assert running.watch() == -signal.SIGKILL
    assert _alive(grandchild)  # nobody stopped the components yet
    running.stop()

    assert not _alive(grandchild)
    assert procs.in_session(session) == []
