"""The ``bullpen`` command line."""

import contextlib
import logging
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path

import click

from app.config import TARGETS, Settings


class UserError(click.ClickException):
    """A mistake of the caller's: one clear line, exit status 1, no traceback."""


@contextlib.contextmanager
def resolved_settings() -> Iterator[Settings]:
    """The settings with every unset URL filled by the embedded stack (started if need be)."""
    settings = Settings.from_env()
    if settings.is_complete:
        yield settings
        return
    from app.db.migrate import upgrade
    from app.stack.embedded import EmbeddedStack

    stack = EmbeddedStack(settings.var_dir, settings.embedded_redis_port)
    try:
        settings = settings.with_urls(stack.start())
        upgrade(settings.database_url)
        yield settings
    finally:
        stack.stop()


def _exec(argv: list[str], settings: Settings) -> None:
    """Replace this process with ``argv``, handing it the resolved settings."""
    os.environ.update(settings.as_env())
    os.execvp(argv[0], argv)


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
def main(verbose: bool) -> None:
    """Bullpen: MLB betting predictions measured against the market."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    warnings.filterwarnings("ignore", category=UserWarning)


# --- the whole system -------------------------------------------------------------------------


@main.command()
@click.option("--api-port", default=8000, show_default=True, envvar="BULLPEN_API_PORT")
@click.option("--flower-port", default=5555, show_default=True, envvar="BULLPEN_FLOWER_PORT")
@click.option("--mlflow-port", default=5001, show_default=True, envvar="BULLPEN_MLFLOW_PORT")
@click.option("--no-bootstrap", is_flag=True, help="Skip ingesting the sample and training.")
def up(api_port: int, flower_port: int, mlflow_port: int, no_bootstrap: bool) -> None:
    """API, workers, beat, Flower and the MLflow UI in one process tree; Ctrl-C stops all."""
    from app.db.migrate import upgrade
    from app.stack.bootstrap import bootstrap
    from app.stack.embedded import EmbeddedStack
    from app.stack.supervisor import Ports, Supervisor, component_commands, interrupt_on_sigterm

    interrupt_on_sigterm()
    settings = Settings.from_env()
    stack = (
        None
        if settings.is_complete
        else EmbeddedStack(settings.var_dir, settings.embedded_redis_port)
    )
    supervisor = None
    try:
        if stack is not None:
            click.echo(f"starting the embedded PostgreSQL and Redis under {settings.var_dir}")
            settings = settings.with_urls(stack.start())
        upgrade(settings.database_url)
        ports = Ports(api=api_port, flower=flower_port, mlflow=mlflow_port)
        supervisor = Supervisor(
            component_commands(settings, ports), {**os.environ, **settings.as_env()}
        )
        supervisor.start()
        if not no_bootstrap:
            bootstrap(settings, click.echo)
        click.echo(
            f"Bullpen is up: API http://127.0.0.1:{api_port}/api/v1/docs · "
            f"Flower http://127.0.0.1:{flower_port} · MLflow http://127.0.0.1:{mlflow_port} "
            "· Ctrl-C stops everything"
        )
        supervisor.watch()
    except KeyboardInterrupt:
        click.echo("stopping")
    finally:
        if supervisor is not None:
            supervisor.stop()
        if stack is not None:
            stack.stop()
        click.echo("stopped")


@main.command()
def init() -> None:
    """Migrate the database; on an empty one, ingest the sample and train the champions."""
    from app.db.migrate import upgrade
    from app.stack.bootstrap import bootstrap

    with resolved_settings() as settings:
        upgrade(settings.database_url)
        bootstrap(settings, click.echo)


# --- one component each (what docker-compose runs) ----------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, envvar="BULLPEN_API_PORT")
@click.option("--workers", default=2, show_default=True)
def api(host: str, port: int, workers: int) -> None:
    """The REST API under gunicorn."""
    with resolved_settings() as settings:
        _exec(
            [
                sys.executable, "-m", "gunicorn", "app:create_app()",
                "--bind", f"{host}:{port}", "--workers", str(workers),
                "--worker-class", "gthread", "--threads", "8",
                # Long polls hold a thread up to 30 s.
                "--timeout", "60", "--graceful-timeout", "10",
            ],
            settings,
        )  # fmt: skip


@main.command()
@click.option("--queues", default="predict,features,ingest,training,maintenance", show_default=True)
@click.option("--concurrency", default=2, show_default=True)
def worker(queues: str, concurrency: int) -> None:
    """A Celery worker for the given queues."""
    name = queues.split(",")[0]
    with resolved_settings() as settings:
        _exec(
            [
                sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
                "--queues", queues, "--concurrency", str(concurrency),
                "--hostname", f"{name}@%h", "--loglevel", "INFO", "--without-gossip",
            ],
            settings,
        )  # fmt: skip


@main.command()
def beat() -> None:
    """Celery beat (run exactly one)."""
    with resolved_settings() as settings:
        schedule = settings.var_dir / "celerybeat-schedule"
        schedule.parent.mkdir(parents=True, exist_ok=True)
        _exec(
            [
                sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat",
                "--schedule", str(schedule), "--loglevel", "INFO",
            ],
            settings,
        )  # fmt: skip


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5555, show_default=True, envvar="BULLPEN_FLOWER_PORT")
def flower(host: str, port: int) -> None:
    """Flower, the Celery monitor."""
    with resolved_settings() as settings:
        _exec(
            [
                sys.executable, "-m", "celery", "-A", "workers.celery_app", "flower",
                f"--address={host}", f"--port={port}",
            ],
            settings,
        )  # fmt: skip


# --- data -----------------------------------------------------------------------------------------


@main.group()
def ingest() -> None:
    """RAW -> STAGING -> CURATED for a data source; idempotent."""


def _ingest(source: str, paths: tuple[Path, ...]) -> None:
    from app.db.session import session_scope
    from app.ingest.jobs import INGESTERS

    run = INGESTERS[source]
    with resolved_settings() as settings, session_scope(settings.database_url) as session:
        for report in run(session, list(paths)):
            click.echo(report.summary())


_paths = click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)


@ingest.command("sbro")
@_paths
def ingest_sbro_command(paths: tuple[Path, ...]) -> None:
    """SBRO odds workbooks (mlb-odds-YYYY.xlsx)."""
    _ingest("sbro", paths)


@ingest.command("retrosheet")
@_paths
def ingest_retrosheet_command(paths: tuple[Path, ...]) -> None:
    """Retrosheet game logs (GLYYYY.TXT or .TXT.gz)."""
    _ingest("retrosheet", paths)


@main.group()
def features() -> None:
    """The feature store."""


@features.command("refresh")
@click.option("--season", type=int)
@click.option("--date", "on_date", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--game-id", type=int)
def features_refresh(season: int | None, on_date, game_id: int | None) -> None:
    """Recompute and store the features of a season, a date or one game."""
    from app.db.session import session_scope
    from app.features.pipeline import refresh_features
    from app.ml.predict import open_feature_store

    if season is None and on_date is None and game_id is None:
        raise UserError("give --season, --date or --game-id")
    with resolved_settings() as settings, session_scope(settings.database_url) as session:
        count = refresh_features(
            session,
            open_feature_store(settings),
            season=season,
            date=on_date.date() if on_date else None,
            game_ids=[game_id] if game_id is not None else None,
        )
    if count == 0:
        raise UserError("no stored game matches")
    click.echo(f"refreshed the features of {count} games")


# --- models ---------------------------------------------------------------------------------------


@main.group()
def ml() -> None:
    """Models: train, predict, health."""


@ml.command("train")
@click.argument("target", type=click.Choice(TARGETS))
@click.option("--seasons", help="e.g. 2010-2018 (default: every stored season)")
def ml_train(target: str, seasons: str | None) -> None:
    """Train TARGET's model; it becomes champion when it beats the current one."""
    from app.db.session import session_scope
    from app.ml.jobs import parse_seasons, stored_seasons
    from app.ml.train import NotEnoughData, train_target

    try:
        chosen = parse_seasons(seasons) if seasons else None
    except ValueError as error:
        raise UserError(str(error)) from None
    with resolved_settings() as settings, session_scope(settings.database_url) as session:
        chosen = chosen or stored_seasons(session)
        click.echo(f"training {target} on seasons {chosen[0]}-{chosen[-1]}")
        try:
            outcome = train_target(session, settings, target, chosen)
        except NotEnoughData as error:
            raise UserError(str(error)) from None
    for name, value in sorted(outcome.metrics.items()):
        click.echo(f"  {name:32s} {value:.5f}")
    click.echo(f"{outcome.model_name} v{outcome.version}: {outcome.decision}")


