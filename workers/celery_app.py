"""The Celery application. ``celery -A workers.celery_app`` finds ``celery`` here.

Creating the app connects to nothing; the broker is first contacted when a
worker starts or a task is sent.
"""

from celery import Celery
from kombu import Exchange, Queue

from app.bets.strategies import check_settings
from app.config import Settings
from app.jobs.beat import REDBEAT_KEY_PREFIX
from app.kinds import KINDS
from app.queues import DEFAULT_QUEUE, QUEUE_NAMES, QUEUES
from workers import (
    broker,
    signals,  # noqa: F401 - connects the worker signal handlers
)
from workers.beat import beat_schedule

broker.install()  # kombu's Redis transport with one client per channel (workers.broker)

# Job tasks go to their kind's queue (app/kinds.py); the beat's tasks by module (app/queues.py).
TASK_ROUTES = {
    **{kind.task_name: {"queue": kind.queue} for kind in KINDS.values()},
    **{kind.chunk_task_name: {"queue": kind.queue} for kind in KINDS.values() if kind.chunk},
    **{pattern: {"queue": queue.name} for queue in QUEUES for pattern in queue.tasks},
}


def make_celery(settings: Settings | None = None) -> Celery:
    """Build the Celery app for ``settings`` (the environment when omitted)."""
    settings = settings or Settings.from_env()
    check_settings(settings)  # a bad strategy stops the worker at start, not each settlement
    app = Celery(
        "bullpen",
        broker=settings.broker_url,
        include=[
            "tasks.jobs",
            "tasks.features",
            "tasks.training",
            "tasks.maintenance",
            "tasks.feeds",
            "tasks.bets",
        ],
    )
    app.conf.update(
        # Never pickle: a message is data, not code.
        task_serializer="json",
        result_serializer="json",
        accept_content=["json"],
        # Job state lives in PostgreSQL; Celery's result backend would be a second truth.
        task_ignore_result=True,
        # A task is acknowledged only once it finished, and re-queued if its worker died,
        # so a crash never loses a job; tasks are idempotent to make the redelivery safe.
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # Long tasks must not hoard prefetched messages that another worker could run.
        worker_prefetch_multiplier=1,
        # An exchange and routing key of its own per queue, so no binding is ever shared.
        task_queues=[
            Queue(name, Exchange(name, type="direct"), routing_key=name) for name in QUEUE_NAMES
        ],
        task_default_queue=DEFAULT_QUEUE,
        task_default_exchange=DEFAULT_QUEUE,
        task_default_routing_key=DEFAULT_QUEUE,
        task_routes=TASK_ROUTES,
        # Every task is bounded; individual tasks set tighter limits.
        task_soft_time_limit=600,
        task_time_limit=660,
        # Redelivery of an unacknowledged message after this long; longer than any task.
        broker_transport_options={"visibility_timeout": 3600},
        # Publishing must fail fast when the broker is down: the job stays in the
        # outbox and the reaper sends it later.
        broker_connection_timeout=2,
        # Nor wait without end for a connection of the pool (none free: every one busy or
        # stuck on a broker that went away): it fails, and the outbox keeps the job.
        broker_pool_acquire_timeout=5,
        broker_connection_retry_on_startup=True,
        task_publish_retry_policy={
            "max_retries": 2,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
        },
        # A pool child is replaced once its resident memory passed this (KiB) after a task:
        # pandas, LightGBM and MLflow leave memory fragmented or cached in a long-lived
        # process (a training task peaks at hundreds of MB). Bounded by memory rather than by
        # a small count of tasks: a replacement costs a fork, the imports and the champions'
        # load from MLflow (seconds), which a one-game prediction job must not pay every 100
        # jobs; the count stays as a backstop for slow growth.
        worker_max_memory_per_child=1_048_576,
        worker_max_tasks_per_child=10_000,
        worker_send_task_events=True,
        task_send_sent_event=True,
        beat_schedule=beat_schedule(settings.reap_interval_seconds),
        # Exactly one beat: RedBeat keeps the schedule in the broker's Redis and holds a lock
        # there; a second beat waits on the lock (taking over within the lock timeout if the
        # first dies) instead of sending every scheduled task a second time.
        beat_scheduler="redbeat.RedBeatScheduler",
        redbeat_redis_url=settings.broker_url,
        redbeat_key_prefix=REDBEAT_KEY_PREFIX,
        beat_max_loop_interval=5,
        redbeat_lock_timeout=30,
        # Our JSON log lines, not Celery's plain-text format (workers.signals).
        worker_hijack_root_logger=False,
        timezone="UTC",
    )
    return app


celery = make_celery()
