"""The parts of backups that need no server: retention, manifests, moving the artifact root."""

import contextlib
import json
import sqlite3
import tarfile
from pathlib import Path

import pytest

from app.stack.backup import BackupError, _major, prune, read_manifest
from app.stack.mlflow_store import move_artifact_root
from workers.beat import beat_schedule


def test_prune_keeps_the_newest_archives_and_nothing_else_is_touched(tmp_path: Path) -> None:
    names = [f"bullpen-backup-2026010{day}T073000Z.tar" for day in range(1, 6)]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "notes.txt").write_text("mine")

    removed = prune(tmp_path, keep=2)

    assert sorted(path.name for path in removed) == names[:3]
    assert sorted(path.name for path in tmp_path.iterdir()) == [*names[3:], "notes.txt"]
    assert prune(tmp_path, keep=2) == []


def test_a_file_that_is_no_backup_is_one_clear_error(tmp_path: Path) -> None:
    text = tmp_path / "bets.csv"
    text.write_text("bet_id,stake\n")
    with pytest.raises(BackupError, match="not a Bullpen backup"):
        read_manifest(text)
    other = tmp_path / "other.tar"
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 99}))
    with tarfile.open(other, "w") as archive:
        archive.add(tmp_path / "manifest.json", "manifest.json")
    with pytest.raises(BackupError, match="format"):
        read_manifest(other)


def test_the_artifact_root_moves_in_every_table_and_only_at_the_start(tmp_path: Path) -> None:
    database = tmp_path / "mlflow.db"
    old, new = "file:///old/var/mlartifacts", "file:///new/var/mlartifacts"
    with contextlib.closing(sqlite3.connect(database)) as connection, connection:
        connection.execute("CREATE TABLE runs (run_uuid VARCHAR(32), artifact_uri VARCHAR(200))")
        connection.execute("CREATE TABLE model_versions (version INTEGER, source TEXT)")
        connection.execute("INSERT INTO runs VALUES ('r1', ?)", (f"{old}/r1/artifacts",))
        connection.execute("INSERT INTO model_versions VALUES (1, ?)", (f"{old}/models/m1",))
        connection.execute("INSERT INTO model_versions VALUES (2, ?)", (f"s3://bucket{old}",))

    move_artifact_root(database, old, new)

    with contextlib.closing(sqlite3.connect(database)) as connection:
        assert connection.execute("SELECT artifact_uri FROM runs").fetchall() == [
            (f"{new}/r1/artifacts",)
        ]
        assert connection.execute(
            "SELECT source FROM model_versions ORDER BY version"
        ).fetchall() == [
            (f"{new}/models/m1",),
            (f"s3://bucket{old}",),
        ]


def test_the_beat_takes_a_daily_backup() -> None:
    entry = beat_schedule()["daily-backup"]
    assert entry["task"] == "tasks.maintenance.backup"
    assert entry["schedule"].hour == {7}


def test_the_major_release_of_a_pg_tool_is_read_from_its_version_line() -> None:
    # Debian's line ends in a parenthesis of its own, which the release must not be read from.
    assert _major("pg_dump (PostgreSQL) 15.20 (Debian 15.20-0+deb12u1)") == 15
    assert _major("pg_restore (PostgreSQL) 16.2") == 16
    assert _major("pg_dump (PostgreSQL) 9.6.24") == 9
    assert _major("not a PostgreSQL tool 1.0") is None
