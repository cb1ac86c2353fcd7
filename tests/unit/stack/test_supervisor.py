import os
import sys

from app.stack.supervisor import Supervisor


def _alive(pid: int) -> bool:
    """Running, not a zombie waiting for init to reap it."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_stop_leaves_no_process_or_grandchild_behind(tmp_path):
    pid_file = tmp_path / "grandchild.pid"
    spawner = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        f"open({str(pid_file)!r}, 'w').write(str(p.pid)); time.sleep(60)"
    )
    supervisor = Supervisor(
        {"spawner": [sys.executable, "-c", spawner], "sleeper": ["sleep", "60"]}, dict(os.environ)
    )
    supervisor.start()
    while not pid_file.exists() or not pid_file.read_text():
        pass
    grandchild = int(pid_file.read_text())

    supervisor.stop()

    assert all(p.poll() is not None for p in supervisor.processes.values())
    assert not _alive(grandchild)
