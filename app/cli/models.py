"""``bullpen ml``: train, predict, health."""

import click

from app.cli.common import UserError, resolved_settings
from app.config import TARGETS


@click.group()
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
    from app.ml.predict import champions_for, open_feature_store, score
    from app.ml.registry import ChampionCache

    with resolved_settings() as settings, session_scope(settings.database_url) as session:
        games = load_games_frame(session, game_ids=[game_id])
        if games.empty:
            raise UserError(f"no game {game_id}")
        store = open_feature_store(settings)
        if store.get(game_id) is None:
            refresh_features(session, store, game_ids=[game_id])
        values = np.asarray([store.get(game_id).values])
        models = champions_for(ChampionCache(settings), TARGETS)
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
