"""A real API process (`bullpen api`: gunicorn + gevent) for tests that need one."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import requests


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def api_server(env: Mapping[str, str], workers: int = 2) -> Iterator[tuple[str, subprocess.Popen]]:
    """`bullpen api` on a free port with ``env``: its base URL and process once
    ``/health/live`` answers; its process group is stopped at the end."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "api", "--port", str(port), "--workers", str(workers)],
        env={**os.environ, **env},
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, "bullpen api exited"
            try:
                if requests.get(f"{base}/health/live", timeout=30).ok:
                    break
            except requests.ConnectionError:  # not listening yet
                time.sleep(0.2)
            assert time.monotonic() < deadline, "bullpen api did not answer in 60 s"
        yield base, process
    finally:
        os.killpg(process.pid, 15)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()
