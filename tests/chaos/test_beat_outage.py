"""The beat under supervisord, as ``bullpen up`` runs it, outlives a broker outage of any
length, and readiness reports a beat that stopped.

Seen in the soak (README "Soak"): a broker down 84 s made the beat exit, its four quick
restarts failed while the broker was still down and supervisord gave it up (FATAL); the
reaper never ran again, 61 jobs submitted during the outage stayed queued, and
``/health/ready`` still answered 200. Whether a failed start counts as quick depends on how
long the beat takes to start and fail (more than supervisord's 10 s on a loaded machine), so
the test holds the beat to what the fix guarantees whatever the timing: it exits once when the
broker goes, then waits for it in one process, instead of a restart after every failed start.
"""

import os
import signal
import time
import uuid

import pytest
import redis

from app.jobs.beat import BEAT_LOCK_KEY
from app.stack.supervisor import Ports, Supervisor, component_commands
from tests.chaos.conftest import ChaosStack

pytestmark = pytest.mark.chaos

# Longer than supervisord's quick restarts last (4 retries, 1 + 2 + 3 + 4 s of backoff).
OUTAGE_SECONDS = 45
DURING_OUTAGE = 20


def _wait(what: str, condition, timeout: float) -> float:
    """Wait until ``condition()`` holds; the seconds it took."""
    begun = time.monotonic()
    while not condition():
        assert time.monotonic() - begun < timeout, f"{what} not within {timeout} s"
        time.sleep(0.5)
    return time.monotonic() - begun


def _lock_held(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).exists(BEAT_LOCK_KEY))
    except redis.RedisError:
        return False


def test_the_beat_and_reaper_outlive_a_long_broker_outage(chaos: ChaosStack, tmp_path):
    chaos.stop_beat(signal.SIGTERM)  # this test's beat is supervisord's
    commands = {"beat": component_commands(chaos.settings, Ports())["beat"]}
    supervisor = Supervisor(commands, {**os.environ, **chaos.settings.as_env()}, tmp_path)
    supervisor.start()
    client = chaos.client()
    game_ids = chaos.game_ids(2019)
    try:
        _wait("the beat's lock", lambda: _lock_held(chaos.broker.url), 60)
        _wait("readiness", lambda: client.get("/health/ready").status_code == 200, 60)

        chaos.broker.kill()
        down = time.monotonic()
        submitted = [client.post("/api/v1/predict", json={"game_id": game_ids[i]})
                     for i in range(DURING_OUTAGE)]  # fmt: skip
        job_ids = [uuid.UUID(response.get_json()["job_id"]) for response in submitted]
        states_seen: set[str] = set()
        pids: set[int] = {supervisor.pids()["beat"]}
        while time.monotonic() - down < OUTAGE_SECONDS:
            states_seen |= set(supervisor.states().values())
            pids.add(supervisor.pids()["beat"])
            time.sleep(0.5)
        chaos.broker.start()  # empty: the lock and every message are gone
        back = time.monotonic()

        lock_after = _wait("the beat's lock again", lambda: _lock_held(chaos.broker.url), 60)
        statuses = chaos.wait_finished(job_ids, timeout=300)
        sent_after = time.monotonic() - back
        ready_after = _wait(
            "readiness again", lambda: client.get("/health/ready").status_code == 200, 120
        )
        states_seen |= set(supervisor.states().values())
        chaos.note(
            f"broker down {OUTAGE_SECONDS} s: beat states {sorted(states_seen)}, "
            f"{len(pids - {0}) - 1} restart(s) during it, its lock back "
            f"{lock_after:.1f} s after the broker, the {DURING_OUTAGE} jobs of the outage "
            f"{statuses} {sent_after:.0f} s after it, ready after {ready_after:.1f} s more"
        )
        assert {response.status_code for response in submitted} == {202}
        assert "FATAL" not in states_seen
        assert len(pids - {0}) <= 2  # the beat that lost the broker and the one waiting for it
        assert supervisor.states() == {"beat": "RUNNING"}
        assert statuses == {"succeeded": DURING_OUTAGE}

        # A beat that stopped (its lock released at once by SIGTERM) is not ready.
        supervisor.stop()
        response = client.get("/health/ready")
        assert response.status_code == 503
        assert response.get_json()["not_ready"] == ["beat"]
    finally:
        supervisor.stop()
        chaos.start_beat()
