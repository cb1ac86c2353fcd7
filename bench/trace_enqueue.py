"""What one enqueue sends and computes, in process: round trips counted, the CPU profiled
(``bench/profile_enqueue.py`` clocks its layers instead).

The API app (``workers.api.create_api``, the Celery job queue) is driven by Flask's test
client on the benchmark's own stack (``var/bench-queue``, prepared by ``bench/bench_queue.py
--prepare-only``), without gunicorn: ``POST /api/v1/predict {"game_id"}`` ``--requests``
times (twice: unprofiled, for the process's CPU, then profiled). It prints, per request, the
PostgreSQL round trips and the Redis commands (``tests/round_trips.py``), the CPU, the Python
function calls, and the functions that took the time (cProfile, cumulative and own). The jobs
it makes are deleted and their messages dropped at the end.

Usage: ``.venv/bin/python bench/trace_enqueue.py [--requests N] [--top K] [--keys]``
(``--keys``: with an API key configured, so that the rate limits are counted, in limits these
requests do not reach).
"""

import argparse
import cProfile
import io
import pstats
import sys
import time
from dataclasses import replace
from pathlib import Path

import redis
from sqlalchemy import text

from app.config import Settings
from app.db.session import session_scope
from app.replay.stack import free_port
from app.stack.embedded import EmbeddedStack

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))  # for tests.round_trips

from tests.round_trips import counting  # noqa: E402

BENCH_DIR = REPO / "var" / "bench-queue"
KEY = "bench-profile-key"
UNREACHED_LIMIT = "1000000/minute"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--keys", action="store_true", help="an API key configured")
    parser.add_argument("--dump", help="write the profile (pstats) to this file")
    args = parser.parse_args()
    stack = EmbeddedStack(BENCH_DIR, free_port())
    urls = stack.start()
    try:
        settings = replace(
            Settings.from_env({}),
            var_dir=BENCH_DIR,
            api_keys={KEY: frozenset({"read", "predict"})} if args.keys else {},
            # Counted and checked, never reached by these requests.
            rate_limit_default=UNREACHED_LIMIT,
            rate_limit_submit=UNREACHED_LIMIT,
        ).with_urls(urls)
        profile(settings, args)
    finally:
        stack.stop()


def profile(settings: Settings, args: argparse.Namespace) -> None:
    from workers.api import create_api

    with session_scope(settings.database_url) as session:
        game_ids = list(
            session.scalars(
                text("SELECT id FROM games WHERE retired_at IS NULL ORDER BY id LIMIT :n"),
                {"n": args.requests},
            )
        )
    app = create_api(settings)
    headers = {"Authorization": f"Bearer {KEY}"} if args.keys else {}
    client = app.test_client()
    made = []

    def post(game_id: int) -> None:
        response = client.post("/api/v1/predict", json={"game_id": game_id}, headers=headers)
        if response.status_code != 202:
            raise RuntimeError(f"{response.status_code}: {response.get_data(as_text=True)}")
        made.append(response.get_json()["job_id"])

    for game_id in game_ids[:20]:  # connections opened, caches filled
        post(game_id)
    cpu = time.process_time()
    for game_id in game_ids:  # unprofiled: this process's CPU
        post(game_id)
    cpu = time.process_time() - cpu
    profiler = cProfile.Profile()
    with counting() as trips:
        profiler.enable()
        for game_id in game_ids:
            post(game_id)
        profiler.disable()
    if args.dump:
        profiler.dump_stats(args.dump)
    n = len(game_ids)
    print(f"{n} requests; per request:")
    for name, counter in (("PostgreSQL round trips", trips.postgres),
                          ("Redis commands", trips.redis)):  # fmt: skip
        print(f"  {name} {sum(counter.values()) / n:.2f}: "
              + ", ".join(f"{k} {v / n:.2f}" for k, v in counter.most_common()))  # fmt: skip
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    print(f"  CPU {cpu / n * 1000:.3f} ms (unprofiled); Python function calls "
          f"{stats.total_calls / n:,.0f}; under the profiler {stats.total_tt / n * 1000:.3f} ms"
          " (wall, I/O included)")  # type: ignore[attr-defined]  # fmt: skip
    stats.sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())
    with session_scope(settings.database_url) as session:
        session.execute(
            text("DELETE FROM jobs WHERE id = ANY(CAST(:ids AS uuid[]))"), {"ids": made}
        )
    redis.Redis.from_url(settings.broker_url).delete("predict")


if __name__ == "__main__":
    main()
