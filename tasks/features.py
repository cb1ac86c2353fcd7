"""Feature refresh tasks."""

from functools import partial

from app import clock
from app.db.session import session_scope
from app.features.jobs import refresh_for_params
from app.features.jobs import refresh_upcoming as refresh_upcoming_games
from app.features.store import UPCOMING_TTL_SECONDS
from app.jobs.service import run_job
from app.ml.predict import open_feature_store
from tasks.base import run_job_task, settings
from workers.celery_app import celery


@celery.task(bind=True, name="tasks.features.run_refresh_job", soft_time_limit=600, time_limit=660)
def run_refresh_job(self, job_id: str) -> None:
    """Refresh the features a refresh job selects."""
    store = open_feature_store(settings())
    run_job_task(
        self,
        job_id,
        lambda job, task_id: run_job(
            settings().database_url, job, task_id, partial(refresh_for_params, store=store)
        ),
    )


@celery.task(name="tasks.features.refresh_upcoming", soft_time_limit=300, time_limit=330)
def refresh_upcoming() -> int:
    """Beat: keep the features of games not yet played fresh."""
    with session_scope(settings().database_url) as session:
        store = open_feature_store(settings(), ttl_seconds=UPCOMING_TTL_SECONDS)
        return refresh_upcoming_games(session, store, clock.now().date())
