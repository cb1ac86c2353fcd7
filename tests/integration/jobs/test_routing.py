"""Each kind of task lands in its own queue, and only there."""

from dataclasses import replace

import pytest
import redis

from app.kinds import KINDS
from app.queues import QUEUE_NAMES as QUEUES
from tests.integration.conftest import redis_database
from workers.celery_app import make_celery

pytestmark = pytest.mark.integration

SCRATCH_DB = 13  # a Redis database no other test uses


def test_every_task_is_routed_to_its_own_queue_only(settings):
    broker = redis_database(settings.broker_url, SCRATCH_DB)
    client = redis.Redis.from_url(broker)
    client.flushdb()
    celery = make_celery(replace(settings, broker_url=broker))
    try:
        with celery.connection_for_write() as conn:
            for queue in celery.amqp.queues.values():
                queue(conn.default_channel).declare()  # as every worker does on start
        for task in [
            *(kind.task_name for kind in KINDS.values()),
            *(kind.chunk_task_name for kind in KINDS.values() if kind.chunk),
            "tasks.maintenance.reap_jobs",
            "tasks.feeds.pull_schedule",
        ]:
            celery.send_task(task, args=["routing-test"])

        lengths = {queue: client.llen(queue) for queue in QUEUES}
    finally:
        client.flushdb()

    assert lengths == {
        "predict": 2,  # a prediction job and a chunk of one
        "features": 1,
        "ingest": 1,
        "training": 1,
        "maintenance": 1,
        "feeds": 2,  # a schedule backfill job and the beat's schedule pull
    }