@ml.command("predict")
@click.option("--game-id", type=int, required=True)
def ml_predict(game_id: int) -> None:
    """Predict one stored game with the champions, here and now (no job)."""
    import json

    import numpy as np

    from app.db.session import session_scope
    from app.features.pipeline import load_games_frame, refresh_features
    from app.ml.predict import _champions, open_feature_store, score
    from app.ml.registry import ChampionCache

    with resolved_settings() as settings, session_scope(settings.database_url) as session:
        games = load_games_frame(session, game_ids=[game_id])
        if games.empty:
            raise UserError(f"no game {game_id}")
        store = open_feature_store(settings)
        if store.get(game_id) is None:
            refresh_features(session, store, game_ids=[game_id])
        values = np.asarray([store.get(game_id).values])
        models = _champions(ChampionCache(settings), TARGETS)
        payload = score(games, values, models, 1000.0, [game_id])[0]
    click.echo(json.dumps(payload, indent=2))


@ml.command("health")
def ml_health() -> None:
    """The champion of every target."""
    from app.ml.registry import champion_versions

    with resolved_settings() as settings:
        versions = champion_versions(settings)
    for target, version in versions.items():
        click.echo(f"{target:12s} {'v' + version if version else 'no champion'}")
    if not all(versions.values()):
        raise UserError("a target has no champion: run `bullpen ml train TARGET`")


@ml.command("test-connection")
def ml_test_connection() -> None:
    """Check the database, Redis and MLflow answer."""
    import redis
    from sqlalchemy import text

    from app.db.session import get_engine
    from app.ml.registry import client

    with resolved_settings() as settings:
        with get_engine(settings.database_url).connect() as conn:
            conn.execute(text("SELECT 1"))
        click.echo("database      ok")
        for name, url in (
            ("broker", settings.broker_url),
            ("feature store", settings.feature_store_url),
        ):
            redis.Redis.from_url(url, socket_timeout=2).ping()
            click.echo(f"{name:13s} ok")
        client(settings).search_experiments(max_results=1)
        click.echo("mlflow        ok")


if __name__ == "__main__":
    main()
