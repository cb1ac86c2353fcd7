"""The ``bullpen`` command line: the system and its components (data and models: submodules)."""

import logging
import os
import signal
import sys
import threading
import warnings
from functools import partial
from pathlib import Path

import click

from app.cli.common import UserError, checked, exec_component, resolved_settings
from app.cli.data import features, ingest
from app.cli.feeds import feed
from app.cli.models import ml
from app.cli.replay import replay
from app.config import Settings
from app.queues import QUEUE_NAMES


@click.group()
@click.option("-v", "--verbose", is_flag=True, help="Log at INFO level.")
def main(verbose: bool) -> None:
    """Bullpen: MLB betting predictions measured against the market."""
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    warnings.filterwarnings("ignore", category=UserWarning)
    exit_on_sigterm()


def exit_on_sigterm() -> None:
    """Make ``kill`` (SIGTERM) end a command as an error does: transactions roll back, the
    embedded stack is released (``finally`` and ``atexit`` run), exit status 143.

    Without it the process dies at once and leaves its pid among the embedded PostgreSQL's
    holders. ``bullpen up`` sets its own handler; a component exec'd by a command gets the
    default again."""

    def handler(signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second kill ends it at once
        raise SystemExit(128 + signum)

    if threading.current_thread() is threading.main_thread():  # only there can it be set
        signal.signal(signal.SIGTERM, handler)


# --- the whole system -------------------------------------------------------------------------

# How long `bullpen up` waits, after its first start's bootstrap, for /health/ready's 200.
READY_SECONDS = 300


@main.command()
@click.option("--api-port", default=8000, show_default=True, envvar="BULLPEN_API_PORT")
@click.option("--flower-port", default=5555, show_default=True, envvar="BULLPEN_FLOWER_PORT")
@click.option("--mlflow-port", default=5001, show_default=True, envvar="BULLPEN_MLFLOW_PORT")
@click.option("--no-bootstrap", is_flag=True, help="Skip ingesting the sample and training.")
def up(api_port: int, flower_port: int, mlflow_port: int, no_bootstrap: bool) -> None:
    """API, workers, beat, Flower and the MLflow UI under supervisord; Ctrl-C stops all.

    A component that dies is restarted; one that keeps dying at start is given up.
    """
    from app.db.migrate import upgrade
    from app.ml.registry import client as mlflow_client
    from app.stack.bootstrap import bootstrap
    from app.stack.embedded import EmbeddedStack
    from app.stack.probes import ready, wait_until_ready
    from app.stack.supervisor import (
        Ports,
        Supervisor,
        SupervisorError,
        component_commands,
        interrupt_on_sigterm,
    )

    interrupt_on_sigterm()
    settings = checked(Settings.from_env())
    stack = (
        None
        if settings.is_complete
        else EmbeddedStack(settings.var_dir, settings.embedded_redis_port)
    )
    supervisor = None
    code = 0
    try:
        if stack is not None:
            click.echo(f"starting the embedded PostgreSQL and Redis under {settings.var_dir}")
            settings = settings.with_urls(stack.start())
        upgrade(settings.database_url)
        # Create the MLflow store before its server and the bootstrap race to create it.
        mlflow_client(settings)
        ports = Ports(api=api_port, flower=flower_port, mlflow=mlflow_port)
        # MLflow's server would otherwise start a job runner with dozens of worker processes.
        env = {**os.environ, **settings.as_env(), "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        supervisor = Supervisor(component_commands(settings, ports), env, settings.var_dir)
        supervisor.start()
        if not no_bootstrap:
            bootstrap(settings, click.echo)
        # "Up" means what the contract says: predictions work, /health/ready answers 200.
        is_ready = wait_until_ready(
            partial(ready, f"http://127.0.0.1:{api_port}/health/ready"),
            supervisor.running, READY_SECONDS, click.echo,
        )  # fmt: skip
        if supervisor.running() and not is_ready:
            click.echo(
                f"Error: not ready after {READY_SECONDS} s; the stack keeps running, its logs "
                f"are in {settings.var_dir / 'logs'}", err=True,
            )  # fmt: skip
        click.echo(
            f"Bullpen is up: API http://127.0.0.1:{api_port}/api/v1/docs · "
            f"Flower http://127.0.0.1:{flower_port} · MLflow http://127.0.0.1:{mlflow_port} "
            f"· logs in {settings.var_dir / 'logs'} · state: supervisorctl -c "
            f"{supervisor.config_path} status · Ctrl-C stops everything"
        )
        code = supervisor.watch()
    except KeyboardInterrupt:
        click.echo("stopping")
    except SupervisorError as error:
        click.echo(f"Error: {error}", err=True)
        code = 1
    finally:
        if supervisor is not None:
            supervisor.stop()
        if stack is not None:
            stack.stop()
        click.echo("stopped")
    if code:
        sys.exit(1)


@main.command()
def init() -> None:
    """Migrate the database; on an empty one, ingest the sample and train the champions."""
    from app.db.migrate import upgrade
    from app.stack.bootstrap import bootstrap

    with resolved_settings() as settings:
        upgrade(settings.database_url)
        bootstrap(settings, click.echo)


@main.command("backup")
@click.argument("path", required=False, type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path | None) -> None:
    """Write one archive of the database, the MLflow store and the settings to PATH.

    Default: BULLPEN_BACKUP_DIR/bullpen-backup-<UTC time>.tar. The feature store is not in it
    (it is recomputed from the database)."""
    from app.stack.backup import BackupError, backup

    with resolved_settings() as settings:
        try:
            report = backup(settings, path)
        except BackupError as error:
            raise UserError(str(error)) from None
    counts = ", ".join(f"{n} {table}" for table, n in report.manifest.counts.items())
    click.echo(
        f"backup written to {report.path}: {report.size_bytes / 1e6:.1f} MB in"
        f" {report.seconds:.1f} s ({counts}; MLflow store"
        f" {'included' if report.manifest.mlflow else 'NOT included: not SQLite'})"
    )


@main.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def restore_command(path: Path) -> None:
    """Bring a backup back into an empty installation (a new var/, or empty servers)."""
    from dataclasses import replace

    from app.stack.backup import BackupError, read_manifest, restore
    from app.stack.embedded import EmbeddedStack

    settings = Settings.from_env()
    stack = None
    try:
        manifest = read_manifest(path)
        if settings.database_url is None or settings.mlflow_tracking_uri is None:
            stack = EmbeddedStack(settings.var_dir, settings.embedded_redis_port)
            urls = stack.start(need_redis=False, need_postgres=settings.database_url is None)
            settings = replace(
                settings,
                database_url=settings.database_url or urls["BULLPEN_DATABASE_URL"],
                mlflow_tracking_uri=settings.mlflow_tracking_uri or urls["MLFLOW_TRACKING_URI"],
            )
        click.echo(f"restoring the backup of {manifest.created_at} into {settings.var_dir}")
        report = restore(settings, path, say=click.echo)
    except BackupError as error:
        raise UserError(str(error)) from None
    finally:
        if stack is not None:
            stack.stop()
    counts = ", ".join(f"{n} {table}" for table, n in report.counts.items())
    click.echo(f"restored in {report.seconds:.1f} s: {counts}; bets checksum and champions match")
    differing = {
        key: value
        for key, value in report.manifest.settings.items()
        if settings.as_env().get(key) != value
    }
    if differing:
        click.echo("the backup was made with these settings (set them again):")
        for key, value in sorted(differing.items()):
            click.echo(f"  {key}={value}")
    click.echo("`bullpen up` (or `bullpen init`) recomputes the feature store")


# --- one component each (what docker-compose runs) ----------------------------------------------


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, envvar="BULLPEN_API_PORT")
@click.option("--workers", default=2, show_default=True, help="Processes (one per core).")
@click.option(
    "--worker-class",
    type=click.Choice(["gevent", "gthread"]),
    default="gevent",
    show_default=True,
    help="gevent: a long poll is a greenlet, not a thread.",
)
@click.option(
    "--connections", default=1000, show_default=True, help="Concurrent requests per process."
)
def api(host: str, port: int, workers: int, worker_class: str, connections: int) -> None:
    """The REST API under gunicorn."""
    concurrency = (
        ["--worker-connections", str(connections)]
        if worker_class == "gevent"
        else ["--threads", "8"]
    )
    with resolved_settings() as settings:
        exec_component(
            [
                sys.executable, "-m", "gunicorn", "workers.api:create_api()",
                "--config", "python:app.stack.gunicorn_conf",
                "--bind", f"{host}:{port}", "--workers", str(workers),
                "--worker-class", worker_class, *concurrency,
                # A long poll lasts up to 30 s.
                "--timeout", "60", "--graceful-timeout", "10",
            ],
            settings,
        )  # fmt: skip


@main.command()
@click.option("--queues", default=",".join(QUEUE_NAMES), show_default=True)
@click.option("--concurrency", default=2, show_default=True)
def worker(queues: str, concurrency: int) -> None:
    """A Celery worker for the given queues."""
    name = queues.split(",")[0]
    with resolved_settings() as settings:
        exec_component(
            [
                sys.executable, "-m", "celery", "-A", "workers.celery_app", "worker",
                "--queues", queues, "--concurrency", str(concurrency),
                "--hostname", f"{name}@%h", "--loglevel", "INFO", "--without-gossip",
            ],
            settings,
        )  # fmt: skip


@main.command()
def beat() -> None:
    """Celery beat. A second one started by mistake waits on RedBeat's Redis lock.

    It first waits for the broker as long as it is down: RedBeat takes its lock at start, and
    a beat that exits at once on a refused connection is given up by supervisord after a few
    quick restarts (a broker outage of ~20 s once left the stack without its reaper).
    """
    from app.stack.probes import wait_for_broker

    with resolved_settings() as settings:
        wait_for_broker(settings.broker_url)
        exec_component(
            [
                sys.executable, "-m", "celery", "-A", "workers.celery_app", "beat",
                "--scheduler", "redbeat.RedBeatScheduler", "--loglevel", "INFO",
            ],
            settings,
        )  # fmt: skip


FLOWER_MAX_TASKS = 1000


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5555, show_default=True, envvar="BULLPEN_FLOWER_PORT")
def flower(host: str, port: int) -> None:
    """Flower, the Celery monitor; with API keys, it asks for an admin key (user ``bullpen``)."""
    from app.stack.auth import flower_basic_auth

    with resolved_settings() as settings:
        credentials = flower_basic_auth(settings)
        if credentials:  # through the environment: a command line is visible to every user
            os.environ["FLOWER_BASIC_AUTH"] = credentials
        exec_component(
            [
                sys.executable, "-m", "celery", "-A", "workers.celery_app", "flower",
                f"--address={host}", f"--port={port}",
                # Flower keeps every task it saw in memory up to max_tasks (100,000 by default:
                # hours of a steady load, its memory growing all along; the soak measured it).
                # A job's history is in PostgreSQL; Flower shows the recent tasks.
                f"--max_tasks={FLOWER_MAX_TASKS}",
            ],
            settings,
        )  # fmt: skip


