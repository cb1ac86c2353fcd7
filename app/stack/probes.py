"""Health probes of one component on this host, for container health checks.

Each answers "is it serving?" from the outside, the way a client would see it: an HTTP
server answers at all (any status below 500; a 401 of a locked door is still an answer),
a worker answers a Celery ping under this host's name, a beat holds RedBeat's lock.

The beat's heartbeat, which readiness reads, is ``app.jobs.beat``.
"""

import json
import logging
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable

import redis
from celery import Celery

from app.jobs.beat import BEAT_LOCK_KEY

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


def ready(url: str, timeout: float = 5.0) -> tuple[bool, str]:
    """Whether ``/health/ready`` at ``url`` answers 200, and what it says is not ready."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200, ""
    except urllib.error.HTTPError as error:
        try:
            return False, json.loads(error.read()).get("message", f"HTTP {error.code}")
        except ValueError:
            return False, f"HTTP {error.code}"
    except (urllib.error.URLError, OSError) as error:
        return False, f"no answer ({getattr(error, 'reason', error)})"


def wait_until_ready(
    probe: Callable[[], tuple[bool, str]],
    running: Callable[[], bool],
    timeout: float,
    echo: Callable[[str], None],
    interval: float = 1.0,
) -> bool:
    """Probe until ready, the stack stops running or ``timeout`` seconds pass; True when ready.
    Each new reason it is not ready is echoed once (a worker still starting, say)."""
    deadline = time.monotonic() + timeout
    said = ""
    while running():
        is_ready, reason = probe()
        if is_ready:
            return True
        if reason != said:
            echo(f"waiting for readiness: {reason}")
            said = reason
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
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
