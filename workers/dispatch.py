"""The Celery side of the outbox: how committed jobs reach the workers by their kind's task."""

import base64
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
from celery import Celery

from app.jobs.service import JobMessage
from app.kinds import KINDS

BROKER_MARKER = "bullpen:broker:alive"
BROKER_CONNECT_TIMEOUT = 2.0
# Stands for the ids while a task's message template is made.
_PLACEHOLDER = "00000000-0000-0000-0000-000000000000"


class CeleryJobQueue:
    """``app.jobs.service.JobQueue`` over Celery: a job's message is its kind's task with
    the job id as its only argument, under the task id chosen with the job.

    Given ``broker`` (a Redis client of the Celery broker; the API's), a message is its
    kind's :class:`MessageTemplate` with the ids filled in, pushed with one LPUSH: Celery's
    ``send_task`` built the same message anew each time, and kombu's publish around it made
    a Redis client per message (together a third of an enqueue's CPU). Without it,
    ``send_task``.
    """

    def __init__(self, celery: Celery, broker: redis.Redis | None = None) -> None:
        self.celery = celery
        self.queue_names = tuple(queue.name for queue in celery.conf.task_queues)
        self.broker = broker if broker is not None and _plain_redis(celery) else None
        self._templates: dict[str, MessageTemplate] = {}

    def send(self, message: JobMessage) -> None:
        task_name = KINDS[message.kind].task_name
        self._push(task_name, [(message.task_id, [str(message.job_id)])])

    def send_tasks(self, task_name: str, task_args: Sequence[list]) -> None:
        """One message of ``task_name`` per argument list (each its own task id), all in one
        LPUSH, the first to be consumed first. A fanned-out job's chunks: a group's
        ``apply_async`` took about a millisecond a message."""
        self._push(task_name, [(str(uuid.uuid4()), list(args)) for args in task_args])

    def _push(self, task_name: str, messages: Sequence[tuple[str, list]]) -> None:
        """Each (task id, args) as a message of ``task_name``, in one LPUSH (Celery's
        ``send_task`` for each without a broker client)."""
        if self.broker is None:
            for task_id, args in messages:
                self.celery.send_task(task_name, args=args, task_id=task_id)
            return
        template = self._template(task_name)
        # LPUSH puts each value at the head; kombu's BRPOP takes from the tail.
        self.broker.lpush(
            template.key, *(template.fill(task_id, *args) for task_id, args in messages)
        )

    def _template(self, task_name: str) -> "MessageTemplate":
        template = self._templates.get(task_name)
        if template is None:  # made in the process that sends (``origin`` names it)
            template = self._templates[task_name] = MessageTemplate.of(self.celery, task_name)
        return template

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


def _plain_redis(celery: Celery) -> bool:
    """Whether the broker is a Redis whose queues are lists named as the queues (no global
    key prefix), which :class:`MessageTemplate` writes to."""
    url = str(celery.conf.broker_url or "")
    options = celery.conf.broker_transport_options or {}
    return url.startswith(("redis://", "rediss://")) and not options.get("global_keyprefix")


@dataclass(frozen=True)
class MessageTemplate:
    """One task's message as Celery (task protocol 2) and kombu's Redis transport write it:
    made once by Celery's own ``as_task_v2`` and routing; per message only the task id, the
    job id and kombu's delivery tag change. ``tests/integration/jobs/test_dispatch.py``
    checks it against ``send_task``'s message field by field."""

    key: str  # the Redis list of the task's queue
    headers: dict[str, Any]
    properties: dict[str, Any]
    embed: dict[str, Any]

    @classmethod
    def of(cls, celery: Celery, task_name: str) -> "MessageTemplate":
        queue = celery.amqp.router.route({}, task_name)["queue"]
        if queue.exchange.type != "direct" or queue.max_priority:
            raise ValueError(f"{task_name}'s queue {queue.name} is not a plain direct queue")
        headers, properties, body, _ = celery.amqp.as_task_v2(
            _PLACEHOLDER,
            task_name,
            args=[_PLACEHOLDER],
            reply_to=celery.thread_oid,
            ignore_result=None,  # as send_task leaves it unset
        )
        # What kombu adds: a direct queue's message goes by the anonymous exchange to the
        # list named as its queue, persistent, at the default priority, its body in base64.
        properties = {
            **properties,
            "delivery_mode": 2,
            "delivery_info": {"exchange": "", "routing_key": queue.name},
            "priority": 0,
            "body_encoding": "base64",
        }
        return cls(queue.name, headers, properties, body[2])

    def fill(self, task_id: str, *args: Any) -> str:
        """The message of task ``task_id`` with ``args`` (a job's id; a chunk's job id and
        index), as the broker's list holds it."""
        args = list(args)
        body = json.dumps([args, {}, self.embed]).encode()
        return json.dumps(
            {
                "body": base64.b64encode(body).decode(),
                "content-encoding": "utf-8",
                "content-type": "application/json",
                "headers": {
                    **self.headers,
                    "id": task_id,
                    "root_id": task_id,
                    "argsrepr": repr(args),
                },
                "properties": {
                    **self.properties,
                    "correlation_id": task_id,
                    "delivery_tag": str(uuid.uuid4()),
                },
            }
        )
