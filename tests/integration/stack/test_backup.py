"""`bullpen backup` / `bullpen restore`: a stack with bets, jobs and models, backed up, restored
into a new ``var/`` of its own (another embedded PostgreSQL, another MLflow folder), is the
same: bet by bet, job by job, the same champions, and the models load from the new folder."""

import contextlib
import sqlite3
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.bets.ledger import record_user_bet
from app.bets.settlement import settle_games
from app.config import Settings
from app.db.session import get_engine, session_scope
from app.jobs.models import Job
from app.markets import TARGETS
from app.ml import registry
from app.stack.backup import BackupError, backup, read_manifest, restore
from app.stack.embedded import EmbeddedStack
from tests.integration.bets.conftest import add_game, serve

# The backup is restored into an embedded PostgreSQL 16, from the embedded one (make test) or
# from this machine's 15.20 (the services pass): app.stack.backup._tool says why each pass
# dumps with its server's own pg_dump.
pytestmark = pytest.mark.integration


def _rows(url: str, sql: str) -> list[tuple]:
    with get_engine(url).connect() as connection:
        return [tuple(row) for row in connection.execute(sa.text(sql))]


def _ledger(url: str) -> list[tuple]:
    return _rows(url, "SELECT * FROM bets ORDER BY bet_id")


def _jobs(url: str) -> list[tuple]:
    return _rows(url, "SELECT id, kind, status, params, result FROM jobs ORDER BY id")


@pytest.fixture
def installation(seeded: Settings, clean_database: str) -> Settings:
    """The seeded MLflow store (three champions) beside a database with bets and jobs."""
    with session_scope(clean_database) as session:
        final = add_game(session, "20190701-NYA-BOS-0", 5, 3, length_outs=54)
        upcoming = add_game(
            session, "20990701-NYA-BOS-0", None, None, game_date=date(2099, 7, 1), season=2099
        )
        for game_id, stake in ((final.id, 10.0), (upcoming.id, 12.5)):
            serve(session, game_id, stake)
            record_user_bet(
                session,
                {"game_id": game_id, "market": "home_ml", "side": "away", "odds": 135,
                 "stake": stake / 3, "book": "user"},
            )  # fmt: skip
        session.add(Job(kind="train", status="failed", error="a reason", params={"t": 1}))
        settle_games(session, [final.id])
    return replace(seeded, database_url=clean_database)


def test_a_backup_restored_into_a_new_var_is_the_same_bet_by_bet(
    installation: Settings, tmp_path: Path
) -> None:
    source = installation
    report = backup(source, tmp_path / "archive.tar")
    manifest = read_manifest(report.path)
    assert manifest.counts["bets"] == 4 and manifest.counts["jobs"] == 3
    assert all(manifest.champions.values()) and len(manifest.champions) == len(TARGETS)
    assert manifest.settings["BULLPEN_MODEL_PREFIX"] == source.model_name_prefix
    statuses = {row[0] for row in _rows(source.database_url, "SELECT status FROM bets")}
    assert {"open"} < statuses  # graded and open bets both travel

    var_dir = tmp_path / "elsewhere" / "var"
    stack = EmbeddedStack(var_dir)
    urls = stack.start(need_redis=False)
    try:
        target = replace(
            source,
            var_dir=var_dir,
            database_url=urls["BULLPEN_DATABASE_URL"],
            mlflow_tracking_uri=urls["MLFLOW_TRACKING_URI"],
        )
        restored = restore(target, report.path)
        assert restored.counts == manifest.counts

        assert _ledger(target.database_url) == _ledger(source.database_url)
        assert _jobs(target.database_url) == _jobs(source.database_url)
        assert registry.champion_versions(target) == registry.champion_versions(source)
        # The models load from the new folder: no path of the old one is left in the store.
        with contextlib.closing(sqlite3.connect(var_dir / "mlflow.db")) as store:
            locations = [
                *store.execute(
                    "SELECT artifact_location FROM experiments WHERE name = ?",
                    (registry.EXPERIMENT_NAME,),
                ),
                *store.execute("SELECT artifact_uri FROM runs"),
                *store.execute("SELECT storage_location FROM model_versions"),
            ]
        assert locations
        new_root = target.mlflow_artifact_root.as_uri()
        assert all(location.startswith(new_root) for (location,) in locations if location)
        champion = registry.champion_versions(target)["moneyline"]
        assert registry.load_version(target, "moneyline", champion).booster is not None

        # A second restore into the now full installation is refused, nothing touched.
        with pytest.raises(BackupError, match=r"not empty|already has"):
            restore(target, report.path)
        assert _ledger(target.database_url) == _ledger(source.database_url)
    finally:
        get_engine(urls["BULLPEN_DATABASE_URL"]).dispose()
        stack.stop()
