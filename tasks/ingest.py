"""Ingest tasks."""

from functools import partial

from app.ingest.jobs import ingest_for_params
from app.jobs.service import run_job
from app.ml.predict import open_feature_store
from tasks.base import run_job_task, settings
from workers.celery_app import celery


@celery.task(bind=True, name="tasks.ingest.run_ingest_job", soft_time_limit=900, time_limit=960)
def run_ingest_job(self, job_id: str) -> None:
    """Ingest the files of an ingest job; per-file counts become the job's result."""
    store = open_feature_store(settings())
    run_job_task(
        self,
        job_id,
        lambda job, task_id: run_job(
            settings().database_url, job, task_id, partial(ingest_for_params, store=store)
        ),
    )
