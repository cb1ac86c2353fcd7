"""The Celery side of the outbox: how committed jobs reach the workers by their kind's task."""

from collections.abc import Sequence

from celery import Celery

from app.jobs.kinds import KINDS
from app.jobs.service import JobMessage


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

    def ping(self, timeout: float = 1.0) -> int:
        """How many workers answered a ping within ``timeout`` seconds."""
        return len(self.celery.control.ping(timeout=timeout) or [])
