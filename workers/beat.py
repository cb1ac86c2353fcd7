"""The beat schedule, in one table."""

from datetime import timedelta

from celery.schedules import crontab


def beat_schedule() -> dict[str, dict]:
    """Periodic tasks; each entry names its task, schedule and why it exists."""
    return {
        # Re-send jobs the broker lost or never received (the outbox reaper).
        "reap-lost-jobs": {
            "task": "tasks.maintenance.reap_jobs",
            "schedule": timedelta(seconds=30),
        },
        # Keep the features of upcoming games fresh for low-latency predictions.
        "refresh-upcoming-features": {
            "task": "tasks.features.refresh_upcoming",
            "schedule": timedelta(minutes=30),
        },
        # Safety net for settlement: grade open bets of games that have a final (exactly once).
        "settle-open-bets": {
            "task": "tasks.bets.settle_open_bets",
            "schedule": timedelta(minutes=10),
        },
        # Nightly retraining of every target; the result is a challenger until promoted.
        "nightly-retrain": {
            "task": "tasks.training.retrain_all",
            "schedule": crontab(hour=9, minute=0),
        },
    }
