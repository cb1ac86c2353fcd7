"""Statements sent together in a session's transaction (psycopg's pipeline mode): each one's
rows in order, one round trip, committed or rolled back with the transaction, and a driver
error raised as SQLAlchemy raises it (a connection that broke dropped: an outage, retried)."""

import pytest
from sqlalchemy import event, exc

from app.db.session import get_engine, pipelined, session_scope
from tests.round_trips import counting

pytestmark = pytest.mark.integration


def test_statements_answer_in_order_in_one_round_trip_of_the_transaction(
    clean_database: str,
) -> None:
    with session_scope(clean_database) as session:
        session.connection().exec_driver_sql("CREATE TABLE piped (id integer)")
    with session_scope(clean_database) as session, counting() as trips:
        inserted, counted, nothing = pipelined(
            session,
            [
                ("INSERT INTO piped VALUES (%(id)s) RETURNING id", {"id": 7}),
                ("SELECT count(*) AS n FROM piped", {}),
                ("UPDATE piped SET id = 8 WHERE id = 0", {}),
            ],
        )
        assert sum(trips.postgres.values()) == 1, trips.postgres
    assert [row.id for row in inserted] == [7]
    assert counted[0].n == 1  # the INSERT before it, in the same transaction
    assert nothing == []
    with pytest.raises(exc.ProgrammingError), session_scope(clean_database) as session:
        pipelined(
            session,
            [("INSERT INTO piped VALUES (9)", {}), ("SELECT * FROM no_such_table", {})],
        )
    with session_scope(clean_database) as session:  # the failed transaction left nothing
        ids = session.connection().exec_driver_sql("SELECT id FROM piped").scalars().all()
        session.connection().exec_driver_sql("DROP TABLE piped")
    assert ids == [7]


def test_a_connection_that_broke_is_dropped_and_the_error_is_sqlalchemy_s(
    clean_database: str,
) -> None:
    dropped = []
    event.listen(get_engine(clean_database), "invalidate", lambda *args: dropped.append(args))

    with pytest.raises(exc.OperationalError), session_scope(clean_database) as session:
        pipelined(session, [("SELECT pg_terminate_backend(pg_backend_pid())", {})])

    assert dropped, "the broken connection went back to the pool"
    with session_scope(clean_database) as session:  # the next one works
        assert session.connection().exec_driver_sql("SELECT 1").scalar() == 1
