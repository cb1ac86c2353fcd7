"""The Celery side of the outbox: how committed jobs reach the workers by their kind's task."""

from collections.abc import Sequence

import redis
from celery import Celery

from app.jobs.service import JobMessage
from app.kinds import KINDS

BROKER_MARKER = "bullpen:broker:alive"


class CeleryJobQueue:
    """``app.jobs.service.JobQueue`` over Celery: a job's message is its kind's task with
    the job id as its only argument, under the task id chosen with the job."""

    def __init__(self, celery: Celery) -> None:
        self.celery = celery
        self.queue_names = tuple(queue.name for queue in celery.conf.task_queues)

    def send(self, message: JobMessage) -> None:
        self.celery.send_task(
            KINDS[message.kind].task_name, args=[str(message.job_id)], task_id=message.task_id
        )

    def revoke(self, task_ids: Sequence[str]) -> None:
        self.celery.control.revoke(list(task_ids))

    def lost_messages(self) -> bool:
        """A marker key lives in the broker's Redis beside the queues: finding it gone means
        the broker lost its data (restarted without persistence, flushed) and every message
        with it. The first call of a new broker says so too; a re-send is harmless."""
        client = redis.Redis.from_url(self.celery.conf.broker_url, socket_timeout=2)
        return bool(client.set(BROKER_MARKER, "1", nx=True))

    def ping(self, timeout: float = 1.0) -> int:
        """How many workers answered a ping within ``timeout`` seconds."""
        return len(self.celery.control.ping(timeout=timeout) or [])
