"""A one-game prediction job's cost in a worker's pool process, in process.

On ``bench/bench_queue.py``'s own stack (``var/bench-queue``, prepared by it): ``--runs``
one-game jobs are committed as the API commits them (``app.jobs.service.submit``, to a queue
that sends nothing) and each is run, one after another, by ``app.jobs.runtime.execute`` as
the predict task runs it (claim, work, finish). Prints each job's wall time and CPU time of
this process (median, p90), and with ``--profile`` a cProfile of ``--profile`` more jobs. To
compare revisions, run it from a worktree of the older one with ``PYTHONPATH`` set to it, in
turns.

Usage: ``.venv/bin/python bench/profile_job.py [--runs 300] [--profile 100]``.
"""

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_queue import GAMES, QueueBench, on_stack

from app.jobs.runtime import execute
from app.jobs.service import JobMessage, submit
from app.kinds import PREDICT, WorkerResources
from app.markets import TARGETS


class _Unsent:
    """A queue that sends nothing: the job is run here."""

    def send(self, message: JobMessage) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--profile", type=int, default=0)
    parser.add_argument("--stats", help="with --profile: also dump the cProfile stats here")
    on_stack(run, parser.parse_args())


def run(bench: QueueBench, args: argparse.Namespace) -> None:
    game_ids, _ = bench.prepare(GAMES)
    bench.truncate_jobs()
    url = bench.settings.database_url
    resources = WorkerResources(bench.settings)
    settings = bench.settings
    params = {
        "targets": list(TARGETS), "bankroll": settings.bankroll,
        "kelly_fraction": settings.kelly_fraction, "kelly_cap": settings.kelly_cap,
        "daily_exposure": settings.daily_exposure, "min_ev": settings.min_ev,
    }  # fmt: skip  # as the API's POST /api/v1/predict makes them

    def one(game_id: int) -> None:
        values = {**params, "game_ids": [game_id]}
        job = submit(url, PREDICT, values, _Unsent(), only_if_game=game_id)
        if not execute(PREDICT, job.id, job.task_id, url, resources):
            raise RuntimeError(f"job {job.id} did not run")

    for game_id in game_ids[:20]:  # caches and connections
        one(game_id)
    walls, cpus = [], []
    for game_id in game_ids[20 : 20 + args.runs]:
        wall, cpu = time.perf_counter(), time.process_time()
        one(game_id)
        cpus.append(time.process_time() - cpu)
        walls.append(time.perf_counter() - wall)
    profiler = cProfile.Profile()
    if args.profile:
        start = 20 + args.runs
        profiler.enable()
        for game_id in game_ids[start : start + args.profile]:
            one(game_id)
        profiler.disable()
    bench.truncate_jobs()

    def cell(values: list[float]) -> str:
        ms = sorted(value * 1000 for value in values)
        return f"p50 {statistics.median(ms):6.2f}  p90 {ms[int(len(ms) * 0.9) - 1]:6.2f} ms"

    print(f"{len(walls)} one-game jobs (submit + execute), load {os.getloadavg()[0]:.2f}")
    print(f"  wall {cell(walls)}")
    print(f"  cpu  {cell(cpus)}")
    if args.profile:
        if args.stats:
            profiler.dump_stats(args.stats)
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        print(out.getvalue())
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(60)
        print(out.getvalue())


if __name__ == "__main__":
    main()
