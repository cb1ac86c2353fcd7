"""The beat schedule, in one table."""

from datetime import timedelta

from celery.schedules import crontab


def beat_schedule(reap_interval_seconds: float = 30) -> dict[str, dict]:
    """Periodic tasks; each entry names its task, schedule and why it exists."""
    return {
        # Re-send jobs the broker lost or never received (the outbox reaper);
        # BULLPEN_REAP_INTERVAL_SECONDS, 30 by default.
        "reap-lost-jobs": {
            "task": "tasks.maintenance.reap_jobs",
            "schedule": timedelta(seconds=reap_interval_seconds),
        },
        # Keep the features of upcoming games fresh for low-latency predictions.
        "refresh-upcoming-features": {
            "task": "tasks.features.refresh_upcoming",
            "schedule": timedelta(minutes=30),
        },
        # Live feeds (README "Live feeds"). The schedule of yesterday and today (US Eastern):
        # new games, probable pitchers, status changes and finals, every 10 minutes (finals
        # reach settlement within that; one request a day each run, no quota).
        "pull-schedule": {
            "task": "tasks.feeds.pull_schedule",
            "schedule": timedelta(minutes=10),
        },
        # Every bookmaker's odds of the upcoming games, as line snapshots, every 30 minutes:
        # one request costs 3 quota units (3 markets x 1 region), 144 a day, about 4,400 a
        # month (a 5,000-unit plan); the opening line is the first snapshot.
        "pull-odds": {
            "task": "tasks.feeds.pull_odds",
            "schedule": timedelta(minutes=30),
        },
        # Each game's close: once more inside its last 30 minutes before first pitch (one
        # request covers every game starting then; about one more request per start-time
        # cluster of a day, 3 units each). A check every 5 minutes costs nothing when no game
        # needs it.
        "pull-closing-odds": {
            "task": "tasks.feeds.pull_closing_odds",
            "schedule": timedelta(minutes=5),
        },
        # Alerts of new served bets: a cheap query when there is nothing to send; its interval
        # is most of the time from a served bet to its alert.
        "send-alerts": {
            "task": "tasks.bets.send_alerts",
            "schedule": timedelta(seconds=15),
        },
        # Safety net for settlement: grade open bets of games that have a final (exactly once).
        "settle-open-bets": {
            "task": "tasks.bets.settle_open_bets",
            "schedule": timedelta(minutes=10),
        },
        # A daily backup (app/stack/backup.py) into BULLPEN_BACKUP_DIR, keeping the newest
        # BULLPEN_BACKUP_KEEP; before the retraining, so that the two never overlap.
        "daily-backup": {
            "task": "tasks.maintenance.backup",
            "schedule": crontab(hour=7, minute=30),
        },
        # Nightly retraining of every target; the result is a challenger until promoted.
        "nightly-retrain": {
            "task": "tasks.training.retrain_all",
            "schedule": crontab(hour=9, minute=0),
        },
    }
