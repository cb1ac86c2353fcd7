"""Two installations on one machine: each command finds its own embedded Redis, never another's."""

import socket
from pathlib import Path

import pytest
import redis

from app.stack.embedded import PORT_FILE, EmbeddedStack

pytestmark = pytest.mark.integration


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _owner(url: str) -> Path:
    return Path(redis.Redis.from_url(url).config_get("dir")["dir"]).resolve()


def test_a_second_installation_on_the_same_port_gets_its_own_redis(tmp_path: Path) -> None:
    port = _free_port()
    first = EmbeddedStack(tmp_path / "first", port)
    second = EmbeddedStack(tmp_path / "second", port)  # both configured with the same port
    try:
        first_url = first.start(need_postgres=False)["BULLPEN_BROKER_URL"]
        second_url = second.start(need_postgres=False)["BULLPEN_BROKER_URL"]

        assert first_url != second_url
        assert _owner(first_url) == (tmp_path / "first" / "redis").resolve()
        assert _owner(second_url) == (tmp_path / "second" / "redis").resolve()
        assert (tmp_path / "second" / "redis" / PORT_FILE).read_text() == str(second.redis_port)

        # A command joining the second installation (same configured port) finds the second's
        # Redis, whether it starts the stack or only reads the broker's URL (the probes).
        joiner = EmbeddedStack(tmp_path / "second", port)
        assert joiner.start(need_postgres=False)["BULLPEN_BROKER_URL"] == second_url
        joiner.stop()  # it started nothing, so it stops nothing
        assert redis.Redis.from_url(second_url).ping()
        assert EmbeddedStack(tmp_path / "second", port).broker_url == second_url
        assert EmbeddedStack(tmp_path / "first", port).broker_url == first_url
    finally:
        second.stop()
        first.stop()
    with pytest.raises(redis.ConnectionError):
        redis.Redis.from_url(second_url, socket_connect_timeout=1).ping()


def test_a_port_held_by_something_else_is_not_taken_for_redis(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        stack = EmbeddedStack(tmp_path / "var", port)
        try:
            url = stack.start(need_postgres=False)["BULLPEN_BROKER_URL"]
            assert stack.redis_port != port
            assert _owner(url) == (tmp_path / "var" / "redis").resolve()
        finally:
            stack.stop()
