"""The seeded installation (sample ingested, features stored, a champion per target), built once
and reused: ``bullpen up``'s bootstrap costs minutes, restoring its result costs seconds.

The cache is a folder per key under ``$BULLPEN_TEST_CACHE`` (default ``~/.cache/bullpen/tests``).
The key hashes every input that changes what the bootstrap makes: the sample data, the source
of every module of this project that the bootstrap imports (ingest, features, ml, db, ...), the
migrations, the pinned library versions, the Python version and this file. A change to any of
them is a new key, so a cached installation is never reused across it. Each entry holds the
database's rows (binary COPY, table by table, and the sequences), the feature store's keys and
the MLflow store with its artifacts; restoring rewrites the MLflow store's paths to the new
folder. Its fingerprint, taken from the build, lets a test check that a restore is the build.
A lock makes concurrent test processes build it once: the others wait, then restore.
"""

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import msgpack
import redis
import sqlalchemy as sa

from app.config import Settings
from app.db.session import get_engine
from app.stack.mlflow_store import move_artifact_root, sqlite_backup, sqlite_path

ROOT = Path(__file__).resolve().parent.parent
FORMAT = "2"  # bump when what an entry holds changes
KEEP_ENTRIES = 4  # entries kept; older keys' are deleted after a build
# The modules the bootstrap runs: listed by a child process that imports it and nothing else.
_IMPORTED_SOURCES = (
    "import sys, app.stack.bootstrap, app.tables\n"
    "print('\\n'.join(sorted(m.__file__ for m in list(sys.modules.values())\n"
    "      if getattr(m, '__file__', None) and m.__name__.split('.')[0] == 'app')))"
)


def cache_root() -> Path:
    configured = os.environ.get("BULLPEN_TEST_CACHE")
    if configured:
        return Path(configured)
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "bullpen" / "tests"


@cache
def _bootstrap_sources() -> tuple[Path, ...]:
    sources = subprocess.run(
        [sys.executable, "-c", _IMPORTED_SOURCES], cwd=ROOT, check=True,
        capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    return tuple(Path(source) for source in sources)


def _inputs(sample_dir: Path) -> Iterator[Path]:
    yield from _bootstrap_sources()
    yield from sorted((ROOT / "app" / "db" / "migrations").rglob("*.py"))
    yield from sorted(path for path in sample_dir.rglob("*") if path.is_file())
    yield from (ROOT / "constraints.txt", ROOT / "pyproject.toml", Path(__file__))


def cache_key(sample_dir: Path) -> str:
    """A hash of every input of the bootstrap (see the module's docstring)."""
    digest = hashlib.sha256(f"{FORMAT}\n{sys.version}\n".encode())
    for path in _inputs(sample_dir):
        digest.update(str(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path.name)
                      .encode())  # fmt: skip
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:24]


def _bootstrap(settings: Settings) -> None:
    from app.stack.bootstrap import bootstrap

    bootstrap(settings, say=lambda line: None)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def seed(settings: Settings, build: Callable[[Settings], None] = _bootstrap) -> str:
    """Bring ``settings``' empty installation to the seeded state: restored from the cache when
    an entry of the current key exists, otherwise built by ``build`` (``bullpen up``'s
    bootstrap) and saved. Returns how."""
    key = cache_key(settings.sample_dir)
    entry = cache_root() / key
    with _locked(cache_root() / f"{key}.lock"):
        if (entry / "complete").exists():
            restore(settings, entry)
            return f"restored from {entry}"
        build(settings)
        partial = entry.with_name(f"{key}.partial")
        shutil.rmtree(partial, ignore_errors=True)
        save(settings, partial)
        (partial / "fingerprint.json").write_text(json.dumps(fingerprint(settings), indent=1))
        (partial / "complete").write_text("ok\n")
        shutil.rmtree(entry, ignore_errors=True)
        partial.rename(entry)
    _prune(keep=KEEP_ENTRIES)
    return f"built and saved to {entry}"


def _prune(keep: int) -> None:
    """Drop all but the ``keep`` most recently built entries (another checkout's may be among
    them; a dropped one is only built again)."""
    entries = [path for path in cache_root().iterdir() if (path / "complete").exists()]
    for old in sorted(entries, key=lambda path: path.stat().st_mtime, reverse=True)[keep:]:
        with _locked(cache_root() / f"{old.name}.lock"):
            shutil.rmtree(old, ignore_errors=True)


