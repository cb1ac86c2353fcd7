"""Where a single prediction's time goes, from its POST to the client holding its results.

On ``bench/bench_queue.py``'s stack (``var/bench-queue``, prepared by a run of it): the API
and one prediction worker of 2 processes, as that bench starts them. ``--runs`` one-game jobs
one after another, each POSTed, long-polled (``?wait=5``) and its results fetched, as
``bench_queue.py``'s single submit -> result. Each job's time is split with the client's
clock, the job's own timestamps (``created_at``; ``started_at``, the claim; ``finished_at``,
the start of the transaction that writes its results) and Celery's task events (the worker's
main process received the message; a pool process started the task; it succeeded), all on
this machine's clock. Prints p50, p90, p99 and max of each part, and the slowest runs.

Usage: ``BULLPEN_BENCH_DATA=/nonexistent .venv/bin/python bench/profile_single.py``.
"""

import argparse
import contextlib
import os
import statistics
import threading
import time
from pathlib import Path

from bench_queue import BENCH_DIR, DEFAULT_DATA, GAMES, Client, QueueBench, _submit_one, _wait_job
from sqlalchemy import text

from app.db.session import session_scope

PARTS = (
    "POST",
    "created -> received (worker's main process)",
    "received -> task started (pool process)",
    "task started -> claimed",
    "claimed -> the work's transaction began",
    "that transaction -> task succeeded",
    "task succeeded -> long poll answered",
    "results GET",
    "total",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=100)
    args = parser.parse_args()
    bench = QueueBench(BENCH_DIR, Path(os.environ.get("BULLPEN_BENCH_DATA", DEFAULT_DATA)))
    try:
        bench.start_stack()
        game_ids, _ = bench.prepare(GAMES)
        bench.start_api()
        bench.start_worker(2)
        bench.wait_ready()
        bench.warm_up(game_ids, 2)
        events = _task_events(bench)
        runs = _runs(bench, game_ids[-args.runs :])
        time.sleep(1)  # the last task events
        _report(bench, runs, events)
    finally:
        bench.stop()


def _task_events(bench: QueueBench) -> dict[str, dict[str, float]]:
    """{task id: {event type: timestamp}}, filled by a thread for the rest of the run."""
    events: dict[str, dict[str, float]] = {}
    celery = bench.celery()

    def record(event: dict) -> None:
        if "uuid" in event:
            events.setdefault(event["uuid"], {})[event["type"]] = event["timestamp"]

    def capture() -> None:
        with contextlib.suppress(Exception), celery.connection() as connection:
            # Until the stack stops (the broker going away ends it)
            receiver = celery.events.Receiver(connection, handlers={"*": record})
            receiver.capture(limit=None, timeout=None, wakeup=True)

    threading.Thread(target=capture, daemon=True).start()
    time.sleep(2)
    return events


def _runs(bench: QueueBench, game_ids: list[int]) -> list[tuple[str, float, float, float, float]]:
    """(job id, before the POST, its answer, the poll's answer, the results' answer) each."""
    client = Client(bench.api_port)
    runs = []
    for game_id in game_ids:
        posted = time.time()
        job_id = _submit_one(client, game_id)
        answered = time.time()
        job = _wait_job(client, job_id, wait=5)
        polled = time.time()
        client.request("GET", job["results_url"])
        runs.append((job_id, posted, answered, polled, time.time()))
        time.sleep(0.05)
    client.close()
    return runs


def _report(bench: QueueBench, runs: list, events: dict) -> None:
    with session_scope(bench.settings.database_url) as session:
        jobs = {
            str(row.id): row
            for row in session.execute(
                text(
                    "SELECT id, task_id, extract(epoch FROM created_at) AS created,"
                    " extract(epoch FROM started_at) AS started,"
                    " extract(epoch FROM finished_at) AS finished"
                    " FROM jobs WHERE id = ANY(:ids)"
                ),
                {"ids": [run[0] for run in runs]},
            )
        }
    split = []
    for job_id, posted, answered, polled, fetched in runs:
        job = jobs[job_id]
        task = events.get(job.task_id, {})
        if not {"task-received", "task-started", "task-succeeded"} <= set(task):
            continue
        created, started, finished = float(job.created), float(job.started), float(job.finished)
        split.append(
            (
                answered - posted,
                task["task-received"] - created,
                task["task-started"] - task["task-received"],
                started - task["task-started"],
                finished - started,
                task["task-succeeded"] - finished,
                polled - task["task-succeeded"],
                fetched - polled,
                fetched - posted,
            )
        )
    print(f"{len(split)} of {len(runs)} runs with every task event; load average {os.getloadavg()}")
    for i, part in enumerate(PARTS):
        ms = sorted(parts[i] * 1000 for parts in split)
        p99 = ms[max(0, round(len(ms) * 0.99) - 1)]
        print(
            f"  {part:45s} p50 {statistics.median(ms):7.2f}  p90 {ms[int(len(ms) * 0.9) - 1]:7.2f}"
            f"  p99 {p99:7.2f}  max {ms[-1]:7.2f} ms"
        )
    for parts in sorted(split, key=lambda parts: parts[-1])[-3:]:
        named = zip(PARTS, parts, strict=True)
        print("  slowest: " + ", ".join(f"{part} {value * 1000:.1f}" for part, value in named))


if __name__ == "__main__":
    main()
