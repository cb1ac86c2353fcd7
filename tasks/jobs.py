"""One Celery task per job kind, and one per chunk of a kind that fans out, from
``app.kinds``: job ids in, ``app.jobs.runtime`` does the rest."""

import logging
import uuid
from collections.abc import Sequence
from functools import cache

from kombu.exceptions import OperationalError

from app.jobs.runtime import JobKind, execute
from app.kinds import KINDS, PREDICT
from app.redis_clients import bounded_redis
from tasks.base import JobTask, resources, settings
from workers.celery_app import celery
from workers.dispatch import CeleryJobQueue

log = logging.getLogger(__name__)


@cache
def _chunk_queue() -> CeleryJobQueue:
    """This worker process's sender of chunk messages (made in the process that sends, after
    the pool's fork), on a client of the broker whose calls end within seconds."""
    return CeleryJobQueue(celery, bounded_redis(celery.conf.broker_url))


def _fan_out(kind: JobKind):
    def send_chunks(job_id: uuid.UUID, chunk_indexes: Sequence[int]) -> None:
        """The chunks' messages, in one LPUSH: every worker of the kind's queue takes some. A
        broker that cannot take them is an outage: the job's task retries, and its plan, kept,
        sends the chunks not yet written."""
        _chunk_queue().send_tasks(
            kind.chunk_task_name, [[str(job_id), index] for index in chunk_indexes]
        )

    return send_chunks


def _dismiss(task_ids: Sequence[str]) -> None:
    """Revoke the messages of jobs another's micro-batch ended: a worker that receives one
    acknowledges it without running it (a message already running finds its job ended)."""
    if task_ids:
        celery.control.revoke(list(task_ids))


def _alert_served(kind: JobKind) -> None:
    """After a prediction's bets are committed, their alerts go out now, not at the beat's next
    round (a repeat finds nothing due: each alert is sent once). The job's work is committed
    by now: a broker that cannot take the message must not fail it, the beat's round sends."""
    if kind.name == PREDICT.name and settings().alert_urls:
        try:
            celery.send_task("tasks.bets.send_alerts")
        except OperationalError as error:
            log.warning("alerts left to the beat's next round: %s", error)


def _job_task(kind: JobKind):
    @celery.task(
        base=JobTask, bind=True, name=kind.task_name,
        soft_time_limit=kind.soft_time_limit, time_limit=kind.time_limit,
    )  # fmt: skip
    def run_job(self, job_id: str) -> None:
        execute(
            kind,
            uuid.UUID(job_id),
            self.request.id,
            settings().database_url,
            resources(),
            _fan_out(kind),
            _dismiss,
        )
        _alert_served(kind)

    run_job.__doc__ = f"Run a {kind.name} job."
    return run_job


def _chunk_task(kind: JobKind):
    @celery.task(
        base=JobTask, name=kind.chunk_task_name,
        soft_time_limit=kind.soft_time_limit, time_limit=kind.time_limit,
    )  # fmt: skip
    def run_chunk(job_id: str, chunk_index: int) -> None:
        kind.chunk(resources(), uuid.UUID(job_id), chunk_index)
        _alert_served(kind)

    run_chunk.__doc__ = f"Run one chunk of a {kind.name} job."
    return run_chunk


JOB_TASKS = {name: _job_task(kind) for name, kind in KINDS.items()}
CHUNK_TASKS = {name: _chunk_task(kind) for name, kind in KINDS.items() if kind.chunk}
