"""Under gevent's monkey-patching (the API's worker class) PostgreSQL and Redis calls yield:
twenty one-second waits take about one second, not twenty."""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from app.config import Settings

pytestmark = pytest.mark.integration

PROBE = textwrap.dedent(
    """
    from gevent import monkey

    monkey.patch_all()
    import json, sys, time

    import gevent, redis
    from sqlalchemy import text

    from app.db.session import session_scope

    database_url, broker_url = sys.argv[1:3]

    def sleep_in_postgres():
        with session_scope(database_url) as session:
            session.execute(text("SELECT pg_sleep(1)"))

    def block_in_redis():
        redis.Redis.from_url(broker_url).blpop("bullpen-test-nothing-here", timeout=1)

    took = {}
    for name, call, count in (("postgres", sleep_in_postgres, 10), ("redis", block_in_redis, 20)):
        started = time.monotonic()
        gevent.joinall([gevent.spawn(call) for _ in range(count)], raise_error=True)
        took[name] = time.monotonic() - started
    print(json.dumps(took))
    """
)


def test_postgres_and_redis_waits_are_cooperative_under_gevent(settings: Settings) -> None:
    # Ten at once: the engine's pool (5 + 5 overflow) serves them all in one round.
    probe = subprocess.run(
        [sys.executable, "-c", PROBE, settings.database_url, settings.broker_url],
        capture_output=True, text=True, timeout=120, env=os.environ.copy(), check=True,
    )  # fmt: skip
    took = json.loads(probe.stdout.strip().splitlines()[-1])

    # Cooperative: about 1 s each; serialised they would take 10 s and 20 s. Half of that
    # leaves a loaded machine room and still tells the two apart.
    assert took["postgres"] < 5, took
    assert took["redis"] < 5, took
