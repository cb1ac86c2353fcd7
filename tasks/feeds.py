"""Live feed tasks (beat-scheduled): one call each into app/feeds, the CLI's code path."""

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from app import clock
from app.after_pull import price_quoted_games, reprice_posted_lineups
from app.features.store import UPCOMING_TTL_SECONDS
from app.feeds.run import FeedRun, pull_closing_odds, pull_odds, pull_schedule
from app.ml.predict import open_feature_store
from tasks.base import TRANSIENT_ERRORS, RetriedTask, settings
from tasks.bets import settle_games
from workers.celery_app import celery
from workers.dispatch import CeleryJobQueue

log = logging.getLogger(__name__)


@celery.task(
    base=RetriedTask, name="tasks.feeds.pull_schedule", soft_time_limit=240, time_limit=270
)
def pull_schedule_task(day: str | None = None, from_file: str | None = None) -> dict[str, Any]:
    """Beat: the schedule, probable pitchers, lineups, status and finals of yesterday and today
    (or of ``day``); the games that became final (``became_final``) are sent to settlement,
    the games whose lineup arrived (``lineups_posted``) are predicted again."""
    report = _run(
        lambda: pull_schedule(
            settings(),
            dates=[date.fromisoformat(day)] if day else None,
            from_file=Path(from_file) if from_file else None,
        ),
    )
    if report.get("became_final"):  # committed by now: the settlement task reads the finals
        settle_games.delay(report["became_final"])
    if report.get("lineups_posted"):
        job = reprice_posted_lineups(
            settings(),
            report["lineups_posted"],
            CeleryJobQueue(celery),
            clock.now(),
            open_feature_store(settings(), ttl_seconds=UPCOMING_TTL_SECONDS),
        )
        report["lineup_pricing_job"] = None if job is None else str(job.id)
    return report


@celery.task(base=RetriedTask, name="tasks.feeds.pull_odds", soft_time_limit=240, time_limit=270)
def pull_odds_task(day: str | None = None, from_file: str | None = None) -> dict[str, Any]:
    """Beat: every bookmaker's current odds of the upcoming games as line snapshots; the
    games with new quotes are priced at once (``app.after_pull``)."""
    report = _run(
        lambda: pull_odds(
            settings(),
            day=date.fromisoformat(day) if day else None,
            from_file=Path(from_file) if from_file else None,
        ),
    )
    return _price(report)


@celery.task(
    base=RetriedTask, name="tasks.feeds.pull_closing_odds", soft_time_limit=240, time_limit=270
)
def pull_closing_odds_task() -> dict[str, Any]:
    """Beat: the odds once more when a game enters its last 30 minutes without a quote there;
    the games with new quotes are priced at once."""
    return _price(_run(lambda: pull_closing_odds(settings()) or FeedRun("odds")))


def _price(report: dict[str, Any]) -> dict[str, Any]:
    """The pull's newly quoted games priced by one prediction job (committed by now)."""
    if report.get("quoted_games"):
        job = price_quoted_games(
            settings(), report["quoted_games"], CeleryJobQueue(celery), clock.now()
        )
        report["pricing_job"] = None if job is None else str(job.id)
    return report


def _run(work: Callable[[], FeedRun]) -> dict[str, Any]:
    """Run a feed; a database or Redis blip is retried by the task's base class, any other
    failure is reported."""
    try:
        run = work()
    except TRANSIENT_ERRORS:
        raise
    except Exception as error:  # a feed failure is reported, never a crashed worker
        log.exception("feed failed")
        return {"ok": False, "errors": [f"{type(error).__name__}: {error}"]}
    for error in run.errors:
        log.warning("%s feed: %s", run.feed, error)
    return run.to_json()
