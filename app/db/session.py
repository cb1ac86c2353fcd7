"""Engines and transaction-scoped sessions.

One engine per database URL per process. Forked Celery children call
:func:`dispose_engines` before their first query (see ``workers/signals.py``),
because a connection pool must never be shared across a fork.
"""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

_engines: dict[str, Engine] = {}
_factories: dict[str, sessionmaker[Session]] = {}


def get_engine(url: str) -> Engine:
    """The process-wide engine for ``url``."""
    engine = _engines.get(url)
    if engine is None:
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)
        _engines[url] = engine
    return engine


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """A session inside one transaction: committed on success, rolled back on error."""
    factory = _factories.get(url)
    if factory is None:
        factory = _factories[url] = sessionmaker(bind=get_engine(url), expire_on_commit=False)
    with factory() as session, session.begin():
        yield session


def dispose_engines() -> None:
    """Forget every engine inherited from a parent process without closing its sockets."""
    for engine in _engines.values():
        engine.dispose(close=False)
    _engines.clear()
    _factories.clear()
