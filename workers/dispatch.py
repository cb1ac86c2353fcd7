"""The Celery side of the outbox: how committed jobs reach the workers by their kind's task."""

from collections.abc import Sequence

import redis
from celery import Celery

from app.jobs.service import JobMessage
from app.kinds import KINDS

BROKER_MARKER = "bullpen:broker:alive"
BROKER_CONNECT_TIMEOUT = 2.0


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
        with redis.Redis.from_url(
            self.celery.conf.broker_url, socket_timeout=2, socket_connect_timeout=2
        ) as client:  # closed after: a client per call must not leave its connection open
            return bool(client.set(BROKER_MARKER, "1", nx=True))

    def ping(self, timeout: float = 1.0) -> int:
        """How many workers answered a ping within ``timeout`` seconds.

        On a connection of its own, closed after, not one of the publishing pool's: under
        gevent, concurrent broadcasts on pooled connections hung for good (every readiness
        probe of the API with them), and a ping must never wait for a free connection.
        Connecting fails at once while the broker is down rather than retrying.
        """
        with self.celery.connection_for_write() as connection:
            connection.ensure_connection(max_retries=1, timeout=BROKER_CONNECT_TIMEOUT)
            return len(self.celery.control.ping(timeout=timeout, connection=connection) or [])
