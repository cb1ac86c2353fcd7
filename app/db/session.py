"""Engines and transaction-scoped sessions.

One engine per database URL per process. Forked Celery children call
:func:`dispose_engines` before their first query (see ``workers/signals.py``),
because a connection pool must never be shared across a fork.

A pooled connection that PostgreSQL closed (a restart, a terminated backend) is replaced when
it is checked out, so that the first request after a restart does not fail. It is found
without a round trip: an idle connection has nothing to read unless the server closed it (its
last words, or the end of the stream, are waiting on the socket), which one ``poll()`` of
the socket tells (``select()`` cannot watch a descriptor past 1023, and a busy API worker's
sockets go past it). ``pool_pre_ping`` would cost a ``SELECT 1`` round trip per checkout.

A server that does not answer at all (a host gone, a network partition) costs a new connection
at most ``CONNECT_TIMEOUT_SECONDS``, then the error every caller maps to a 503 or a retry.
"""

import os
import select
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from psycopg.rows import namedtuple_row
from sqlalchemy import Engine, create_engine, event, exc
from sqlalchemy.orm import Session, sessionmaker

_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker[Session]] = {}
CONNECT_TIMEOUT_SECONDS = 10


def pool_settings() -> dict[str, float]:
    """A process's database pool: ``BULLPEN_DB_POOL_SIZE`` connections kept (5),
    ``BULLPEN_DB_MAX_OVERFLOW`` more opened under load (10), and ``BULLPEN_DB_POOL_TIMEOUT``
    seconds (10) a request waits for one before it fails (the API answers that 503 with
    ``Retry-After``, app/outages.py). An API process serves hundreds of requests at once
    under gevent; a long poll holds no connection while it waits (app/jobs/events.py)."""
    return {
        "pool_size": int(os.environ.get("BULLPEN_DB_POOL_SIZE", "5")),
        "max_overflow": int(os.environ.get("BULLPEN_DB_MAX_OVERFLOW", "10")),
        "pool_timeout": float(os.environ.get("BULLPEN_DB_POOL_TIMEOUT", "10")),
    }


def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url``."""
    engine = _engines.get(url)
    if engine is None:
        postgresql = url.startswith("postgresql")
        engine = create_engine(
            url,
            **pool_settings(),
            connect_args={"connect_timeout": CONNECT_TIMEOUT_SECONDS} if postgresql else {},
        )
        if engine.dialect.name == "postgresql":
            event.listen(engine, "checkout", _closed_by_the_server)
        _engines[url] = engine
    return engine


def _closed_by_the_server(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    """Refuse an idle pooled connection the server has closed: the pool then discards it and
    checks out another (or a new one)."""
    if dbapi_connection.closed or dbapi_connection.broken:
        raise exc.DisconnectionError("the connection is closed")
    watch = select.poll()
    watch.register(dbapi_connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
    if watch.poll(0):
        raise exc.DisconnectionError("the server closed the connection")


@contextmanager
def autocommit_cursor(url: str, row_factory: Any = None) -> Iterator[Any]:
    """A psycopg cursor of a pooled connection in autocommit: each statement is its own
    transaction, without SQLAlchemy's ``Connection`` and result objects around it (two
    fifths of a one-statement request's database CPU).

    The connection comes from the process-wide pool as any other (its closed-connection check
    included) and goes back to it out of autocommit; a driver error is raised as SQLAlchemy
    raises it (an ``OperationalError`` is an outage: a 503, not a 500), and a connection that
    broke is dropped from the pool. ``row_factory``: psycopg's, for rows other than tuples.
    """
    engine = get_engine(url)
    error_type = engine.dialect.loaded_dbapi.Error
    try:
        fairy = engine.raw_connection()
    except error_type as error:  # no server: as ``Engine.connect`` raises it
        raise _translated(engine, error) from error
    try:
        connection = fairy.driver_connection
        connection.autocommit = True
        try:
            with connection.cursor(row_factory=row_factory) as cursor:
                yield cursor
        finally:
            if not connection.closed:
                connection.autocommit = False
    except error_type as error:
        if connection.closed or connection.broken:
            fairy.invalidate(error)
        raise _translated(engine, error) from error
    finally:
        fairy.close()


def _translated(engine: Engine, error: Exception) -> exc.DBAPIError:
    return exc.DBAPIError.instance(
        None, None, error, engine.dialect.loaded_dbapi.Error, dialect=engine.dialect
    )


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session inside one transaction: committed on success, rolled back on error."""
    factory = _factories.get(url)
    if factory is None:
        factory = _factories[url] = sessionmaker(bind=get_engine(url), expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


@contextmanager
def driver_connection(session: Session) -> Iterator[Any]:
    """The psycopg connection of ``session``'s transaction, for what SQLAlchemy does not do
    (COPY, a pipeline) or does at a cost above the statement's (a one-game job's reads). A
    driver error is raised as SQLAlchemy raises it (an ``OperationalError`` is an outage: a
    503, or a task's retry, never a job failed for it), and a connection that broke is dropped
    from the pool."""
    connection = session.connection()
    driver = connection.connection.driver_connection
    try:
        yield driver
    except connection.dialect.loaded_dbapi.Error as error:
        if driver.closed or driver.broken:
            connection.invalidate(error)
        raise _translated(connection.engine, error) from error


def pipelined(session: Session, statements: Sequence[tuple[str, Mapping[str, Any]]]) -> list[list]:
    """Run SQL statements (text with psycopg's ``%(name)s`` parameters) in ``session``'s
    transaction in one round trip (psycopg's pipeline mode), in order; each one's rows as
    named tuples (errors: as :func:`driver_connection`'s)."""
    with driver_connection(session) as driver:
        cursors = []
        with driver.pipeline():
            for sql, values in statements:
                cursor = driver.cursor(row_factory=namedtuple_row)
                cursor.execute(sql, values)
                cursors.append(cursor)
        return [cursor.fetchall() if cursor.description else [] for cursor in cursors]


def dispose_engines() -> None:
    """Forget every engine inherited from a parent process without closing its sockets."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()
    _factories.clear()
