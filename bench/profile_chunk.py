"""Profile what ONE chunk of a prediction job costs, step by step, next to its raw floor.

A chunk is what ``app.predictions.pipeline.predict_items`` does for ``CHUNK_SIZE`` stored games:
the games' rows from SQL and their features from the Redis store, the book quotes,
``score()`` over the champions, the results' upsert, the served bets' ledger rows; then
the commit. The job here predicts every 2019 game of the bundled sample; the chunk at
``--start`` is run ``--repeats`` times, its rows and bets deleted (untimed)
before each run so that every run writes them anew, as a first delivery does; right after
each run the same rows are upserted again (``x_rewrite_upsert``, a redelivered chunk's
write, not counted in the chunk's total).

The raw floor of the same rows, measured in the same run: one Redis MGET of their keys,
each champion booster's ``predict`` over their features (one thread), and a COPY of their
payload JSON (encoded beforehand) into a plain logged table, committed.

Usage: ``BULLPEN_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/postgres
BULLPEN_FEATURE_STORE_URL=redis://127.0.0.1:6379/4 .venv/bin/python bench/profile_chunk.py``.
The first run creates the database ``--database`` on that server, ingests the sample,
stores its features and trains a champion per target (minutes; MLflow under
``var/bench-chunk``); later runs reuse it. ``--baseline REV`` runs the chunk code of an
earlier commit in turns with this tree's; ``--profile`` adds a cProfile of one chunk of each.
"""

import argparse
import cProfile
import io
import json
import os
import pstats
import statistics
import subprocess
import time
import types
import uuid
from collections import defaultdict
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlalchemy import delete, select
from sqlalchemy.engine import make_url

from app.bets import ledger
from app.bets import quotes as quotes_module
from app.bets.models import Bet
from app.bets.recommend import staking_for
from app.config import Settings
from app.db.migrate import upgrade
from app.db.session import session_scope
from app.features.serving import stored_features
from app.games.models import Game
from app.jobs.models import Job
from app.markets import TARGETS
from app.ml import predict, registry
from app.ml import prior as prior_module
from app.ml.models import Prediction
from app.ml.registry import ChampionCache
from app.predictions import pipeline, results
from app.predictions.jobs import CHUNK_SIZE
from app.stack.bootstrap import bootstrap

SEASON = 2019


def prepared_settings(server_url: str, database: str, feature_store_url: str) -> Settings:
    """Settings of the bench database, created, migrated and bootstrapped when missing."""
    server = make_url(server_url)
    admin = sa.create_engine(server.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": database}
        )
        if not exists:
            conn.execute(sa.text(f'CREATE DATABASE "{database}"'))
    admin.dispose()
    url = server.set(database=database).render_as_string(hide_password=False)
    upgrade(url)
    var_dir = Path("var/bench-chunk").resolve()
    var_dir.mkdir(parents=True, exist_ok=True)
    settings = replace(
        Settings.from_env({}),
        database_url=url,
        feature_store_url=feature_store_url,
        mlflow_tracking_uri=f"sqlite:///{var_dir / 'mlflow.db'}",
        var_dir=var_dir,
    )
    bootstrap(settings, say=print)  # a no-op once everything is in place
    return settings


class Steps:
    """Wall time per named step, over repeated runs."""

    def __init__(self) -> None:
        self.times: dict[str, list[float]] = defaultdict(list)
        self._last = 0.0

    def start(self) -> None:
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.times[name].append(now - self._last)
        self._last = now


@dataclass(frozen=True)
class Code:
    """The chunk's functions of one revision: this tree's, or an earlier commit's."""

    name: str
    predict: types.ModuleType
    ledger: types.ModuleType
    quotes: types.ModuleType
    prior: types.ModuleType  # its predict_probability serves LoadedModel.predict


def current_code() -> Code:
    # This tree's chunk steps under the names an earlier ``app/ml/predict.py`` gave them.
    steps = types.SimpleNamespace(
        _stored_features=stored_features, score=pipeline.score, _upsert=results.write_results
    )
    return Code("this tree", steps, ledger, quotes_module, prior_module)


