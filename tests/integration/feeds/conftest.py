"""A real HTTP server on 127.0.0.1 playing the providers from a script of responses."""

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from dataclasses import replace as replace_settings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from app.config import Settings

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "feeds"


@dataclass
class Reply:
    """One scripted response: status, headers, body, and a delay before answering."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @classmethod
    def fixture(cls, name: str, **headers: str) -> "Reply":
        return cls(200, (FIXTURES / name).read_bytes(), {**headers})


@dataclass(frozen=True)
class Seen:
    """A request the server received: path, query and when."""

    path: str
    query: dict[str, list[str]]
    at: float


class Provider:
    """Answers GETs of a path with its scripted replies in order (the last one repeats)."""

    def __init__(self) -> None:
        self.script: dict[str, list[Reply]] = {}
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                with provider._lock:
                    provider.seen.append(Seen(parts.path, parse_qs(parts.query), time.monotonic()))
                    replies = provider.script.get(parts.path) or [Reply(404, b"not found")]
                    reply = replies.pop(0) if len(replies) > 1 else replies[0]
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(reply.body)))
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting (a timeout test)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def serve(self, path: str, *replies: Reply) -> None:
        with self._lock:
            self.script[path] = list(replies)

    def requests_to(self, path: str) -> list[Seen]:
        return [seen for seen in self.seen if seen.path == path]

    def __enter__(self) -> "Provider":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def provider() -> Iterator[Provider]:
    with Provider() as running:
        yield running


@pytest.fixture
def feed_settings(clean_database: str, provider: Provider, tmp_path: Path) -> Settings:
    """Settings on an emptied database with both feeds pointing at the local provider."""
    return replace_settings(
        Settings.from_env({}),
        database_url=clean_database,
        var_dir=tmp_path,
        schedule_api_url=provider.url,
        odds_api_url=provider.url,
        odds_api_key="test-key",
    )
