"""Health probes of one component on this host, for container health checks.

Each answers "is it serving?" from the outside, the way a client would see it: an HTTP
server answers at all (any status below 500; a 401 of a locked door is still an answer),
a worker answers a Celery ping under this host's name, a beat holds RedBeat's lock.

The beat also leaves a heartbeat in the broker's Redis (when it started, when its reaper last
ran), kept a day: readiness then knows that a beat belongs to this deployment and fails when
it no longer holds its lock or the reaper stopped running (:func:`beat_status`).
"""

import logging
import socket
import time
import urllib.error
import urllib.request

import redis
from celery import Celery

# RedBeat keeps the schedule under this prefix; its lock is "<prefix>:lock".
REDBEAT_KEY_PREFIX = "bullpen:redbeat"
BEAT_LOCK_KEY = f"{REDBEAT_KEY_PREFIX}:lock"
# A hash {"started": unix time, "reaped": unix time}, expiring a day after its last write, so
# that a deployment whose beat was removed on purpose is ready again the next day.
BEAT_HEARTBEAT_KEY = f"{REDBEAT_KEY_PREFIX}:heartbeat"
HEARTBEAT_KEEP_SECONDS = 86_400
# The reaper counts as stopped once it has not run for this many reap intervals (and at
# least MIN_REAP_SILENCE_SECONDS): a reap can wait behind a busy maintenance queue.
REAP_SILENCE_INTERVALS = 4
MIN_REAP_SILENCE_SECONDS = 120.0

log = logging.getLogger(__name__)


def http_answers(url: str, timeout: float = 5.0) -> bool:
    """Whether ``url`` answers with a status below 500 within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status < 500
    except urllib.error.HTTPError as error:
        return error.code < 500
    except (urllib.error.URLError, OSError):
        return False


def worker_answers(broker_url: str, timeout: float = 5.0, host: str | None = None) -> bool:
    """Whether a Celery worker named ``*@host`` (this host by default) answers a ping."""
    suffix = f"@{host or socket.gethostname()}"
    control = Celery(broker=broker_url).control
    try:
        replies = control.ping(timeout=timeout) or []
    except (redis.RedisError, OSError):
        return False
    return any(name.endswith(suffix) for reply in replies for name in reply)


def beat_holds_lock(broker_url: str) -> bool:
    """Whether a beat holds RedBeat's lock, i.e. the schedules are being sent."""
    client = redis.Redis.from_url(broker_url, socket_timeout=5)
    try:
        return bool(client.exists(BEAT_LOCK_KEY))
    except redis.RedisError:
        return False
    finally:
        client.close()


def record_heartbeat(client: redis.Redis, event: str, now: float | None = None) -> None:
    """Note that the beat ``started`` or its reaper ``reaped`` now (see :func:`beat_status`)."""
    with client.pipeline() as pipe:
        pipe.hset(BEAT_HEARTBEAT_KEY, event, repr(time.time() if now is None else now))
        pipe.expire(BEAT_HEARTBEAT_KEY, HEARTBEAT_KEEP_SECONDS)
        pipe.execute()


def beat_status(client: redis.Redis, reap_interval_seconds: float, now: float | None = None) -> str:
    """A line on the beat and its reaper; raises :class:`BeatStopped` when a beat ran here in
    the last day and now holds no lock, or its reaper has not run for too long.

    No heartbeat at all means no beat in this deployment (a replay, a test, a worker-only
    host): not a failure, since nothing there expects one.
    """
    now = time.time() if now is None else now
    heartbeat = {
        key.decode(): float(value) for key, value in client.hgetall(BEAT_HEARTBEAT_KEY).items()
    }
    if not heartbeat:
        return "no beat has run here in the last day"
    since = max(heartbeat.values())
    reaped = (
        f"the reaper last ran {now - heartbeat['reaped']:.0f} s ago"
        if "reaped" in heartbeat
        else "the reaper has not run yet"
    )
    if not client.exists(BEAT_LOCK_KEY):
        raise BeatStopped(f"no beat holds the RedBeat lock ({reaped}); see the beat's log")
    silence = max(REAP_SILENCE_INTERVALS * reap_interval_seconds, MIN_REAP_SILENCE_SECONDS)
    if now - since > silence:
        raise BeatStopped(f"the beat runs but {reaped} (more than {silence:.0f} s)")
    return f"a beat holds the lock; {reaped}"


class BeatStopped(RuntimeError):
    """A beat belongs to this deployment but no longer sends its schedule or reaps."""


def wait_for_broker(broker_url: str, max_interval: float = 5.0) -> None:
    """Block until the broker accepts a connection, retrying for ever (at most ``max_interval``
    seconds apart). A component started while the broker is down then waits instead of exiting
    at once, which supervisord would count as failed starts and, after a few, give up."""
    from kombu import Connection

    def retrying(error: Exception, interval: float) -> None:
        log.warning("broker not answering (%s); trying again in %.0f s", error, interval)

    with Connection(broker_url, connect_timeout=2) as connection:
        connection.ensure_connection(
            errback=retrying, max_retries=None, interval_start=1, interval_step=1,
            interval_max=max_interval,
        )  # fmt: skip
