"""Every Celery queue declared once: what runs on it and which worker process consumes it.

The Celery routes (``workers/celery_app.py``), `bullpen up`'s worker processes
(``app/stack/supervisor.py``), the workers of ``docker-compose.yml`` (checked against
:func:`compose_workers` by ``tests/unit/test_compose.py``), the default of ``bullpen worker
--queues`` and the tests' worker all read this table. A job kind names its queue in
``app/kinds.py``; the beat's own tasks are routed here by their module.

A new queue is one :class:`WorkQueue` row below (and, where its worker is a service of its
own, the matching service in ``docker-compose.yml``).
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class WorkQueue:
    """One queue: its name, the beat tasks routed to it, and who consumes it.

    ``alone``: a worker process of its own (``worker-NAME``) with ``concurrency`` processes,
    so that its long tasks never hold up the others; otherwise the shared ``worker``.
    ``scales_out``: in compose, a replicated worker of its own (``worker-NAME``, ``replicas``
    of them) rather than the shared one; `bullpen up` on one machine keeps it shared.
    """

    name: str
    tasks: tuple[str, ...] = ()  # task-name patterns of the beat's tasks routed here
    alone: bool = False
    concurrency: int | None = None
    scales_out: bool = False
    replicas: int = 1


QUEUES: tuple[WorkQueue, ...] = (
    # Predictions scale out: every replica consumes the one queue of the shared broker.
    WorkQueue("predict", scales_out=True, replicas=3, concurrency=2),
    WorkQueue("features", tasks=("tasks.features.*",)),
    WorkQueue("ingest"),
    # One training at a time, on a worker of its own: a retraining never delays a prediction.
    WorkQueue("training", tasks=("tasks.training.*",), alone=True, concurrency=1),
    # Settlement is short, idempotent database work like the reaper's: no queue of its own.
    WorkQueue("maintenance", tasks=("tasks.maintenance.*", "tasks.bets.*")),
    WorkQueue("feeds", tasks=("tasks.feeds.*",)),
)
QUEUE_NAMES: tuple[str, ...] = tuple(queue.name for queue in QUEUES)
# Where a task that names no queue goes.
DEFAULT_QUEUE = "predict"


@dataclass(frozen=True)
class WorkerProcess:
    """One kind of worker process: its name, its queues, its pool size and its replicas."""

    name: str
    queues: tuple[str, ...]
    concurrency: int | None = None
    replicas: int = 1

    def arguments(self) -> list[str]:
        """``bullpen worker``'s arguments for this process."""
        args = ["worker", "--queues", ",".join(self.queues)]
        if self.concurrency is not None:
            args += ["--concurrency", str(self.concurrency)]
        return args


def _workers(*, scale_out: bool) -> list[WorkerProcess]:
    own = [q for q in QUEUES if q.alone or (scale_out and q.scales_out)]
    shared = tuple(q.name for q in QUEUES if q not in own)
    alone = [
        WorkerProcess(f"worker-{q.name}", (q.name,), q.concurrency, q.replicas if scale_out else 1)
        for q in own
    ]
    scaled = [w for w in alone if w.replicas > 1]
    return [*scaled, WorkerProcess("worker", shared), *(w for w in alone if w not in scaled)]


def up_workers() -> list[WorkerProcess]:
    """`bullpen up`'s workers on one machine: a shared worker and one per ``alone`` queue."""
    return _workers(scale_out=False)


def compose_workers() -> list[WorkerProcess]:
    """The compose services' workers: also a replicated worker per ``scales_out`` queue."""
    return _workers(scale_out=True)