# Where each HTTP component answers "I am alive" (on this host, at its default port).
PROBE_PATHS = {
    "api": ("/health/live", 8000),
    "flower": ("/healthcheck", 5555),
    "mlflow": ("/health", 5001),
}


@main.command()
@click.argument("component", type=click.Choice(["api", "worker", "beat", "flower", "mlflow"]))
@click.option("--port", type=int, help="The HTTP component's port, if not its default.")
def probe(component: str, port: int | None) -> None:
    """Exit 0 when this host's COMPONENT is serving, 1 when not (a container health check).

    Reads the settings from the environment, the embedded stack's broker when none is set
    (as under ``bullpen up``); it never starts anything.
    """
    from app.stack import probes
    from app.stack.embedded import EmbeddedStack

    settings = Settings.from_env()
    broker_url = (
        settings.broker_url
        or EmbeddedStack(settings.var_dir, settings.embedded_redis_port).broker_url
    )
    if component in PROBE_PATHS:
        path, default_port = PROBE_PATHS[component]
        serving = probes.http_answers(f"http://127.0.0.1:{port or default_port}{path}")
    elif component == "worker":
        serving = probes.worker_answers(broker_url)
    else:
        serving = probes.beat_holds_lock(broker_url)
    click.echo(f"{component}: {'serving' if serving else 'NOT serving'}")
    sys.exit(0 if serving else 1)


main.add_command(ingest)
main.add_command(features)
main.add_command(ml)
main.add_command(feed)
main.add_command(replay)
