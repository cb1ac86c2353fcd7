"""``bullpen feed``: the live feeds, by the same code the beat tasks run."""

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import click

from app.cli.common import UserError, resolved_settings

if TYPE_CHECKING:
    from app.feeds.run import FeedRun

_date = click.option(
    "--date",
    "on_date",
    type=click.DateTime(["%Y-%m-%d"]),
    help="The US Eastern date to pull (default: see each command).",
)
_from_file = click.option(
    "--from-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Ingest a saved provider response instead of calling the provider.",
)


@click.group()
def feed() -> None:
    """Live feeds: the schedule (games, probable pitchers, finals) and bookmakers' odds."""


@feed.command("schedule")
@_date
@click.option(
    "--from",
    "first",
    type=click.DateTime(["%Y-%m-%d"]),
    help="Backfill: the first date of a range to walk day by day (with --to).",
)
@click.option("--to", "last", type=click.DateTime(["%Y-%m-%d"]), help="Backfill: its last date.")
@click.option("--force", is_flag=True, help="Backfill: pull again the days found over before.")
@_from_file
def feed_schedule(
    on_date: datetime | None,
    first: datetime | None,
    last: datetime | None,
    force: bool,
    from_file: Path | None,
) -> None:
    """The MLB schedule of a date (default: yesterday and today), or of every date from
    --from to --to (a backfill: resumable, paced by BULLPEN_SCHEDULE_BACKFILL_INTERVAL):
    new games, probable pitchers, status changes and final scores."""
    from app.bets.settlement import settle_then_review
    from app.feeds.run import backfill_schedule, pull_schedule

    walk = first is not None or last is not None
    if walk and (first is None or last is None):
        raise UserError("a backfill needs both --from and --to")
    if walk and (on_date is not None or from_file is not None):
        raise UserError("--from/--to walk a range: give neither --date nor --from-file with them")
    if walk and last < first:
        raise UserError(f"--to {last:%Y-%m-%d} is before --from {first:%Y-%m-%d}")
    if force and not walk:
        raise UserError("--force goes with --from/--to")

    def show(done: int, total: int, report) -> None:
        if report is not None:
            click.echo(f"[{done}/{total}] {report.summary()}")

    with resolved_settings() as settings:
        if walk:
            run = backfill_schedule(settings, first.date(), last.date(), force=force, progress=show)
            click.echo(run.walk_summary())
        else:
            run = pull_schedule(
                settings, dates=[on_date.date()] if on_date else None, from_file=from_file
            )
        if run.became_final:
            graded = settle_then_review(settings, run.became_final).as_dict()["bets"]
            click.echo(
                f"settled {graded} bets of the {len(run.became_final)} games that became final"
            )
    _finish(run, each=not walk)


@feed.command("odds")
@_date
@_from_file
def feed_odds(on_date: datetime | None, from_file: Path | None) -> None:
    """Every bookmaker's odds (moneyline, total, run line) of the upcoming games, or of one
    date's games, stored as line snapshots."""
    from app.feeds.run import pull_odds

    with resolved_settings() as settings:
        run = pull_odds(settings, day=on_date.date() if on_date else None, from_file=from_file)
    _finish(run)


def _finish(run: "FeedRun", *, each: bool = True) -> None:
    """Print each response's summary (unless printed as it came); one clear line and exit 1
    if anything failed."""
    for report in run.reports if each else []:
        click.echo(report.summary())
    if run.became_final:
        click.echo(f"became final: {len(run.became_final)} games")
    if not run.ok:
        problems = run.errors + [report.refused for report in run.reports if report.refused]
        raise UserError("; ".join(problems))
