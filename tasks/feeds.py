"""Live feed tasks (beat-scheduled): one call each into app/feeds, the CLI's code path."""

import logging
from datetime import date
from pathlib import Path
from typing import Any

from app import clock
from app.bets.after_pull import price_quoted_games
from app.feeds.run import FeedRun, pull_closing_odds, pull_odds, pull_schedule
from tasks.base import MAX_RETRIES, TRANSIENT_ERRORS, settings
from tasks.bets import settle_games
from workers.celery_app import celery
from workers.dispatch import CeleryJobQueue

log = logging.getLogger(__name__)


@celery.task(bind=True, name="tasks.feeds.pull_schedule", soft_time_limit=240, time_limit=270)
def pull_schedule_task(
    self, day: str | None = None, from_file: str | None = None
) -> dict[str, Any]:
    """Beat: the schedule, probable pitchers, status and finals of yesterday and today (or
    of ``day``); the games that became final (``became_final``) are sent to settlement."""
    report = _run(
        self,
        lambda: pull_schedule(
            settings(),
            dates=[date.fromisoformat(day)] if day else None,
            from_file=Path(from_file) if from_file else None,
        ),
    )
    if report.get("became_final"):  # committed by now: the settlement task reads the finals
        settle_games.delay(report["became_final"])
    return report


@celery.task(bind=True, name="tasks.feeds.pull_odds", soft_time_limit=240, time_limit=270)
def pull_odds_task(self, day: str | None = None, from_file: str | None = None) -> dict[str, Any]:
    """Beat: every bookmaker's current odds of the upcoming games as line snapshots; the
    games with new quotes are priced at once (``app.bets.after_pull``)."""
    report = _run(
        self,
        lambda: pull_odds(
            settings(),
            day=date.fromisoformat(day) if day else None,
            from_file=Path(from_file) if from_file else None,
        ),
    )
    return _price(report)


@celery.task(bind=True, name="tasks.feeds.pull_closing_odds", soft_time_limit=240, time_limit=270)
def pull_closing_odds_task(self) -> dict[str, Any]:
    """Beat: the odds once more when a game enters its last 30 minutes without a quote there;
    the games with new quotes are priced at once."""
    return _price(_run(self, lambda: pull_closing_odds(settings()) or FeedRun("odds")))


def _price(report: dict[str, Any]) -> dict[str, Any]:
    """The pull's newly quoted games priced by one prediction job (committed by now)."""
    if report.get("quoted_games"):
        job = price_quoted_games(
            settings(), report["quoted_games"], CeleryJobQueue(celery), clock.now()
        )
        report["pricing_job"] = None if job is None else str(job.id)
    return report


def _run(task, work) -> dict[str, Any]:
    """Run a feed; retry a database or Redis blip with backoff, report any other failure."""
    try:
        run: FeedRun = work()
    except TRANSIENT_ERRORS as error:
        if task.request.retries < MAX_RETRIES:
            raise task.retry(exc=error, countdown=2**task.request.retries) from error
        log.error("feed gave up after %d retries: %s", MAX_RETRIES, error)
        return {"ok": False, "errors": [f"gave up after {MAX_RETRIES} retries: {error}"]}
    except Exception as error:  # a feed failure is reported, never a crashed worker
        log.exception("feed failed")
        return {"ok": False, "errors": [f"{type(error).__name__}: {error}"]}
    for error in run.errors:
        log.warning("%s feed: %s", run.feed, error)
    return run.to_json()
