"""``bullpen ml``: train, backtest, evaluate, promote, predict, health."""

import click

from app.cli.common import UserError, resolved_settings
from app.markets import TARGETS


@click.group()
def ml() -> None:
    """Models: train, predict, health."""


@ml.command("train")
@click.argument("target", required=False, type=click.Choice([*TARGETS, "all"]))
@click.option("--seasons", help="e.g. 2010-2018 (default: every stored season)")
def ml_train(target: str | None, seasons: str | None) -> None:
    """Train TARGET's model (default: all, sharing one feature build); each becomes champion
    when it beats the current one."""
    from app.db.session import session_scope
    from app.games.seasons import stored_seasons
    from app.ml.jobs import parse_seasons
    from app.ml.train import NotEnoughData, train_targets

    targets = list(TARGETS) if target in (None, "all") else [target]
    try:
        chosen = parse_seasons(seasons) if seasons else None
    except ValueError as error:
        raise UserError(str(error)) from None
    with resolved_settings() as settings, session_scope(settings.database_url) as session:
        chosen = chosen or stored_seasons(session)
        click.echo(f"training {', '.join(targets)} on seasons {chosen[0]}-{chosen[-1]}")
        try:
            outcomes = train_targets(session, settings, targets, chosen)
        except NotEnoughData as error:
            raise UserError(str(error)) from None
    for outcome in outcomes:
        click.echo(f"{outcome.target}:")
        for name, value in sorted(outcome.metrics.items()):
            click.echo(f"  {name:32s} {value:.5f}")
        click.echo(f"{outcome.model_name} v{outcome.version}: {outcome.decision}")


@ml.command("predict")
@click.option("--game-id", type=int, required=True)
def ml_predict(game_id: int) -> None:
    """Predict one stored game with the champions, here and now (no job)."""
    import json

    import numpy as np

    from app.bets.fairline import FairLineRules
    from app.bets.quotes import book_quotes
    from app.bets.recommend import staking_for
    from app.bets.strategies import configured, states
    from app.db.session import session_scope
    from app.features.refresh import refresh_features
    from app.games.queries import load_games_frame
    from app.ml.predict import champions_for, open_feature_store
    from app.ml.registry import ChampionCache
    from app.predictions.pipeline import score

    with resolved_settings() as settings, session_scope(settings.database_url) as session:
        games = load_games_frame(session, game_ids=[game_id])
        if games.empty:
            raise UserError(f"no game {game_id}")
        store = open_feature_store(settings)
        if store.get(game_id) is None:
            refresh_features(session, store, game_ids=[game_id])
        values = np.asarray([store.get(game_id).values])
        models = champions_for(ChampionCache(settings), TARGETS)
        staking = staking_for({}, settings)
        quotes = [book_quotes(session, [game_id]).get(game_id, {})]
        payload = score(
            games, values, models, staking.bankroll, [game_id],
            staking=staking, quotes=quotes, max_ece=settings.max_ece,
            fair_rules=FairLineRules.from_settings(settings),
            strategies=configured(settings),
            live={name for name, row in states(session).items() if row.state == "live"},
        )[0]  # fmt: skip
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


@ml.command("backtest")
@click.option("--season", type=int, help="the season to predict, e.g. 2019")
@click.option(
    "--seasons", "season_range", help="several seasons, each walk-forward, and pooled: 2013-2019"
)
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="write JSON here")
@click.option("--html", "html_path", type=click.Path(dir_okay=False), help="write HTML here")
def ml_backtest(
    season: int | None, season_range: str | None, json_path: str | None, html_path: str | None
) -> None:
    """Walk-forward: fit on the seasons before SEASON, predict SEASON, compare with the market.
    With --seasons, every season of the range so, and the pooled report (app/ml/pooled.py)."""
    from pathlib import Path

    from app.db.session import session_scope
    from app.ml.backtest import backtest, dumps
    from app.ml.train import NotEnoughData

    if (season is None) == (season_range is None):
        raise UserError("give one of --season Y or --seasons A-B")
    if season_range is not None:
        _pooled_backtest(season_range, json_path, html_path)
        return
    with resolved_settings() as settings, session_scope(settings.database_url) as session:
        try:
            result = backtest(session, settings, season, say=lambda line: click.echo(line))
        except NotEnoughData as error:
            raise UserError(str(error)) from None
    _echo_backtest(result.to_dict())
    if json_path:
        Path(json_path).write_text(dumps(result))
        click.echo(f"wrote {json_path}")
    if html_path:
        from app.ml.report import render_html

        Path(html_path).write_text(render_html(result))
        click.echo(f"wrote {html_path}")


def _pooled_backtest(season_range: str, json_path: str | None, html_path: str | None) -> None:
    from pathlib import Path

    from app.bets.runs import price_home_run_lines
    from app.db.session import session_scope
    from app.ml import pooled
    from app.ml.jobs import parse_seasons
    from app.ml.train import NotEnoughData

    try:
        seasons = parse_seasons(season_range)
    except ValueError as error:
        raise UserError(str(error)) from None
    with resolved_settings() as settings, session_scope(settings.database_url) as session:
        try:
            result = pooled.pooled_backtest(
                session,
                settings,
                seasons,
                say=lambda line: click.echo(line),
                run_line_pricer=price_home_run_lines,
            )
        except NotEnoughData as error:
            raise UserError(str(error)) from None
    body = result.body or result.to_dict()
    for line in pooled.table_lines(body):
        click.echo(line)
    if json_path:
        Path(json_path).write_text(pooled.dumps(body))
        click.echo(f"wrote {json_path}")
    if html_path:
        Path(html_path).write_text(pooled.render_html(body))
        click.echo(f"wrote {html_path}")


