"""A schedule backfill as a unit of job work (``POST /api/v1/feeds/schedule``)."""

from datetime import date
from typing import Any

from app.bets.settlement import settle_then_review
from app.feeds.run import backfill_schedule
from app.jobs.runtime import JobContext

# Backfill ranges longer than this are refused (about ten seasons, offseasons included).
MAX_BACKFILL_DAYS = 3660


def run_schedule_backfill(context: JobContext) -> dict[str, Any]:
    """Walk the job's date range (``from``, ``to``, ``force``) as ``bullpen feed schedule
    --from --to`` does, progress a day at a time; settle the games that became final."""
    params = context.params
    run = backfill_schedule(
        context.resources.settings,
        date.fromisoformat(params["from"]),
        date.fromisoformat(params["to"]),
        force=bool(params.get("force", False)),
        checkpoint=context.checkpoint,
        progress=lambda done, total, _report: context.progress(done, total),
    )
    settled = 0
    if run.became_final:
        settled = settle_then_review(context.resources.settings, run.became_final).as_dict()["bets"]
    return {
        "summary": run.walk_summary(),
        "ok": run.ok,
        "days_pulled": len(run.days_pulled),
        "days_skipped": len(run.days_skipped),
        "stopped_at": run.stopped_at.isoformat() if run.stopped_at else None,
        "games_created": sum(len(report.games_created) for report in run.reports),
        "became_final": len(run.became_final),
        "bets_settled": settled,
        "quarantined": sum(sum(report.quarantined.values()) for report in run.reports),
        "errors": run.errors,
    }
