"""One consistent archive of what a user cannot recompute, and its restore.

The archive (a tar file) holds:

- ``database.dump``: the PostgreSQL database, ``pg_dump`` custom format, taken in a snapshot
  exported by a REPEATABLE READ transaction that also counts the ledger and the jobs, so that
  the manifest's counts and checksum describe exactly the dump;
- ``mlflow/mlflow.db`` and ``mlflow/artifacts/``: the MLflow store (an SQLite online backup)
  and the artifact root, when the store is SQLite (the embedded default);
- ``manifest.json``: what was taken, the counts and the checksum of the bets a restore must
  find again, the champions, and ``settings``: the non-secret settings that change what the
  data means (model name prefix, staking, feature cut-off...).

The feature store is not in it: it is recomputed from the database (``bullpen up`` and
``bullpen init`` refresh every stored season). ``restore`` brings an archive back into an empty
installation (the embedded stack under ``var/``, or configured servers whose database is empty)
and checks the counts, the checksum and the champions against the manifest.
"""

import contextlib
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.config import Settings
from app.markets import TARGETS
from app.stack.mlflow_store import move_artifact_root, sqlite_backup, sqlite_path

FORMAT = 1
MANIFEST = "manifest.json"
DUMP = "database.dump"
MLFLOW_DB = "mlflow/mlflow.db"
MLFLOW_ARTIFACTS = "mlflow/artifacts"
ARCHIVE_GLOB = "bullpen-backup-*.tar"
# The settings a restore reports for the user to set again: what the stored data was made with.
# URLs, keys and secrets are left out (a restore may run against other servers).
KEPT_SETTINGS = (
    "BULLPEN_MODEL_PREFIX",
    "BULLPEN_FEATURE_CUTOFF_MINUTES",
    "BULLPEN_BANKROLL",
    "BULLPEN_KELLY_FRACTION",
    "BULLPEN_KELLY_CAP",
    "BULLPEN_DAILY_EXPOSURE",
    "BULLPEN_MIN_EV",
    "BULLPEN_MAX_ECE",
    "BULLPEN_SCHEDULE_API_URL",
    "BULLPEN_ODDS_API_URL",
)
# Tables whose rows a restore must find again; the bets also by checksum.
COUNTED_TABLES = ("bets", "jobs", "predictions", "games", "ingested_files")
_COUNTS_SQL = " UNION ALL ".join(
    f"SELECT '{table}', count(*) FROM {table}" for table in COUNTED_TABLES
)
# Every column of every bet, in bet_id order: a restore that changed one value shows.
_BETS_CHECKSUM_SQL = (
    "SELECT md5(coalesce(string_agg(b::text, E'\\n' ORDER BY b.bet_id), '')) FROM bets b"
)


class BackupError(RuntimeError):
    """A backup or restore that cannot be done; the message says why."""


@dataclass(frozen=True)
class Manifest:
    """What an archive holds and what a restore must find again."""

    format: int
    created_at: str
    alembic_revision: str | None
    server_version: str
    pg_dump_version: str
    counts: dict[str, int]
    bets_checksum: str
    mlflow: bool
    mlflow_artifact_root: str | None
    champions: dict[str, str | None]
    settings: dict[str, str]


@dataclass(frozen=True)
class BackupReport:
    path: Path
    size_bytes: int
    seconds: float
    manifest: Manifest


@dataclass(frozen=True)
class RestoreReport:
    seconds: float
    manifest: Manifest
    counts: dict[str, int]