def _echo_backtest(body: dict) -> None:
    def number(value: float | None, digits: int = 5) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    click.echo(
        f"{'target':12s} {'n':>5s} {'model LL':>9s} {'open LL':>9s} {'close LL':>9s} "
        f"{'ECE':>7s} {'AUC':>7s} {'bets':>5s} {'ROI':>8s} {'CLV':>8s} {'served':>6s}"
    )
    for target, t in body["targets"].items():
        model = t["model"] or {}
        betting = t["betting"] or {}
        click.echo(
            f"{target:12s} {t['n']:5d} {number(model.get('log_loss')):>9s} "
            f"{number((t['market_open'] or {}).get('log_loss')):>9s} "
            f"{number((t['market_close'] or {}).get('log_loss')):>9s} "
            f"{number(model.get('ece'), 4):>7s} {number(model.get('auc'), 4):>7s} "
            f"{betting.get('bets', 0):5d} {number(betting.get('roi'), 4):>8s} "
            f"{number(betting.get('mean_clv'), 4):>8s} "
            f"{'yes' if t.get('bets_enabled') else 'no':>6s}"
        )
    for target, reason in body["skipped"].items():
        click.echo(f"{target:12s} skipped: {reason}")
    click.echo(
        "served: would a champion trained this way recommend these bets? Only when it beat "
        "the market on its held-out games, significantly by a date-clustered paired test "
        "corrected for three targets (app/ml/evaluation.py)."
    )


@ml.command("evaluate")
@click.argument("name")
@click.option("--version", help="a version number (default: the champion)")
def ml_evaluate(name: str, version: str | None) -> None:
    """A registered model NAME (or target) against the market on the games it was not fitted on."""
    import json

    from app.db.session import session_scope
    from app.ml.backtest import evaluate_version
    from app.ml.train import NotEnoughData

    with resolved_settings() as settings:
        target, model_name = _resolve(settings, name)
        version = version or _champion(settings, model_name)
        with session_scope(settings.database_url) as session:
            try:
                evaluation, details = evaluate_version(session, settings, target, version)
            except (NotEnoughData, ValueError) as error:
                raise UserError(str(error)) from None
            except registry_errors() as error:
                raise UserError(f"{model_name} v{version}: {error}") from None
    body = {**details, **evaluation.to_dict()}
    body.pop("bankroll_curve", None)
    click.echo(json.dumps(body, indent=2))


@ml.command("promote")
@click.argument("name")
@click.argument("version")
def ml_promote(name: str, version: str) -> None:
    """Make VERSION of model NAME (or of a target) the champion."""
    from app.ml.registry import promote

    with resolved_settings() as settings:
        target, model_name = _resolve(settings, name)
        try:
            decision = promote(settings, target, version, "promoted by hand (bullpen ml promote)")
        except ValueError as error:
            raise UserError(str(error)) from None
        except registry_errors() as error:
            raise UserError(f"{model_name} v{version}: {error}") from None
    click.echo(f"{model_name} {decision}")


def registry_errors() -> tuple[type[Exception], ...]:
    from mlflow.exceptions import MlflowException

    return (MlflowException,)


def _resolve(settings, name: str) -> tuple[str, str]:
    from app.ml.registry import resolve_model_name

    try:
        return resolve_model_name(settings, name)
    except KeyError:
        choices = ", ".join(f"{t} / {settings.model_name(t)}" for t in TARGETS)
        raise UserError(f"unknown model {name!r}: one of {choices}") from None


def _champion(settings, model_name: str) -> str:
    from app.ml.registry import CHAMPION, client, version_by_alias

    champion = version_by_alias(client(settings), model_name, CHAMPION)
    if champion is None:
        raise UserError(f"{model_name} has no champion; give --version")
    return str(champion.version)


@ml.command("families")
@click.option("--seasons", "season_range", required=True, help="walk-forward seasons: 2016-2019")
@click.option("--families", help="comma-separated (default: every family but the market's)")
@click.option("--json", "json_path", type=click.Path(dir_okay=False), help="write JSON here")
def ml_families(season_range: str, families: str | None, json_path: str | None) -> None:
    """Each feature family's gain: walk-forward models with and without it, the paired
    log-loss difference with its date-clustered SE (app/ml/families.py)."""
    from pathlib import Path

    from app.db.session import session_scope
    from app.ml.families import family_gains, table_lines
    from app.ml.jobs import parse_seasons
    from app.ml.pooled import dumps
    from app.ml.train import NotEnoughData

    try:
        seasons = parse_seasons(season_range)
    except ValueError as error:
        raise UserError(str(error)) from None
    chosen = [name.strip() for name in families.split(",")] if families else None
    with resolved_settings() as settings, session_scope(settings.database_url) as session:
        try:
            body = family_gains(session, seasons, families=chosen, say=click.echo)
        except (NotEnoughData, ValueError) as error:
            raise UserError(str(error)) from None
    for line in table_lines(body):
        click.echo(line)
    click.echo(f"wall time inside: {body['wall_seconds']:.1f} s")
    if json_path:
        Path(json_path).write_text(dumps(body))
        click.echo(f"wrote {json_path}")