def fingerprint(settings: Settings) -> dict:
    """What makes the installation what it is: each table's row count and a digest of its
    rows, a digest of the feature store, and each target's champion version with a digest of
    its booster as the registry loads it."""
    from app.markets import TARGETS
    from app.ml.registry import champion_versions, load_version

    tables = {}
    with get_engine(settings.database_url).connect() as connection:
        for table in _tables():
            tables[table] = list(
                connection.execute(
                    sa.text(
                        f"SELECT count(*), md5(coalesce(string_agg(md5(t::text), '' ORDER BY"
                        f" md5(t::text)), '')) FROM \"{table}\" t"
                    )
                ).one()
            )
    store = redis.Redis.from_url(settings.feature_store_url)
    digest = hashlib.sha256()
    for key in sorted(store.scan_iter(count=1000)):
        digest.update(key + b"\0" + (store.get(key) or b"") + b"\0")
    champions = {}
    for target, version in champion_versions(settings).items():
        booster = load_version(settings, target, version).booster if version else None
        champions[target] = [version, booster and _digest(booster.model_to_string())]
    assert set(champions) == set(TARGETS)
    return {"tables": tables, "feature_store": digest.hexdigest(), "champions": champions}


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _tables() -> list[str]:
    """Every table of the schema but Alembic's, parents before children."""
    from app.db.base import Base
    from app.tables import Game  # noqa: F401 - loads every model into the metadata

    return [table.name for table in Base.metadata.sorted_tables]


def save(settings: Settings, folder: Path) -> None:
    (folder / "tables").mkdir(parents=True)
    raw = get_engine(settings.database_url).raw_connection()
    try:
        with raw.cursor() as cursor:
            for table in _tables():
                with (
                    (folder / "tables" / f"{table}.bin").open("wb") as out,
                    cursor.copy(f'COPY "{table}" TO STDOUT (FORMAT binary)') as copy,
                ):
                    for block in copy:
                        out.write(block)
            cursor.execute(
                "SELECT schemaname || '.' || sequencename, last_value FROM pg_sequences"
                " WHERE last_value IS NOT NULL"
            )
            sequences = dict(cursor.fetchall())
    finally:
        raw.close()
    (folder / "sequences.json").write_text(json.dumps(sequences))

    store = redis.Redis.from_url(settings.feature_store_url)
    entries = {}
    for key in store.scan_iter(count=1000):
        kind = store.type(key)
        if kind != b"string":
            raise RuntimeError(f"the feature store holds a {kind!r} at {key!r}: not cached")
        entries[key] = [store.get(key), store.pttl(key)]
    (folder / "feature_store.msgpack").write_bytes(msgpack.packb(entries))

    sqlite_backup(_mlflow_file(settings), folder / "mlflow.db")
    shutil.copytree(settings.var_dir, folder / "var", symlinks=True,
                    ignore=shutil.ignore_patterns(_mlflow_file(settings).name + "*"))  # fmt: skip
    (folder / "var_dir.txt").write_text(str(settings.var_dir))
    (folder / "artifact_root.txt").write_text(settings.mlflow_artifact_root.as_uri())


def restore(settings: Settings, folder: Path) -> None:
    raw = get_engine(settings.database_url).raw_connection()
    try:
        with raw.cursor() as cursor:
            for table in _tables():
                with (
                    (folder / "tables" / f"{table}.bin").open("rb") as data,
                    cursor.copy(f'COPY "{table}" FROM STDIN (FORMAT binary)') as copy,
                ):
                    while block := data.read(1 << 20):
                        copy.write(block)
            for name, value in json.loads((folder / "sequences.json").read_text()).items():
                cursor.execute("SELECT setval(%s, %s)", (name, value))
        raw.commit()
    finally:
        raw.close()

    store = redis.Redis.from_url(settings.feature_store_url)
    pipe = store.pipeline(transaction=False)
    for key, (value, pttl) in msgpack.unpackb(
        (folder / "feature_store.msgpack").read_bytes()
    ).items():
        pipe.set(key, value, px=pttl if pttl > 0 else None)
    pipe.execute()

    shutil.copytree(folder / "var", settings.var_dir, symlinks=True, dirs_exist_ok=True)
    mlflow = _mlflow_file(settings)
    mlflow.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(folder / "mlflow.db", mlflow)
    old_root = (folder / "artifact_root.txt").read_text()
    move_artifact_root(mlflow, old_root, settings.mlflow_artifact_root.as_uri())


def _mlflow_file(settings: Settings) -> Path:
    path = sqlite_path(settings.mlflow_tracking_uri)
    if path is None:
        raise RuntimeError("the bootstrap cache handles an MLflow store in SQLite only")
    return path
