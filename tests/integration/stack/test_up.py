"""`bullpen up` as a newcomer runs it: embedded stack, first-start bootstrap, Ctrl-C stops all."""

import os
import signal
import socket
import subprocess
import sys
import time

import psutil
import pytest
import requests

pytestmark = pytest.mark.integration

READY_TIMEOUT_SECONDS = 300


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_ready(base: str, up: subprocess.Popen) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        assert up.poll() is None, "bullpen up exited before it was ready"
        try:
            if requests.get(f"{base}/health/ready", timeout=30).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(1)
    raise AssertionError("bullpen up was not ready in time")


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


def test_up_serves_predictions_and_ctrl_c_leaves_nothing_behind(tmp_path):
    var_dir = tmp_path / "var"
    api, flower, mlflow = _free_port(), _free_port(), _free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("BULLPEN_") and key != "MLFLOW_TRACKING_URI"
    }
    env |= {"BULLPEN_VAR_DIR": str(var_dir), "BULLPEN_EMBEDDED_REDIS_PORT": str(_free_port())}
    up = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "up", "--api-port", str(api),
         "--flower-port", str(flower), "--mlflow-port", str(mlflow)],
        env=env, start_new_session=True,
    )  # fmt: skip
    base = f"http://127.0.0.1:{api}"
    descendants: list[psutil.Process] = []
    try:
        _wait_ready(base, up)
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

    assert submitted.status_code == 202
    assert job["status"] == "succeeded"
    assert 0 < prediction["home_ml_probability"] < 1
    assert 0 < prediction["home_ml_market_probability"] < 1
    assert len(descendants) >= 6  # api, two workers, beat, flower, mlflow, and their children
    assert postgres, "the embedded PostgreSQL should have been running"
    time.sleep(1)
    left = [p.pid for p in descendants + postgres if _running(p)]
    assert left == [], f"processes left behind: {left}"
