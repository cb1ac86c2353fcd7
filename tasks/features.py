"""Feature tasks of the beat (refresh jobs are ``tasks.jobs``)."""

from app import clock
from app.db.session import session_scope
from app.features.jobs import refresh_upcoming as refresh_upcoming_games
from app.features.store import UPCOMING_TTL_SECONDS
from app.ml.predict import open_feature_store
from tasks.base import RetriedTask, settings
from workers.celery_app import celery


@celery.task(
    base=RetriedTask, name="tasks.features.refresh_upcoming", soft_time_limit=300, time_limit=330
)
def refresh_upcoming() -> int:
    """Beat: keep the features of games not yet played fresh."""
    with session_scope(settings().database_url) as session:
        store = open_feature_store(settings(), ttl_seconds=UPCOMING_TTL_SECONDS)
        return refresh_upcoming_games(session, store, clock.today())
