"""Flower and the MLflow UI refuse unauthenticated requests whenever API keys are set."""

import os
import socket
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import requests

from app.config import Settings
from app.stack.supervisor import Ports, component_commands

pytestmark = pytest.mark.integration

ADMIN_KEY = "ops-key-1f6c0e"
KEYS = f"{ADMIN_KEY}:read+admin,reader-key-77aa:read"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, process: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited with {process.returncode}")
        try:
            requests.get(url, timeout=10)
            return
        except (requests.ConnectionError, requests.Timeout):  # not listening, or still warming up
            time.sleep(0.5)
    raise RuntimeError(f"{url} did not answer within {seconds} s")


def _stop(process: subprocess.Popen) -> None:
    try:
        os.killpg(process.pid, 15)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        process.wait()
    except ProcessLookupError:
        pass


def test_command_lines_close_mlflow_with_keys_and_never_show_a_key(settings: Settings) -> None:
    ports = Ports(api=18000, flower=18555, mlflow=18501)
    open_commands = component_commands(settings, ports)
    closed = replace(settings, api_keys={ADMIN_KEY: frozenset({"admin"})})
    closed_commands = component_commands(closed, ports)

    assert "--app-name" not in open_commands["mlflow"]
    assert closed_commands["mlflow"][-4:] == [
        "--app-name", "bullpen-auth", "--gunicorn-opts", "--log-level warning",
    ]  # fmt: skip
    assert closed_commands["flower"] == [
        sys.executable, "-m", "app.cli", "flower", "--port", "18555",
    ]  # fmt: skip
    assert all(ADMIN_KEY not in " ".join(c) for c in closed_commands.values())


@pytest.mark.parametrize("component", ["flower", "mlflow"])
def test_operator_ui_refuses_requests_without_an_admin_key(
    settings: Settings, component: str
) -> None:
    port = _free_port()
    env = {**os.environ, **settings.as_env(), "BULLPEN_API_KEYS": KEYS,
           "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}  # fmt: skip
    closed = replace(settings, api_keys={ADMIN_KEY: frozenset({"admin"})})
    command = component_commands(closed, Ports(flower=port, mlflow=port))[component]
    process = subprocess.Popen(
        command,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_for(url, process)
        anonymous = requests.get(url, timeout=10)
        reader = requests.get(url, auth=("bullpen", "reader-key-77aa"), timeout=10)
        wrong_user = requests.get(url, auth=("admin", ADMIN_KEY), timeout=10)
        admin = requests.get(url, auth=("bullpen", ADMIN_KEY), timeout=10)
    finally:
        _stop(process)

    assert anonymous.status_code == 401
    assert reader.status_code == 401
    assert wrong_user.status_code == 401
    assert admin.status_code == 200
