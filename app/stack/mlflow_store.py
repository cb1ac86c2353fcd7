"""An MLflow store in SQLite, moved as files: a consistent copy of the live database, and its
absolute artifact locations pointed at a new root (backups, restores, the tests' cache)."""

import contextlib
import sqlite3
from pathlib import Path


def sqlite_path(uri: str | None) -> Path | None:
    """The file of an ``sqlite:///`` tracking URI, None for any other store."""
    if uri and uri.startswith("sqlite:///"):
        return Path(uri.removeprefix("sqlite:///")).resolve()
    return None


def sqlite_backup(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (its online backup API)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as live,
        contextlib.closing(sqlite3.connect(target)) as copy,
    ):
        live.backup(copy)


def move_artifact_root(database: Path, old: str | None, new: str) -> None:
    """Point every artifact location of the store at the restored root.

    MLflow keeps absolute URIs (experiments, runs, model versions, logged models); every text
    value that starts with the old root is rewritten, whatever table holds it."""
    if not old or old == new:
        return
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        tables = [
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        for table in tables:
            for column in connection.execute(f'PRAGMA table_info("{table}")').fetchall():
                name, kind = column[1], (column[2] or "").upper()
                if "CHAR" not in kind and "TEXT" not in kind and "CLOB" not in kind:
                    continue
                connection.execute(
                    f'UPDATE "{table}" SET "{name}" = ? || substr("{name}", ?)'
                    f' WHERE substr("{name}", 1, ?) = ?',
                    (new, len(old) + 1, len(old), old),
                )