def code_at(revision: str) -> Code:
    """The chunk's modules as they were at ``revision`` (loaded from git, not imported)."""
    modules = {}
    for name, path in (
        ("prior", "app/ml/prior.py"),
        ("ledger", "app/bets/ledger.py"),
        ("quotes", "app/bets/quotes.py"),
        ("predict", "app/ml/predict.py"),
    ):
        source = subprocess.run(
            ["git", "show", f"{revision}:{path}"], capture_output=True, text=True, check=True
        ).stdout
        module = types.ModuleType(f"bench_{revision}_{name}")
        exec(compile(source, f"{revision}:{path}", "exec"), module.__dict__)
        modules[name] = module
    return Code(
        revision, modules["predict"], modules["ledger"], modules["quotes"], modules["prior"]
    )


def run_chunk(code: Code, settings, store, models, staking, job_id, start, chunk, steps: Steps):
    """``predict_items`` for stored games, timed step by step."""
    predict, ledger = code.predict, code.ledger
    registry.predict_probability = code.prior.predict_probability
    steps.start()
    with session_scope(settings.database_url) as session:
        games, features = predict._stored_features(session, store, chunk)
        steps.lap("stored_features")
        by_game = code.quotes.book_quotes(session, chunk)
        quotes = [by_game.get(game_id, {}) for game_id in chunk]
        steps.lap("book_quotes")
        payloads = predict.score(
            games,
            features,
            models,
            staking.bankroll,
            list(chunk),
            staking=staking,
            quotes=quotes,
            max_ece=settings.max_ece,
        )
        steps.lap("score")
        keys = [str(game_id) for game_id in chunk]
        indexes = list(range(start, start + len(chunk)))
        ids = predict._upsert(session, job_id, indexes, keys, list(chunk), payloads)
        steps.lap("upsert")
        ledger.record_served_bets(
            session,
            [
                ledger.StoredPrediction(ids[key], game_id, payload)
                for key, game_id, payload in zip(keys, chunk, payloads, strict=True)
            ],
        )
        steps.lap("record_served_bets")
    steps.lap("commit")
    with session_scope(settings.database_url) as session:
        predict._upsert(session, job_id, indexes, keys, list(chunk), payloads)
    steps.lap("x_rewrite_upsert")
    return payloads


def forget(settings, job_id, chunk) -> None:
    """Delete the chunk's predictions and their bets, so that the next run writes them anew."""
    keys = [str(game_id) for game_id in chunk]
    written = select(Prediction.id).where(
        Prediction.job_id == job_id, Prediction.item_key.in_(keys)
    )
    with session_scope(settings.database_url) as session:
        session.execute(delete(Bet).where(Bet.prediction_id.in_(written)))
        session.execute(
            delete(Prediction).where(Prediction.job_id == job_id, Prediction.item_key.in_(keys))
        )


