"""HTTP probes against a real local server: any answer below 500 is "serving"."""

import http.server
import socket
from collections.abc import Iterator

import pytest

from app.stack.probes import http_answers
from tests.servers import serving


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status = int(self.path.strip("/"))
        self.send_response(status)
        self.end_headers()

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
