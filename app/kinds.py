"""Every kind of job, declared once: its queue, its params, its time limits and its work.

The API submits jobs by kind, the Celery task layer registers one task per kind (and one
chunk task per kind that fans out) from this table, and the reaper re-sends by kind.
"""

from functools import cached_property

import marshmallow as ma

from app.config import Settings
from app.features.jobs import run_refresh
from app.features.store import FeatureStore
from app.feeds.jobs import run_schedule_backfill
from app.ingest.jobs import run_ingest
from app.jobs.runtime import JobKind, MicroBatch
from app.markets import TARGETS
from app.ml.jobs import run_training
from app.ml.predict import open_feature_store
from app.ml.registry import ChampionCache
from app.predictions.jobs import MATES, predict_chunk, run_prediction, run_predictions
from app.predictions.params import PredictParams


class WorkerResources:
    """What a worker process's jobs share, opened on first use: settings, the feature store
    and the champion models."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def feature_store(self) -> FeatureStore:
        return open_feature_store(self.settings)

    @cached_property
    def champions(self) -> ChampionCache:
        return ChampionCache(self.settings)


class RefreshParams(ma.Schema):
    season = ma.fields.Integer(allow_none=True)
    date = ma.fields.Date(allow_none=True)
    game_id = ma.fields.Integer(allow_none=True)


class IngestParams(ma.Schema):
    source = ma.fields.String(required=True)
    paths = ma.fields.List(ma.fields.String(), required=True)
    force = ma.fields.Boolean()


class TrainParams(ma.Schema):
    target = ma.fields.String(validate=ma.validate.OneOf(TARGETS))
    targets = ma.fields.List(ma.fields.String(validate=ma.validate.OneOf(TARGETS)))
    seasons = ma.fields.List(ma.fields.Integer(), allow_none=True)


class ScheduleBackfillParams(ma.Schema):
    first = ma.fields.Date(data_key="from", required=True)
    last = ma.fields.Date(data_key="to", required=True)
    force = ma.fields.Boolean()


PREDICT = JobKind(
    "predict", queue="predict", params=PredictParams, work=run_prediction, chunk=predict_chunk,
    # A chunk is at most one date's games beyond 500; the planner only plans.
    soft_time_limit=600, time_limit=660,
    # A one-game job's claim takes up to MATES other queued one-game jobs with it.
    micro_batch=MicroBatch("game_ids", MATES, run_predictions),
)  # fmt: skip
FEATURES_REFRESH = JobKind(
    "features_refresh", queue="features", params=RefreshParams, work=run_refresh,
    soft_time_limit=600, time_limit=660,
)  # fmt: skip
INGEST = JobKind(
    "ingest", queue="ingest", params=IngestParams, work=run_ingest,
    soft_time_limit=900, time_limit=960,
)  # fmt: skip
TRAIN = JobKind(
    "train", queue="training", params=TrainParams, work=run_training,
    soft_time_limit=1800, time_limit=1900,
)  # fmt: skip

SCHEDULE_BACKFILL = JobKind(
    "schedule_backfill", queue="feeds", params=ScheduleBackfillParams, work=run_schedule_backfill,
    # A season is ~190 days at one call a second or so; a longer range resumes when re-sent.
    soft_time_limit=3600, time_limit=3660,
)  # fmt: skip

KINDS: dict[str, JobKind] = {
    kind.name: kind for kind in (PREDICT, FEATURES_REFRESH, INGEST, TRAIN, SCHEDULE_BACKFILL)
}
