"""Pooled connections the server closed (as a PostgreSQL restart closes them all) are replaced
when checked out: the requests that follow succeed, with no round trip spent on a ping."""

import os
import resource
import time
import uuid

import psycopg
import pytest
from sqlalchemy import event, text

from app.config import Settings
from app.db.session import get_engine, session_scope
from app.jobs.events import libpq_conninfo
from app.jobs.service import create_job
from workers.api import create_api

pytestmark = pytest.mark.integration


def _terminate_pooled_backends(database_url: str) -> int:
    """Terminate every other backend of the database from a connection outside the pool."""
    with psycopg.connect(libpq_conninfo(database_url), autocommit=True) as conn:
        return conn.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() "
            "AND backend_type = 'client backend'"
        ).fetchone()[0]


def test_requests_after_every_pooled_connection_was_closed_by_the_server_succeed(
    settings: Settings,
) -> None:
    api = create_api(settings)
    client = api.test_client()
    with session_scope(settings.database_url) as session:
        job, _ = create_job(session, "predict", {"game_ids": [1]}, total=1)
    path = f"/api/v1/jobs/{uuid.UUID(str(job.id))}"
    # Several connections in the pool: concurrent sessions check out one each.
    engine = get_engine(settings.database_url)
    held = [engine.connect() for _ in range(3)]
    for connection in held:
        connection.close()
    assert client.get(path).status_code == 200
    replaced = []
    event.listen(engine, "invalidate", lambda *args: replaced.append(args))

    assert _terminate_pooled_backends(settings.database_url) >= 1
    time.sleep(0.2)  # the backends' exits reach the sockets (milliseconds; room for a busy host)
    statuses = [client.get(path).status_code for _ in range(10)]

    assert statuses == [200] * 10
    assert replaced, "no pooled connection was found closed: the fault did not land"


def test_a_closed_connection_is_found_past_file_descriptor_1024(settings: Settings) -> None:
    """``select()`` cannot watch a descriptor of 1024 or more; a process holding many sockets
    (an API worker under load) gets pooled connections numbered past it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 1200:
        pytest.skip(f"descriptors are limited to {hard}: no socket can be numbered past 1023")
    # A user's default soft limit is often 1024: raised as a busy API worker's would be.
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 1200), hard))
    engine = get_engine(settings.database_url)
    engine.dispose()  # its connections' descriptors are freed before the padding takes them
    padding = []
    try:
        while True:  # take every descriptor below 1100, so the next connections get higher
            descriptor = os.open(os.devnull, os.O_RDONLY)
            padding.append(descriptor)
            if descriptor >= 1100:
                break
        with engine.connect() as connection:
            assert connection.connection.dbapi_connection.fileno() > 1024
        replaced = []
        event.listen(engine, "invalidate", lambda *args: replaced.append(args))
        assert _terminate_pooled_backends(settings.database_url) >= 1
        time.sleep(0.2)
        with session_scope(settings.database_url) as session:
            assert session.execute(text("SELECT 1")).scalar_one() == 1
        assert replaced, "the closed connection was not found: the fault did not land"
    finally:
        for descriptor in padding:
            os.close(descriptor)
        get_engine(settings.database_url).dispose()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_enqueues_after_every_pooled_connection_was_closed_by_the_server_succeed(
    seeded: Settings,
) -> None:
    client = create_api(seeded).test_client()
    game_id = client.get("/api/v1/games?date=2019-06-15").get_json()[0]["id"]
    engine = get_engine(seeded.database_url)
    held = [engine.connect() for _ in range(3)]
    for connection in held:
        connection.close()
    assert client.post("/api/v1/predict", json={"game_id": game_id}).status_code == 202
    replaced = []
    event.listen(engine, "invalidate", lambda *args: replaced.append(args))

    assert _terminate_pooled_backends(seeded.database_url) >= 1
    time.sleep(0.2)  # the backends' exits reach the sockets
    statuses = [
        client.post("/api/v1/predict", json={"game_id": game_id}).status_code for _ in range(10)
    ]

    assert statuses == [202] * 10
    assert replaced, "no pooled connection was found closed: the fault did not land"