def default_archive_path(settings: Settings, now: datetime | None = None) -> Path:
    """``BULLPEN_BACKUP_DIR/bullpen-backup-<UTC time>.tar``."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    return settings.backup_dir / f"bullpen-backup-{stamp}.tar"


def backup(settings: Settings, path: Path | None = None) -> BackupReport:
    """Write one archive of ``settings``'s database and MLflow store to ``path``."""
    started = time.monotonic()
    path = (path or default_archive_path(settings)).resolve()
    path.parent.mkdir(parents=True, exist_ok=True)
    url = _require(settings.database_url, "database")
    with tempfile.TemporaryDirectory(dir=path.parent, prefix=".bullpen-backup-") as scratch:
        work = Path(scratch)
        # The database first, then the MLflow store: every model version a job, prediction
        # or bet of the dump names was registered before the store's copy began, so it is in
        # the archive (a version registered meanwhile is extra, never missing). The store's
        # database before its artifacts: the artifacts of every version it lists are whole.
        dump = _dump_database(url, work / DUMP)
        mlflow_db = sqlite_path(settings.mlflow_tracking_uri)
        if mlflow_db is not None:
            (work / "mlflow").mkdir()
            sqlite_backup(mlflow_db, work / MLFLOW_DB)
            if settings.mlflow_artifact_root.is_dir():
                shutil.copytree(settings.mlflow_artifact_root, work / MLFLOW_ARTIFACTS)
        manifest = Manifest(
            format=FORMAT,
            created_at=datetime.now(UTC).isoformat(),
            alembic_revision=dump["revision"],
            server_version=dump["server_version"],
            pg_dump_version=dump["pg_dump_version"],
            counts=dump["counts"],
            bets_checksum=dump["bets_checksum"],
            mlflow=mlflow_db is not None,
            mlflow_artifact_root=(
                settings.mlflow_artifact_root.as_uri() if mlflow_db is not None else None
            ),
            champions=_champions(work / MLFLOW_DB, settings) if mlflow_db is not None else {},
            settings={
                key: value for key, value in settings.as_env().items() if key in KEPT_SETTINGS
            },
        )
        (work / MANIFEST).write_text(json.dumps(asdict(manifest), indent=2))
        partial = work / "archive.tar"
        with tarfile.open(partial, "w") as archive:
            archive.add(work / MANIFEST, MANIFEST)  # first: read without the rest
            archive.add(work / DUMP, DUMP)
            if mlflow_db is not None:
                archive.add(work / "mlflow", "mlflow")
        partial.replace(path)  # whole or not at all
    return BackupReport(path, path.stat().st_size, time.monotonic() - started, manifest)


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` archives in ``directory``; returns those deleted."""
    archives = sorted(directory.glob(ARCHIVE_GLOB))
    doomed = archives[: max(len(archives) - keep, 0)]
    for archive in doomed:
        archive.unlink(missing_ok=True)
    return doomed


def scheduled_backup(settings: Settings) -> dict[str, Any]:
    """The beat's daily backup: one archive in ``BULLPEN_BACKUP_DIR``, the newest
    ``BULLPEN_BACKUP_KEEP`` kept."""
    report = backup(settings)
    removed = prune(settings.backup_dir, settings.backup_keep)
    return {
        "path": str(report.path),
        "size_bytes": report.size_bytes,
        "seconds": round(report.seconds, 2),
        "counts": report.manifest.counts,
        "removed": [str(path) for path in removed],
    }


def read_manifest(path: Path) -> Manifest:
    """The manifest of an archive; a clear error for anything else."""
    try:
        with tarfile.open(path) as archive:
            member = archive.extractfile(MANIFEST)
            values = json.loads(member.read()) if member else None
    except (OSError, tarfile.TarError, KeyError, json.JSONDecodeError) as error:
        raise BackupError(f"{path} is not a Bullpen backup: {error}") from None
    if not values or values.get("format") != FORMAT:
        raise BackupError(f"{path} is not a Bullpen backup of format {FORMAT}")
    return Manifest(**values)


def restore(
    settings: Settings, path: Path, *, say: Callable[[str], None] = lambda _: None
) -> RestoreReport:
    """Bring the archive at ``path`` back into ``settings``'s (empty) database and MLflow store.

    ``settings`` must have its URLs resolved (the embedded stack started by the caller)."""
    started = time.monotonic()
    manifest = read_manifest(path)
    url = _require(settings.database_url, "database")
    mlflow_db = sqlite_path(settings.mlflow_tracking_uri)
    if manifest.mlflow:
        if mlflow_db is None:
            raise BackupError(
                "the backup holds an SQLite MLflow store but MLFLOW_TRACKING_URI is not SQLite;"
                " restore into the embedded stack, or see the README for an external MLflow"
            )
        if mlflow_db.exists() or _has_files(settings.mlflow_artifact_root):
            raise BackupError(
                f"the MLflow store {mlflow_db} (or {settings.mlflow_artifact_root}) is not"
                " empty: restore into an empty installation"
            )
    _require_empty_database(url)
    with tempfile.TemporaryDirectory(prefix="bullpen-restore-") as scratch:
        work = Path(scratch)
        with tarfile.open(path) as archive:
            _extract(archive, work)
        say(f"restoring the database ({(work / DUMP).stat().st_size / 1e6:.1f} MB dump)")
        _restore_database(url, work / DUMP, manifest)
        if manifest.mlflow and mlflow_db is not None:
            say("restoring the MLflow store and artifacts")
            mlflow_db.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(work / MLFLOW_DB, mlflow_db)
            if (work / MLFLOW_ARTIFACTS).is_dir():
                shutil.copytree(
                    work / MLFLOW_ARTIFACTS, settings.mlflow_artifact_root, dirs_exist_ok=True
                )
            settings.mlflow_artifact_root.mkdir(parents=True, exist_ok=True)
            move_artifact_root(
                mlflow_db, manifest.mlflow_artifact_root, settings.mlflow_artifact_root.as_uri()
            )
    counts, _ = _ledger_state(url)
    if counts != manifest.counts:  # after the migrations too: they add, they never drop
        raise BackupError(f"row counts differ: {counts} restored, {manifest.counts} saved")
    if manifest.mlflow and mlflow_db is not None:
        prefix = manifest.settings.get("BULLPEN_MODEL_PREFIX")
        champions = _champions(mlflow_db, settings, prefix=prefix)
        if champions != manifest.champions:
            raise BackupError(f"champions differ: {champions} restored, {manifest.champions} saved")
    return RestoreReport(time.monotonic() - started, manifest, counts)


# --- the database ---------------------------------------------------------------------------


def _extract(archive: tarfile.TarFile, target: Path) -> None:
    """Unpack an archive's regular files and folders under ``target`` and nothing else: the
    standard "data" filter where this Python has it (3.11.4 and later), the same refusals by
    hand before (links, devices, absolute paths, paths leaving ``target``)."""
    if hasattr(tarfile, "data_filter"):
        archive.extractall(target, filter="data")
        return
    root = target.resolve()
    for member in archive.getmembers():
        destination = (root / member.name).resolve()
        if not (member.isfile() or member.isdir()) or not destination.is_relative_to(root):
            raise BackupError(f"{member.name}: not a file of a Bullpen backup")
    archive.extractall(target)


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string for a SQLAlchemy URL, the password in the environment."""
    parsed = make_url(url)
    env = {"PGPASSWORD": parsed.password} if parsed.password else {}
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _server_major(connection: sa.Connection) -> int:
    return int(connection.execute(sa.text("SHOW server_version_num")).scalar_one()) // 10000


def _tool(name: str, at_least: int, prefer: int) -> tuple[str, str]:
    """The ``pg_dump``/``pg_restore`` to use and its version, among the embedded PostgreSQL's
    own binaries (the ``pgserver`` wheel ships them) and the machine's: of major version
    ``prefer`` if there is one, else the oldest of at least ``at_least`` (an older one refuses
    a newer server or archive).

    ``prefer`` is the server's own major: a server may keep things in its catalogs that only
    its own release's pg_dump knows to leave out. Found on this machine's PostgreSQL 15.20
    (Debian): every column carries an attribute option ``pg_attver``; pg_dump 15 leaves it
    out, pg_dump 16 dumps it as ``ALTER COLUMN ... SET (pg_attver=...)``, which PostgreSQL 16
    refuses on restore ("unrecognized parameter").
    """
    candidates = []
    with contextlib.suppress(ImportError):
        from pgserver._commands import POSTGRES_BIN_PATH

        candidates.append(str(POSTGRES_BIN_PATH / name))
    if found := shutil.which(name):
        candidates.append(found)
    seen, usable = [], []
    for candidate in candidates:
        try:
            version = subprocess.run(
                [candidate, "--version"], capture_output=True, text=True, check=True
            ).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            continue
        seen.append(version)
        major = _major(version)
        if major is not None and major >= at_least:
            usable.append((major != prefer, major, candidate, version))
    if not usable:
        raise BackupError(
            f"no {name} of PostgreSQL {at_least} or newer (found: {', '.join(seen) or 'none'})"
        )
    _, _, tool, version = min(usable)
    return tool, version


def _major(version: str) -> int | None:
    """The major release of a ``pg_dump --version`` line: ``pg_dump (PostgreSQL) 15.20 (Debian
    15.20-0+deb12u1)`` is 15."""
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", version)
    return int(match.group(1)) if match else None


def _dump_database(url: str, target: Path) -> dict[str, Any]:
    """pg_dump the database in a snapshot shared with the counts that describe it."""
    from app.db.session import get_engine

    engine = get_engine(url)
    with engine.connect() as connection:
        connection = connection.execution_options(isolation_level="REPEATABLE READ")
        with connection.begin():
            snapshot = connection.execute(sa.text("SELECT pg_export_snapshot()")).scalar_one()
            server_version = connection.execute(sa.text("SHOW server_version")).scalar_one()
            major = _server_major(connection)
            tool, tool_version = _tool("pg_dump", major, prefer=major)
            counts, checksum = _ledger_counts(connection)
            revision = connection.execute(
                sa.text("SELECT version_num FROM alembic_version")
            ).scalar()
            conninfo, env = _libpq(url)
            _run(
                [tool, "--format=custom", f"--snapshot={snapshot}", "--no-owner",
                 f"--file={target}", f"--dbname={conninfo}"],
                env,
            )  # fmt: skip
    return {
        "counts": counts,
        "bets_checksum": checksum,
        "revision": revision,
        "server_version": server_version,
        "pg_dump_version": tool_version,
    }


def _ledger_counts(connection: sa.Connection) -> tuple[dict[str, int], str]:
    counts = {table: int(n) for table, n in connection.execute(sa.text(_COUNTS_SQL))}
    return counts, connection.execute(sa.text(_BETS_CHECKSUM_SQL)).scalar_one()


def _ledger_state(url: str) -> tuple[dict[str, int], str]:
    from app.db.session import get_engine

    with get_engine(url).connect() as connection:
        return _ledger_counts(connection)


def _require_empty_database(url: str) -> None:
    from app.db.session import get_engine

    with get_engine(url).connect() as connection:
        tables = connection.execute(
            sa.text("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")
        ).scalar_one()
    if tables:
        raise BackupError(
            f"the database {make_url(url).database} already has {tables} tables:"
            " restore into an empty installation (a new var/, or an empty database)"
        )


def _restore_database(url: str, dump: Path, manifest: Manifest) -> None:
    from app.db.migrate import upgrade
    from app.db.session import get_engine

    with get_engine(url).connect() as connection:
        server = _server_major(connection)
    # The archive's pg_dump or newer reads it; the target server's own release writes it best.
    tool, _ = _tool("pg_restore", _major(manifest.pg_dump_version) or 0, prefer=server)
    conninfo, env = _libpq(url)
    _run(
        [tool, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error",
         f"--dbname={conninfo}", str(dump)],
        env,
    )  # fmt: skip
    get_engine(url).dispose()  # sessions opened before see the restored tables
    # Checked as saved, before the migrations: a column a newer release adds changes every
    # bet's text, so an older release's checksum holds only for its own schema.
    _check(manifest, *_ledger_state(url))
    get_engine(url).dispose()
    upgrade(url)  # a backup of an older release comes up to this release's schema


def _run(argv: list[str], env: dict[str, str]) -> None:
    result = subprocess.run(argv, env={**os.environ, **env}, capture_output=True, text=True)
    if result.returncode != 0:
        message = (result.stderr or result.stdout).strip().splitlines()
        reason = message[-1] if message else f"exit status {result.returncode}"
        raise BackupError(f"{Path(argv[0]).name} failed: {reason}")


def _check(manifest: Manifest, counts: dict[str, int], checksum: str) -> None:
    if counts != manifest.counts:
        raise BackupError(f"row counts differ: {counts} restored, {manifest.counts} saved")
    if checksum != manifest.bets_checksum:
        raise BackupError("the bets restored differ from the bets saved (checksum)")


# --- MLflow ---------------------------------------------------------------------------------


def _champions(
    database: Path, settings: Settings, prefix: str | None = None
) -> dict[str, str | None]:
    """{registered model name: champion version} read straight from an MLflow SQLite store."""
    from app.ml.registry import CHAMPION

    names = [f"{prefix or settings.model_name_prefix}-{target}" for target in TARGETS]
    with contextlib.closing(sqlite3.connect(database)) as connection:
        try:
            found = dict(
                connection.execute(
                    "SELECT name, version FROM registered_model_aliases WHERE alias = ?",
                    (CHAMPION,),
                ).fetchall()
            )
        except sqlite3.OperationalError:  # a store that never registered a model
            found = {}
    return {name: (str(found[name]) if name in found else None) for name in names}


# --- helpers --------------------------------------------------------------------------------


def _require(value: str | None, what: str) -> str:
    if not value:
        raise BackupError(f"no {what} configured")
    return value


def _has_files(directory: Path) -> bool:
    return directory.is_dir() and any(directory.iterdir())
