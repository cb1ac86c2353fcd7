"""Settlement tasks (on the ``maintenance`` queue: short, idempotent database work)."""

import logging

from app import clock
from app.bets.alerts import deliver
from app.bets.settlement import settle_then_review
from app.db.session import session_scope
from tasks.base import RetriedTask, settings
from workers.celery_app import celery

log = logging.getLogger(__name__)


@celery.task(base=RetriedTask, name="tasks.bets.settle_games", soft_time_limit=120, time_limit=150)
def settle_games(game_ids: list[int]) -> dict:
    """Grade every open bet of these games that has a final; a repeat grades nothing twice."""
    report = settle_then_review(settings(), game_ids).as_dict()
    log.info("settled games %s: %s", game_ids[:20], report)
    return report


@celery.task(
    base=RetriedTask, name="tasks.bets.settle_open_bets", soft_time_limit=300, time_limit=330
)
def settle_open_bets() -> dict:
    """Beat safety net: settle every open bet whose game has a final (or is void by now)."""
    return settle_then_review(settings()).as_dict()


@celery.task(base=RetriedTask, name="tasks.bets.send_alerts", soft_time_limit=300, time_limit=330)
def send_alerts() -> dict:
    """Send every due bet alert to ``BULLPEN_ALERT_URLS`` (exactly once each, retried later)."""
    config = settings()
    report = deliver(lambda: session_scope(config.database_url), config.alert_urls, clock.now())
    if report.sent or report.failed:
        log.info("bet alerts: %s", report.as_dict())
    return report.as_dict()
