"""The bulk writes every ingest source uses: upserts that skip unchanged rows, updates by id."""

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, bindparam, func, or_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session


def upsert(
    session: Session,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    conflict_columns: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """INSERT ... ON CONFLICT DO UPDATE that only touches rows whose values differ."""
    if not rows:
        return
    statement = insert(table)
    changes: dict[str, Any] = {name: statement.excluded[name] for name in update_columns}
    if "updated_at" in table.c:
        changes["updated_at"] = func.now()
    statement = statement.on_conflict_do_update(
        index_elements=list(conflict_columns),
        set_=changes,
        where=or_(
            *(table.c[name].is_distinct_from(statement.excluded[name]) for name in update_columns)
        ),
    )
    session.execute(statement, list(rows))


def update_by_id(
    session: Session, table: Table, changes: Iterable[Mapping[str, Any]], columns: Sequence[str]
) -> int:
    """Set ``columns`` of the rows whose ``id`` each change names; returns how many changed.

    Each change is ``{"id": ..., column: value, ...}``; one executemany statement.
    """
    payload = [
        {"b_id": change["id"], **{f"v_{name}": change[name] for name in columns}}
        for change in changes
    ]
    if not payload:
        return 0
    values: dict[str, Any] = {name: bindparam(f"v_{name}") for name in columns}
    if "updated_at" in table.c:
        values["updated_at"] = func.now()
    session.execute(update(table).where(table.c.id == bindparam("b_id")).values(values), payload)
    return len(payload)
