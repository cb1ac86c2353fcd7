"""Prediction tasks."""

from functools import cache

from app.features.store import FeatureStore
from app.ml.predict import open_feature_store
from app.ml.predict import run_prediction_job as predict_job
from app.ml.registry import ChampionCache
from tasks.base import run_job_task, settings
from workers.celery_app import celery


@cache
def champions() -> ChampionCache:
    """This process's champion models: the alias read per job, a model loaded when it moves."""
    return ChampionCache(settings())


@cache
def feature_store() -> FeatureStore:
    return open_feature_store(settings())


@celery.task(
    bind=True, name="tasks.predict.run_prediction_job", soft_time_limit=600, time_limit=660
)
def run_prediction_job(self, job_id: str) -> None:
    """Predict every game of a prediction job."""
    run_job_task(
        self,
        job_id,
        lambda job, task_id: predict_job(settings(), job, task_id, champions(), feature_store()),
    )
