"""HTTP probes against a real local server: any answer below 500 is "serving"; readiness is a
200, and `bullpen up` waits for it."""

import http.server
import json
import socket
from collections.abc import Iterator

import pytest

from app.stack.probes import http_answers, ready, wait_until_ready
from tests.servers import serving


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = int(self.path.strip("/"))
        body = json.dumps({"status": "not ready", "message": "not ready: workers"}).encode()
        self.send_response(status)
        self.end_headers()
        if status == 503:
            self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    with serving(http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)) as url:
        yield url


@pytest.mark.parametrize(
    ("status", "serving"), [(200, True), (401, True), (404, True), (500, False), (503, False)]
)
def test_a_server_serves_when_it_answers_below_500(server: str, status: int, serving: bool):
    assert http_answers(f"{server}/{status}") is serving


def test_nothing_listening_is_not_serving():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        assert http_answers(f"http://127.0.0.1:{port}/", timeout=1) is False


def test_ready_is_a_200_and_otherwise_says_why(server: str):
    assert ready(f"{server}/200") == (True, "")
    assert ready(f"{server}/503") == (False, "not ready: workers")
    assert ready(f"{server}/500") == (False, "HTTP 500")


def test_waiting_for_readiness_echoes_each_new_reason_once():
    answers = iter([(False, "no answer"), (False, "not ready: workers"),
                    (False, "not ready: workers"), (True, "")])  # fmt: skip
    said: list[str] = []
    assert wait_until_ready(lambda: next(answers), lambda: True, 10, said.append, interval=0)
    assert said == ["waiting for readiness: no answer", "waiting for readiness: not ready: workers"]


def test_waiting_ends_when_the_stack_stops_or_time_runs_out():
    assert not wait_until_ready(lambda: (True, ""), lambda: False, 10, print, interval=0)
    assert not wait_until_ready(lambda: (False, "x"), lambda: True, 0.05, lambda _: None,
                                interval=0.01)  # fmt: skip
