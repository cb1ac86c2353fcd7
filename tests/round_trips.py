"""Count what a process sends to PostgreSQL and Redis: its round trips, by what sent them.

A PostgreSQL round trip is a psycopg operation that waited for the server at least once (a
statement; a COMMIT or ROLLBACK outside a transaction, or a change of autocommit, sends
nothing and is not counted; statements sent in pipeline mode count once, at the pipeline's
sync), named by the connection method that ran it; a Redis command is
one sent by redis-py (the broker's, the rate limiter's, kombu's), named by the command.
"""

import sys
import threading
from collections import Counter
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import redis


class RoundTrips:
    """``postgres`` and ``redis`` counters, filled while :func:`counting` is active."""

    def __init__(self) -> None:
        self.postgres: Counter[str] = Counter()
        self.redis: Counter[str] = Counter()

    def clear(self) -> None:
        self.postgres.clear()
        self.redis.clear()

    def _waiting(self, gen: Generator, caller: str) -> Generator:
        try:
            ready = next(gen)
        except StopIteration as done:
            return done.value
        self.postgres[caller] += 1
        while True:
            reply = yield ready
            try:
                ready = gen.send(reply)
            except StopIteration as done:
                return done.value


@contextmanager
def counting() -> Iterator[RoundTrips]:
    """Count every round trip of this thread until the block ends (another thread's, a
    listener's say, are not counted)."""
    trips = RoundTrips()
    thread = threading.get_ident()
    wait, send = psycopg.Connection.wait, redis.connection.AbstractConnection.send_command

    def counted_wait(self: psycopg.Connection, gen: Generator, *args: Any, **kwargs: Any) -> Any:
        caller = sys._getframe(1).f_code.co_name
        # A statement sent in pipeline mode waits for the socket, not the server: its answer
        # comes with the pipeline's sync (its ``__exit__``), the round trip that is counted.
        pipelined = self._pipeline is not None and caller == "execute"
        if threading.get_ident() != thread or pipelined:
            return wait(self, gen, *args, **kwargs)
        return wait(self, trips._waiting(gen, caller), *args, **kwargs)

    def counted_send(self: Any, *args: Any, **kwargs: Any) -> Any:
        if threading.get_ident() == thread:
            trips.redis[str(args[0]).upper()] += 1
        return send(self, *args, **kwargs)

    psycopg.Connection.wait = counted_wait  # type: ignore[method-assign]
    redis.connection.AbstractConnection.send_command = counted_send  # type: ignore[method-assign]
    try:
        yield trips
    finally:
        psycopg.Connection.wait = wait  # type: ignore[method-assign]
        redis.connection.AbstractConnection.send_command = send  # type: ignore[method-assign]
