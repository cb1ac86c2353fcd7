"""`bullpen up` as a newcomer runs it: embedded stack, first-start bootstrap, Ctrl-C stops all;
a component killed is restarted while the others keep serving."""

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import psutil
import pytest
import requests

from app.stack import procs
from tests.polling import until

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

READY_TIMEOUT_SECONDS = 300
# A component killed gets a new main process within this long (supervisord restarts one that
# ran at once, one still starting after a 1 s backoff); the API answers again within the other.
RESTART_SECONDS = 20
API_BACK_SECONDS = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _stop_everything(up: subprocess.Popen, descendants: list[psutil.Process]) -> None:
    """After a failure too: Ctrl-C first, then kill whatever is left."""
    if up.poll() is None:
        up.send_signal(signal.SIGINT)
        try:
            up.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(up.pid, signal.SIGKILL)
            up.wait()
    for process in descendants:
        if _running(process):
            process.kill()


def _start_up(
    var_dir, api: int, flower: int, mlflow: int, *args: str, stdout=None, **settings: str
) -> subprocess.Popen:
    """`bullpen up` on the embedded stack under ``var_dir`` (nothing of this environment's)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BULLPEN_") and key != "MLFLOW_TRACKING_URI"
    }
    env |= {"BULLPEN_VAR_DIR": str(var_dir), "BULLPEN_EMBEDDED_REDIS_PORT": str(_free_port())}
    env |= settings
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up", "--api-port", str(api),
         "--flower-port", str(flower), "--mlflow-port", str(mlflow), *args],
        env=env, start_new_session=True, stdout=stdout, text=True,
    )  # fmt: skip


def _said_up(up: subprocess.Popen) -> threading.Event:
    """Set when `bullpen up` prints that it is up; its output is echoed to the test's."""
    said = threading.Event()

    def read() -> None:
        for line in up.stdout:
            print(line, end="")
            if line.startswith("Bullpen is up"):
                said.set()

    threading.Thread(target=read, daemon=True).start()
    return said


def test_up_serves_predictions_and_ctrl_c_leaves_nothing_behind(tmp_path):
    var_dir = tmp_path / "var"
    api, flower, mlflow = _free_port(), _free_port(), _free_port()
    up = _start_up(var_dir, api, flower, mlflow, stdout=subprocess.PIPE)
    said_up = _said_up(up)
    base = f"http://127.0.0.1:{api}"
    descendants: list[psutil.Process] = []
    try:
        # "Up" is a promise: predictions work as soon as it is said.
        assert said_up.wait(READY_TIMEOUT_SECONDS), "bullpen up never said it was up"
        ready_when_said = requests.get(f"{base}/health/ready", timeout=30)
        descendants = psutil.Process(up.pid).children(recursive=True)
        postgres = [
            p
            for p in psutil.process_iter(["cmdline"])
            if str(var_dir) in " ".join(p.info["cmdline"] or [])
        ]

        game = requests.get(f"{base}/api/v1/games?date=2019-09-01", timeout=10).json()[0]
        submitted = requests.post(
            f"{base}/api/v1/predict", json={"game_id": game["id"]}, timeout=10
        )
        job = requests.get(f"{base}{submitted.headers['Location']}?wait=30", timeout=40).json()
        prediction = requests.get(f"{base}{job['results_url']}", timeout=10).json()["items"][0]
        for url in (f"http://127.0.0.1:{flower}/", f"http://127.0.0.1:{mlflow}/",
                    f"{base}/api/v1/docs"):  # fmt: skip
            assert requests.get(url, timeout=10).status_code == 200, url

        os.killpg(up.pid, signal.SIGINT)  # Ctrl-C reaches the terminal's whole process group
        assert up.wait(timeout=60) == 0
    finally:
        _stop_everything(up, descendants)

    assert ready_when_said.status_code == 200, ready_when_said.text
    assert submitted.status_code == 202
    assert job["status"] == "succeeded"
    assert 0 < prediction["home_ml_probability"] < 1
    assert 0 < prediction["home_ml_market_probability"] < 1
    assert len(descendants) >= 6  # api, two workers, beat, flower, mlflow, and their children
    assert postgres, "the embedded PostgreSQL should have been running"
    time.sleep(1)
    left = [p.pid for p in descendants + postgres if _running(p)]
    assert left == [], f"processes left behind: {left}"


def _supervisorctl(var_dir, *args: str) -> str:
    supervisorctl = os.path.join(os.path.dirname(sys.executable), "supervisorctl")
    command = [supervisorctl, "-c", str(var_dir / "supervisord.conf"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30).stdout


def _status(var_dir) -> dict[str, tuple[str, int]]:
    """``supervisorctl status``, as an operator runs it: each component's state and pid."""
    status = {}
    for line in _supervisorctl(var_dir, "status").splitlines():
        if len(line.split()) < 2:
            continue
        name, state, *rest = line.split(maxsplit=2)
        pid = re.match(r"pid (\d+)", rest[0]) if rest else None
        if name.startswith("bullpen:"):  # not the orphan listener
            status[name.removeprefix("bullpen:")] = (state, int(pid.group(1)) if pid else 0)
    return status


def _all_running(var_dir) -> dict[str, tuple[str, int]] | None:
    status = _status(var_dir)
    running = len(status) == 6 and all(state == "RUNNING" for state, _ in status.values())
    return status if running else None


def _live(base: str) -> bool:
    try:
        return requests.get(f"{base}/health/live", timeout=2).status_code == 200
    except requests.RequestException:
        return False


class _LivePoller(threading.Thread):
    """Asks ``/health/live`` every 0.1 s until stopped; keeps every answer that was not 200."""

    def __init__(self, base: str) -> None:
        super().__init__(daemon=True)
        self.base, self.asked, self.failures = base, 0, []
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.1):
            self.asked += 1
            if not _live(self.base):
                self.failures.append(time.monotonic())

    def stop(self) -> None:
        self.done.set()
        self.join()


