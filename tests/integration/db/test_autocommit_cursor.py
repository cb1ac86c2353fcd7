"""The enqueue's cursor: a pooled connection in autocommit, returned to the pool as it came,
and a connection that broke under it dropped and raised as SQLAlchemy raises it (a 503)."""

import pytest
from sqlalchemy import event, exc

from app.db.session import autocommit_cursor, get_engine, session_scope

pytestmark = pytest.mark.integration


def test_each_statement_commits_and_the_connection_goes_back_out_of_autocommit(
    clean_database: str,
) -> None:
    with autocommit_cursor(clean_database) as cursor:
        connection = cursor.connection
        cursor.execute("CREATE TABLE autocommitted (id integer)")
        cursor.execute("INSERT INTO autocommitted VALUES (1)")
        in_block = connection.autocommit

    assert in_block is True
    assert connection.autocommit is False  # the pool's next user gets transactions
    with session_scope(clean_database) as session:  # committed, seen from another connection
        assert session.connection().exec_driver_sql("SELECT id FROM autocommitted").all() == [(1,)]
        session.connection().exec_driver_sql("DROP TABLE autocommitted")


def test_a_connection_that_broke_is_dropped_and_the_error_is_sqlalchemy_s(
    clean_database: str,
) -> None:
    dropped = []
    event.listen(get_engine(clean_database), "invalidate", lambda *args: dropped.append(args))

    with (
        pytest.raises(exc.OperationalError),
        autocommit_cursor(clean_database) as cursor,
    ):
        broken = cursor.connection
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")

    assert broken.broken
    assert dropped, "the broken connection went back to the pool"
    with autocommit_cursor(clean_database) as cursor:  # the next one works
        assert cursor.execute("SELECT 1").fetchone() == (1,)
