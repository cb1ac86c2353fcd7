"""Shared fixtures: real PostgreSQL and Redis, embedded unless the environment names servers.

Set ``BULLPEN_DATABASE_URL`` (any database on the server; tests create their own),
``BULLPEN_BROKER_URL`` and ``BULLPEN_FEATURE_STORE_URL`` to run against existing
services; leave them unset to run against the embedded stack in a temporary folder.
"""

import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.db.migrate import upgrade
from app.db.session import dispose_engines
from app.stack.embedded import EmbeddedStack

SERVICE_VARIABLES = ("BULLPEN_DATABASE_URL", "BULLPEN_BROKER_URL", "BULLPEN_FEATURE_STORE_URL")

# A test is marked by what it uses (pyproject.toml declares the markers): PostgreSQL and Redis
# make it an integration test; a browser, a replayed season or a chaos stack of its own put it
# in `make check` alone.
MARKERS_BY_FIXTURE = {
    "service_urls": "integration",
    "browser": "browser",
    "replayed_week": "replay",
    "chaos": "chaos",
}


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist's, absent under -p no:xdist
def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: a process per core, each with embedded servers of its own; one process when
    the environment names servers, whose Redis databases the processes' workers would share."""
    if all(os.environ.get(key) for key in SERVICE_VARIABLES):
        return 0
    return os.cpu_count() or 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        fixtures = getattr(item, "fixturenames", ())
        for fixture, marker in MARKERS_BY_FIXTURE.items():
            if fixture in fixtures:
                item.add_marker(marker)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def service_urls() -> Iterator[dict[str, str]]:
    """URLs of a PostgreSQL server and a Redis server for the whole test session."""
    configured = {key: os.environ[key] for key in SERVICE_VARIABLES if os.environ.get(key)}
    if len(configured) == 3:
        yield configured
        return
    # Outside pytest's own temp root: a pytest session started meanwhile resets that root to
    # mode 700, which locks out the PostgreSQL server user pgserver runs as (root's tests).
    var_dir = Path(tempfile.mkdtemp(prefix="bullpen-test-var-"))
    stack = EmbeddedStack(var_dir, redis_port=_free_port())
    try:
        yield {**stack.start(), **configured}
    finally:
        stack.stop()
        shutil.rmtree(var_dir, ignore_errors=True)


@contextmanager
def fresh_database(server_url: str) -> Iterator[str]:
    """Create a migrated database of its own on the test server; drop it afterwards."""
    server = make_url(server_url)
    name = f"bullpen_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        yield url
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def database_url(service_urls: dict[str, str]) -> Iterator[str]:
    """The session's system database: seeded once by the integration tests, never emptied."""
    with fresh_database(service_urls["BULLPEN_DATABASE_URL"]) as url:
        yield url


@pytest.fixture(scope="session")
def _scratch_database_url(service_urls: dict[str, str]) -> Iterator[str]:
    with fresh_database(service_urls["BULLPEN_DATABASE_URL"]) as url:
        yield url


@pytest.fixture
def clean_database(_scratch_database_url: str) -> str:
    """A second database of the session, every table emptied before each test."""
    from app.db.base import Base
    from app.db.session import get_engine
    from app.tables import Game  # noqa: F401 - loads every model into the metadata

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine(_scratch_database_url).begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return _scratch_database_url


@pytest.fixture(scope="session")
def sample_dir() -> Path:
    """The real data sample shipped with the project."""
    return Path(__file__).resolve().parent.parent / "data" / "sample"