def raw_floor(settings, store, models, chunk, payloads, steps: Steps) -> None:
    """MGET of the chunk's keys, each booster's predict, COPY of the payload JSON (committed)."""
    keys = [store.key(game_id) for game_id in chunk]
    encoded = [json.dumps(payload) for payload in payloads]
    engine = sa.create_engine(settings.database_url)
    with engine.connect() as conn:
        raw = conn.connection.driver_connection
        # A plain table, logged like ``predictions``: the floor pays the same WAL and fsync.
        raw.execute("CREATE TABLE IF NOT EXISTS bench_floor_rows (item_key text, payload jsonb)")
        raw.execute("TRUNCATE bench_floor_rows")
        raw.commit()
        steps.start()
        blobs = store.redis.mget(keys)
        steps.lap("floor_mget")
        features = store._decode_many(np.asarray(chunk, dtype=np.int64), blobs).values
        for model in models.values():
            model.booster.predict(features, num_threads=1)
        steps.lap("floor_predict")
        with (
            raw.cursor() as cursor,
            cursor.copy("COPY bench_floor_rows (item_key, payload) FROM STDIN") as copy,
        ):
            for game_id, text in zip(chunk, encoded, strict=True):
                copy.write_row((str(game_id), text))
        raw.commit()
        steps.lap("floor_copy")
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="bullpen_bench_chunk")
    parser.add_argument("--size", type=int, default=CHUNK_SIZE)
    parser.add_argument("--start", type=int, default=2000, help="index of the profiled chunk")
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--max-ece", type=float, default=0.10, help="lenient: bets get served")
    parser.add_argument(
        "--bets-enabled", action="store_true", help="every champion bets on its edge (many bets)"
    )
    parser.add_argument(
        "--baseline", metavar="REV", help="also run the chunk code of this git revision, in turns"
    )
    parser.add_argument("--profile", action="store_true", help="also cProfile one chunk")
    args = parser.parse_args()

    settings = prepared_settings(
        os.environ["BULLPEN_DATABASE_URL"], args.database, os.environ["BULLPEN_FEATURE_STORE_URL"]
    )
    settings = replace(settings, max_ece=args.max_ece)
    codes = [current_code(), *([code_at(args.baseline)] if args.baseline else [])]
    store = predict.open_feature_store(settings)
    models = predict.champions_for(ChampionCache(settings), list(TARGETS))
    if args.bets_enabled:
        models = {target: replace(model, bets_enabled=True) for target, model in models.items()}
    staking = staking_for({}, settings)
    with session_scope(settings.database_url) as session:
        ids = list(
            session.scalars(
                select(Game.id).where(Game.season == SEASON).order_by(Game.game_date, Game.id)
            )
        )
        job = Job(
            id=uuid.uuid4(),
            kind="predict",
            status="running",
            params={"game_ids": ids, "targets": list(TARGETS)},
            progress_total=len(ids),
        )
        session.add(job)
    start = min(args.start, len(ids) - args.size)
    chunk = ids[start : start + args.size]
    context = (settings, store, models, staking, job.id)
    steps = {code.name: Steps() for code in codes}
    floor = Steps()
    try:
        payloads = run_chunk(codes[0], *context, start, chunk, Steps())
        for _ in range(args.repeats):
            for code in codes:
                forget(settings, job.id, chunk)
                run_chunk(code, *context, start, chunk, steps[code.name])
            raw_floor(settings, store, models, chunk, payloads, floor)
        profiles = {}
        for code in codes if args.profile else []:
            forget(settings, job.id, chunk)
            profiles[code.name] = profiler = cProfile.Profile()
            profiler.enable()
            run_chunk(code, *context, start, chunk, Steps())
            profiler.disable()
        with session_scope(settings.database_url) as session:
            served = session.scalar(
                select(sa.func.count(Bet.bet_id))
                .join(Prediction, Prediction.id == Bet.prediction_id)
                .where(Prediction.job_id == job.id, Prediction.item_key.in_(map(str, chunk)))
            )
    finally:
        with session_scope(settings.database_url) as session:
            session.execute(
                delete(Bet).where(
                    Bet.prediction_id.in_(select(Prediction.id).where(Prediction.job_id == job.id))
                )
            )
            session.execute(delete(Job).where(Job.id == job.id))
    print(
        f"chunk of {len(chunk)} stored {SEASON} games at item {start}; champions "
        f"{', '.join(f'{t} v{m.version}' for t, m in models.items())}; "
        f"max_ece {args.max_ece}; bets_enabled forced: {args.bets_enabled}; {served} served "
        f"bets in the chunk; {args.repeats} runs in turns, medians in ms (min)"
    )
    _report(steps, floor)
    for name, profiler in profiles.items():
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(25)
        stats.sort_stats("tottime").print_stats(15)
        print(f"cProfile of one chunk, {name} (x_rewrite_upsert included)\n{out.getvalue()}")


def _report(steps: dict[str, Steps], floor: Steps) -> None:
    def cell(values: list[float]) -> str:
        return f"{statistics.median(values) * 1000:7.1f} ({min(values) * 1000:6.1f})"

    names = list(steps)
    print(f"  {'step':<26}" + "".join(f"{name:>20}" for name in names))
    totals = {}
    for name in next(iter(steps.values())).times:
        print(f"  {name:<26}" + "".join(f"{cell(steps[n].times[name]):>20}" for n in names))
    for code, timed in steps.items():
        counted = [values for name, values in timed.times.items() if not name.startswith("x_")]
        totals[code] = [sum(run) for run in zip(*counted, strict=True)]
    print(f"  {'chunk total':<26}" + "".join(f"{cell(totals[n]):>20}" for n in names))
    for name, values in floor.times.items():
        print(f"  {name:<26}{cell(values):>20}")
    floor_total = [sum(run) for run in zip(*floor.times.values(), strict=True)]
    print(f"  {'raw floor total':<26}{cell(floor_total):>20}")
    ratios = "".join(
        f"{statistics.median(totals[n]) / statistics.median(floor_total):>20.2f}" for n in names
    )
    print(f"  {'chunk total / raw floor':<26}" + ratios)


if __name__ == "__main__":
    main()
