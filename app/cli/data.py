"""``bullpen ingest`` and ``bullpen features``."""

from pathlib import Path

import click

from app.cli.common import UserError, resolved_settings


@click.group()
def ingest() -> None:
    """RAW -> STAGING -> CURATED for a data source; idempotent."""


def _ingest(source: str, paths: tuple[Path, ...], force: bool) -> None:
    from app.db.session import session_scope
    from app.ingest.jobs import INGEST_USER_ERRORS, refresh_after_changed_results
    from app.ingest.sources import ingest
    from app.ml.predict import open_feature_store

    try:
        with resolved_settings() as settings, session_scope(settings.database_url) as session:
            reports = ingest(session, source, list(paths), force=force)
            refreshed = refresh_after_changed_results(
                session, open_feature_store(settings), reports
            )
    except INGEST_USER_ERRORS as error:
        raise UserError(str(error)) from None
    for report in reports:
        click.echo(report.summary())
    if refreshed:
        click.echo(f"refreshed the features of {refreshed} games that changed results feed")


_paths = click.argument(
    "paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
_force = click.option(
    "--force", is_flag=True, help="Ingest again even a file that is already the current one."
)


@ingest.command("sbro")
@_paths
@_force
def ingest_sbro_command(paths: tuple[Path, ...], force: bool) -> None:
    """SBRO odds workbooks (mlb-odds-YYYY.xlsx)."""
    _ingest("sbro", paths, force)


@ingest.command("retrosheet")
@_paths
@_force
def ingest_retrosheet_command(paths: tuple[Path, ...], force: bool) -> None:
    """Retrosheet game logs (GLYYYY.TXT or .TXT.gz)."""
    _ingest("retrosheet", paths, force)


@ingest.command("lines")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@_force
def ingest_lines_command(paths: tuple[Path, ...], force: bool) -> None:
    """Line histories: NAME_games.csv + NAME_lines.csv[.gz] pairs, or folders holding them.

    Either file of a pair finds its partner next to it. Ingest the season's odds workbook
    first: lines join to its curated games.
    """
    _ingest("lines", paths, force)


@ingest.command("splits")
@_paths
@_force
def ingest_splits_command(paths: tuple[Path, ...], force: bool) -> None:
    """Betting splits CSV files (format: docs/betting-splits.md)."""
    _ingest("splits", paths, force)


@ingest.command("quality")
@click.option("--season", type=int, help="One season (default: every season with data).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def ingest_quality_command(season: int | None, as_json: bool) -> None:
    """The data-quality report per season: curated games, rule firings, joins, coverage."""
    import json

    from app.db.session import session_scope
    from app.ingest.quality import format_report, quality_report

    with resolved_settings() as settings, session_scope(settings.database_url) as session:
        reports = quality_report(session, season)
    if not reports:
        raise UserError(f"no data for season {season}" if season else "no data ingested yet")
    if as_json:
        click.echo(json.dumps(reports, indent=2))
    else:
        for report in reports:
            click.echo(format_report(report))


@click.group()
def features() -> None:
    """The feature store."""


@features.command("refresh")
@click.option("--season", type=int)
@click.option("--date", "on_date", type=click.DateTime(["%Y-%m-%d"]))
@click.option("--game-id", type=int)
def features_refresh(season: int | None, on_date, game_id: int | None) -> None:
    """Recompute and store the features of a season, a date or one game."""
    from app.db.session import session_scope
    from app.features.refresh import refresh_features
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
