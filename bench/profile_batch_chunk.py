"""One chunk of the bench's batch, through the real ``predict_chunk``, step by step.

On ``bench/bench_queue.py``'s own stack (``var/bench-queue``, prepared by it): a job over the
batch's games is planned as a worker plans it (``chunk_by_date``), and the chunk ``--chunk``
is written ``--repeats`` times by ``app.predictions.jobs.predict_chunk``, its rows, bets and
done mark undone (untimed) before each run, as a first delivery finds them. Each step of
``app.predictions.pipeline`` that this code has (``stored_features`` or
``stored_game_rows``, ``book_quotes``/``open_quotes``, ``score``, ``write_results``,
``record_served_bets``, ``_mark_done``) is timed where the chunk calls it; the rest of the
chunk (its transaction, its job's and chunk's reads, the commit) is ``other``. To compare
revisions, run it from a worktree of the older one with ``PYTHONPATH`` set to it, in turns.
``--dump FILE`` writes the chunk's payloads (timestamps aside) and bets, to compare revisions
byte for byte; ``--profile`` adds a cProfile of one more run.

Usage: ``.venv/bin/python bench/profile_batch_chunk.py [--chunk 1] [--repeats 9]``.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import sys
import time
import uuid
from collections import defaultdict
from pathlib import Path

from sqlalchemy import delete, select, update

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_queue import QueueBench, on_stack

from app.bets.models import Bet
from app.db.session import session_scope
from app.jobs.models import Job, JobChunk
from app.kinds import WorkerResources
from app.markets import TARGETS
from app.ml.models import Prediction
from app.ml.predict import champions_for, model_refs
from app.predictions import jobs, pipeline

STEPS = {
    pipeline: ("stored_features", "stored_game_rows", "book_quotes", "open_quotes", "score",
               "write_results", "record_served_bets"),
    jobs: ("_mark_done",),
}  # fmt: skip


def timed_steps() -> dict[str, list[float]]:
    """Wrap each step this revision has; their wall times, by name (an outer step's time
    includes an inner one's: ``open_quotes`` calls ``book_quotes``)."""
    times: dict[str, list[float]] = defaultdict(list)
    for module, names in STEPS.items():
        for name in names:
            original = getattr(module, name, None)
            if original is None:
                continue

            def wrapper(*args, _original=original, _name=name, **kwargs):
                start = time.perf_counter()
                try:
                    return _original(*args, **kwargs)
                finally:
                    times[_name].append(time.perf_counter() - start)

            setattr(module, name, wrapper)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chunk", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--dump", help="write the chunk's payloads and bets (JSON) here")
    parser.add_argument("--profile", action="store_true")
    on_stack(run, parser.parse_args())


def run(bench: QueueBench, args: argparse.Namespace) -> None:
    game_ids, _ = bench.prepare(10_000)
    settings = bench.settings
    resources = WorkerResources(settings)
    models = champions_for(resources.champions, list(TARGETS))
    job_id = uuid.uuid4()
    with session_scope(settings.database_url) as session:
        session.add(Job(id=job_id, kind="predict", status="running",
                        params={"game_ids": game_ids, "targets": list(TARGETS)},
                        progress_total=len(game_ids),
                        result={"models": model_refs(models)}))  # fmt: skip
    items = jobs.Items.of({"game_ids": game_ids})
    with session_scope(settings.database_url) as session:
        chunks = jobs.chunk_by_date(jobs.item_dates(session, items), jobs.CHUNK_SIZE)
        session.add_all(
            JobChunk(job_id=job_id, chunk_index=i, items=c) for i, c in enumerate(chunks)
        )

    def undo() -> None:
        with session_scope(settings.database_url) as session:
            written = select(Prediction.id).where(Prediction.job_id == job_id)
            session.execute(delete(Bet).where(Bet.prediction_id.in_(written)))
            session.execute(delete(Prediction).where(Prediction.job_id == job_id))
            session.execute(update(JobChunk).where(JobChunk.job_id == job_id).values(done_at=None))
            session.execute(update(Job).where(Job.id == job_id).values(progress_done=0))

    try:
        steps = timed_steps()
        jobs.predict_chunk(resources, job_id, args.chunk)  # caches filled
        steps.clear()
        totals = []
        for _ in range(args.repeats):
            undo()
            start = time.perf_counter()
            if not jobs.predict_chunk(resources, job_id, args.chunk):
                raise RuntimeError("the chunk was skipped")
            totals.append(time.perf_counter() - start)
        profiler = cProfile.Profile()
        if args.profile:
            undo()
            profiler.enable()
            jobs.predict_chunk(resources, job_id, args.chunk)
            profiler.disable()
        with session_scope(settings.database_url) as session:
            payloads = session.execute(
                select(Prediction.item_key, Prediction.payload)
                .where(Prediction.job_id == job_id)
                .order_by(Prediction.item_index)
            ).all()
            bets = session.execute(
                select(Bet.game_id, Bet.market, Bet.side, Bet.book, Bet.odds, Bet.stake,
                       Bet.strategy, Bet.paper)
                .join(Prediction, Prediction.id == Bet.prediction_id)
                .where(Prediction.job_id == job_id)
                .order_by(Bet.game_id, Bet.market, Bet.strategy)
            ).all()  # fmt: skip
    finally:
        with session_scope(settings.database_url) as session:
            written = select(Prediction.id).where(Prediction.job_id == job_id)
            session.execute(delete(Bet).where(Bet.prediction_id.in_(written)))
            session.execute(delete(Job).where(Job.id == job_id))
    if args.dump:
        kept = [[key, {k: v for k, v in p.items() if k != "prediction_timestamp"}]
                for key, p in payloads]  # fmt: skip
        with open(args.dump, "w") as out:
            json.dump({"payloads": kept, "bets": [list(map(str, b)) for b in bets]}, out,
                      sort_keys=True)  # fmt: skip
    size = len(chunks[args.chunk])
    print(f"chunk {args.chunk} of {len(chunks)} ({size} games), {len(bets)} bets; "
          f"{args.repeats} runs; load {os.getloadavg()[0]:.2f}; median (min) ms:")  # fmt: skip

    def cell(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:6.1f} ({min(values) * 1000:5.1f})"

    outer = {name: values[-args.repeats :] for name, values in steps.items()}
    nested = {"book_quotes"} if "open_quotes" in outer else set()
    counted = [values for name, values in outer.items() if name not in nested]
    other = [total - sum(run) for total, *run in zip(totals, *counted, strict=True)]
    for name, values in outer.items():
        print(f"  {name:<20} {cell(values)}")
    print(f"  {'other':<20} {cell(other)}")
    print(f"  {'chunk total':<20} {cell(totals)}")
    if args.profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(20)
        print(out.getvalue())


if __name__ == "__main__":
    main()
