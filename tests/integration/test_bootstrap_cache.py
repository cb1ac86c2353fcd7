"""The tests' cached bootstrap (tests/bootstrap_cache.py): a restored installation is the one
that was built, and the key moves with every input."""

import json
import shutil
import sqlite3
from dataclasses import replace
from pathlib import Path

import pytest
import redis

from app.config import Settings
from tests.bootstrap_cache import cache_key, cache_root, fingerprint, restore
from tests.conftest import fresh_database
from tests.integration.conftest import redis_database

pytestmark = pytest.mark.integration

SCRATCH_STORE_DB = 7  # a Redis database no other test uses


def test_a_restored_installation_is_the_one_that_was_built(
    seeded: Settings, tmp_path: Path
) -> None:
    entry = cache_root() / cache_key(seeded.sample_dir)
    assert (entry / "complete").exists()  # `seeded` built it, or found it
    built = (entry / "fingerprint.json").read_text()
    with fresh_database(seeded.database_url) as database_url:
        copy = replace(
            seeded,
            database_url=database_url,
            feature_store_url=redis_database(seeded.feature_store_url, SCRATCH_STORE_DB),
            var_dir=tmp_path / "var",
            mlflow_tracking_uri=f"sqlite:///{tmp_path / 'var' / 'mlflow.db'}",
        )
        store = redis.Redis.from_url(copy.feature_store_url)
        store.flushdb()
        try:
            restore(copy, entry)
            restored = fingerprint(copy)
        finally:
            store.flushdb()
    assert restored == json.loads(built)
    assert not _mentions(tmp_path / "var" / "mlflow.db", (entry / "var_dir.txt").read_text())
    assert restored["tables"]["games"][0] > 4000  # two seasons of the sample
    assert all(version for version, _ in restored["champions"].values())


def _mentions(mlflow_db: Path, text: str) -> bool:
    """Whether any text cell of the MLflow store still names ``text`` (the built one's folder:
    its artifacts would then be read from there, not from the restored copy)."""
    with sqlite3.connect(mlflow_db) as db:
        for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
            for column in db.execute(f'PRAGMA table_info("{table}")').fetchall():
                found = db.execute(
                    f'SELECT 1 FROM "{table}" WHERE instr(CAST("{column[1]}" AS TEXT), ?) > 0',
                    (text,),
                ).fetchone()
                if found:
                    return True
    return False


def test_the_key_changes_with_the_sample_data(sample_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "sample"
    shutil.copytree(sample_dir, copy)
    before = cache_key(copy)
    assert cache_key(copy) == before  # the same inputs, the same key
    workbook = next(copy.glob("mlb-odds-*.xlsx"))
    workbook.write_bytes(workbook.read_bytes() + b"\0")
    assert cache_key(copy) != before
