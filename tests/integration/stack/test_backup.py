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
from alembic import command

from app.bets.ledger import record_user_bet
from app.bets.settlement import settle_games
from app.config import Settings
from app.db.migrate import alembic_config
from app.db.session import dispose_engines, get_engine, session_scope
from app.jobs.models import Job
from app.markets import TARGETS
from app.ml import registry
from app.stack.backup import BackupError, backup, read_manifest, restore
from app.stack.embedded import EmbeddedStack
from tests.conftest import fresh_database
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
    _add_bets_and_jobs(clean_database)
    return replace(seeded, database_url=clean_database)


def _add_bets_and_jobs(database_url: str) -> None:
    with session_scope(database_url) as session:
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


# The release before strategies and the sharp close (bets without strategy, paper, close_note
# and the sharp-close columns).
OLDER_RELEASE = "5e2a9c41b7d3"


def test_a_backup_of_an_older_release_restores_into_this_one(
    seeded: Settings, service_urls: dict[str, str], tmp_path: Path
) -> None:
    server = service_urls["BULLPEN_DATABASE_URL"]
    with fresh_database(server) as older, fresh_database(server) as target_url:
        _add_bets_and_jobs(older)
        saved = _rows(older, BETS_KEPT)
        dispose_engines()
        command.downgrade(alembic_config(older), OLDER_RELEASE)
        dispose_engines()
        assert not {"strategy", "paper"} & {name for (name,) in _rows(older, BET_COLUMNS)}

        archive = backup(replace(seeded, database_url=older), tmp_path / "older.tar")
        assert read_manifest(archive.path).alembic_revision == OLDER_RELEASE

        with get_engine(target_url).begin() as connection:  # an empty installation
            connection.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        dispose_engines()
        target = replace(
            seeded,
            database_url=target_url,
            var_dir=tmp_path / "elsewhere",
            mlflow_tracking_uri=f"sqlite:///{tmp_path / 'elsewhere' / 'mlflow.db'}",
        )
        restored = restore(target, archive.path)

        assert restored.counts == read_manifest(archive.path).counts
        assert {"strategy", "paper"} <= {name for (name,) in _rows(target_url, BET_COLUMNS)}
        assert _rows(target_url, BETS_KEPT) == saved
        dispose_engines()


BET_COLUMNS = "SELECT column_name FROM information_schema.columns WHERE table_name = 'bets'"
BETS_KEPT = "SELECT bet_id, game_id, market, side, odds, stake, status FROM bets ORDER BY bet_id"
