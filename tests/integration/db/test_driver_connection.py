"""Statements sent on the driver's connection of a session (a chunk's COPY, a few rows'
arrays) meet a busy or restarting PostgreSQL as SQLAlchemy's statements do: an
``OperationalError``, which the tasks retry, never a job failed for it."""

import uuid
from datetime import UTC, datetime

import psycopg
import pytest

from app.db.session import session_scope
from app.jobs.events import libpq_conninfo
from app.outages import TRANSIENT_ERRORS
from app.predictions.results import write_results

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("rows", [3, 40], ids=["a few rows", "a chunk's COPY"])
def test_a_write_that_waits_past_its_lock_timeout_is_an_outage(clean_database: str, rows: int):
    made = datetime.now(UTC).isoformat()
    payloads = [{"prediction_timestamp": made, "n": n} for n in range(rows)]

    with psycopg.connect(libpq_conninfo(clean_database)) as other:
        other.execute("LOCK TABLE predictions IN ACCESS EXCLUSIVE MODE")  # held to its end
        with pytest.raises(TRANSIENT_ERRORS), session_scope(clean_database) as session:
            session.connection().exec_driver_sql("SET LOCAL lock_timeout = '100ms'")
            write_results(session, uuid.uuid4(), range(rows), [str(n) for n in range(rows)],
                          [None] * rows, payloads)  # fmt: skip

    with session_scope(clean_database) as session:  # the connection serves the next one
        assert session.connection().exec_driver_sql("SELECT 1").scalar() == 1
