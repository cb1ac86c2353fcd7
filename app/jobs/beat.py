"""The beat's heartbeat: the beat and its reaper leave one in the broker's Redis (when it
started, when its reaper last ran), kept a day, so readiness knows that a beat belongs to
this deployment and fails when it no longer holds its lock or the reaper stopped running
(:func:`beat_status`)."""

import time

import redis

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
