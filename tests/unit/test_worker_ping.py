"""The readiness probe's worker ping is shared per job queue, never across queues."""

from types import SimpleNamespace

import pytest

from app.api import health


class _Queue:
    def __init__(self, answer: int | Exception) -> None:
        self.answer = answer
        self.pings = 0

    def ping(self, timeout: float = 1.0) -> int:
        self.pings += 1
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_a_failed_ping_of_one_queue_is_not_another_queues_answer() -> None:
    unreachable = _Queue(ConnectionError("Error 111 connecting to 127.0.0.1:1"))
    reachable = _Queue(1)

    with pytest.raises(ConnectionError):
        health._check_worker(SimpleNamespace(queue=unreachable))
    answer = health._check_worker(SimpleNamespace(queue=reachable))

    assert answer == "1 worker(s)"
    assert reachable.pings == 1


def test_probes_of_one_queue_share_its_ping() -> None:
    queue = _Queue(2)

    answers = [health._check_worker(SimpleNamespace(queue=queue)) for _ in range(3)]

    assert answers == ["2 worker(s)"] * 3
    assert queue.pings == 1