def _pid(var_dir, name: str) -> int:
    """``supervisorctl pid``: the component's main process (0 while it does not run)."""
    out = _supervisorctl(var_dir, "pid", f"bullpen:{name}").strip()
    return int(out) if out.isdigit() else 0


def _kill(var_dir, name: str, pid: int) -> tuple[int, float, float]:
    """kill -9 a component's main process: its new pid, when it was killed, seconds to it."""
    killed = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    new = until(
        lambda: (new := _pid(var_dir, name)) not in (0, pid) and new,
        RESTART_SECONDS,
        f"{name} restarted",
    )
    return new, killed, time.monotonic() - killed


def _worker_ready(var_dir, pid: int) -> bool:
    """Whether the worker ``pid`` logged Celery's ``... ready.`` (it consumes from now on)."""
    for line in (var_dir / "logs" / "worker.log").read_text().splitlines():
        with contextlib.suppress(ValueError):
            record = json.loads(line)
            if record.get("process") == pid and record["message"].endswith(" ready."):
                return True
    return False


def test_a_component_killed_is_restarted_the_rest_keep_serving_ctrl_c_leaves_nothing(tmp_path):
    var_dir = tmp_path / "var"
    api, flower, mlflow = _free_port(), _free_port(), _free_port()
    # Beat ticks at least every reap interval; at the default 30 s, as long as RedBeat's lock
    # lasts, the lock can expire between two ticks and beat exits (LockNotOwnedError), which
    # would change beat's pid in the middle of this test. 5 s keeps it renewed.
    up = _start_up(
        var_dir, api, flower, mlflow, "--no-bootstrap", BULLPEN_REAP_INTERVAL_SECONDS="5"
    )
    base = f"http://127.0.0.1:{api}"
    descendants: list[psutil.Process] = []
    try:
        status = until(lambda: _all_running(var_dir), READY_TIMEOUT_SECONDS, "all RUNNING")
        until(lambda: _live(base), 60, "the API answers")
        session = int((var_dir / "supervisord.pid").read_text())
        before = {name: pid for name, (_, pid) in status.items()}
        groups = set(before.values())
        # The worker's main process forks its pool only once it has imported what the children
        # share (workers/signals.py), which on a loaded machine may end after the API answers.
        until(
            lambda: (
                psutil.Process(before["worker"]).children()
                and psutil.Process(before["api"]).children()
            ),
            60,
            "the worker's pool and the API's workers started",
        )
        pool = psutil.Process(before["worker"]).children()
        gunicorn_workers = psutil.Process(before["api"]).children()
        descendants = psutil.Process(up.pid).children(recursive=True)

        # The worker's main process: restarted, its pool children killed, the API answering.
        poller = _LivePoller(base)
        poller.start()
        worker, killed, worker_pid_seconds = _kill(var_dir, "worker", before["worker"])
        until(lambda: not any(_running(p) for p in pool), 10, "the old pool children gone")
        until(lambda: _worker_ready(var_dir, worker), 60, "the new worker ready")
        worker_ready_seconds = time.monotonic() - killed
        poller.stop()
        assert poller.asked > 10 and poller.failures == []
        others = ("api", "worker-training", "beat", "flower", "mlflow")
        assert {name: _pid(var_dir, name) for name in others} == {n: before[n] for n in others}
        groups.add(worker)

        # The API's gunicorn master: restarted, its old workers killed, answering again.
        api_pid, killed, api_pid_seconds = _kill(var_dir, "api", before["api"])
        until(lambda: _live(base), API_BACK_SECONDS, "the API answers again")
        api_live_seconds = time.monotonic() - killed
        assert not any(_running(p) for p in gunicorn_workers)
        others = ("worker-training", "beat", "flower", "mlflow")
        assert {name: _pid(var_dir, name) for name in others} == {n: before[n] for n in others}
        assert _pid(var_dir, "worker") == worker
        groups.add(api_pid)
        print(
            f"\nworker: new pid after {worker_pid_seconds:.2f} s, ready after "
            f"{worker_ready_seconds:.2f} s; api: new pid after {api_pid_seconds:.2f} s, "
            f"/health/live 200 again after {api_live_seconds:.2f} s"
        )

        up.send_signal(signal.SIGTERM)  # as a service manager stops it (Ctrl-C: the test above)
        assert up.wait(timeout=90) == 0
    finally:
        _stop_everything(up, descendants)

    time.sleep(1)
    left = [
        (p.pid, p.command())
        for p in procs.running()
        if p.sid in (session, up.pid) or p.pgid in groups
    ]
    assert left == [], f"processes left behind: {left}"
