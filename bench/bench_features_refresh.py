"""Benchmark refreshing the features of a full season, end to end.

One refresh = ``refresh_features(session, store, season=Y)``: read the season's games,
odds, line snapshots and splits from PostgreSQL, compute every feature, write every
game's vector to Redis. Prints the median (and min/max) of ``REPEATS`` refreshes, and
the share of one refresh spent in the pure computation.

Usage: ``.venv/bin/python bench/bench_features_refresh.py [SEASON]``. With
``BULLPEN_DATABASE_URL`` and ``BULLPEN_FEATURE_STORE_URL`` set it uses those (the season
must be stored; default: the latest); otherwise it starts a throw-away embedded
PostgreSQL and Redis in a temporary folder and ingests the bundled sample first (not
timed). Only the benchmark's own feature-set keys are written and deleted.
"""

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import redis
from sqlalchemy import func, select

from app.config import Settings
from app.db.migrate import upgrade
from app.db.session import session_scope
from app.features.definitions import FEATURE_SET
from app.features.featureset import FeatureSet
from app.features.loading import load_snapshots_frame, load_splits_frame
from app.features.pipeline import build_features
from app.features.refresh import refresh_features
from app.features.store import FeatureStore
from app.games.models import Game
from app.games.queries import load_games_frame

REPEATS = 7


def ingest_sample(database_url: str, sample_dir: Path) -> None:
    from app.ingest.sources import ingest

    with session_scope(database_url) as session:
        ingest(session, "sbro", sorted(sample_dir.glob("mlb-odds-*.xlsx")))
        ingest(session, "retrosheet", sorted(sample_dir.glob("GL*.TXT.gz")))


def run(database_url: str, feature_store_url: str, season: int | None) -> None:
    with session_scope(database_url) as session:
        season = season or session.scalar(select(func.max(Game.season)))
        games = session.scalar(select(func.count(Game.id)).where(Game.season == season))
    client = redis.Redis.from_url(feature_store_url)
    bench_set = FeatureSet(
        f"bench-{uuid.uuid4().hex[:8]}", FEATURE_SET.version, FEATURE_SET.features
    )
    store = FeatureStore(client, bench_set)
    timings, compute = [], []
    try:
        for _ in range(REPEATS):
            start = time.perf_counter()
            with session_scope(database_url) as session:
                count = refresh_features(session, store, season=season)
            timings.append(time.perf_counter() - start)
        with session_scope(database_url) as session:
            targets = load_games_frame(session, seasons=[season])
            snapshots = load_snapshots_frame(session, seasons=[season])
            splits = load_splits_frame(session, seasons=[season])
        for _ in range(REPEATS):
            start = time.perf_counter()
            build_features(targets, targets, bench_set, snapshots=snapshots, splits=splits)
            compute.append(time.perf_counter() - start)
    finally:
        keys = list(client.scan_iter(match=f"features:{bench_set.name}:*", count=1000))
        for start in range(0, len(keys), 1000):
            client.delete(*keys[start : start + 1000])
        client.close()
    print(
        f"season {season}: {games:,} games, {len(snapshots):,} line snapshots, "
        f"{len(splits):,} splits; {len(bench_set)} features; {REPEATS} runs"
    )
    print(
        "refresh end to end (PostgreSQL -> features -> Redis): "
        f"median {statistics.median(timings):.2f} s "
        f"(min {min(timings):.2f}, max {max(timings):.2f}); {count:,} games written"
    )
    print(f"build_features alone: median {statistics.median(compute):.2f} s")


def main() -> None:
    season = int(sys.argv[1]) if len(sys.argv) > 1 else None
    database_url = os.environ.get("BULLPEN_DATABASE_URL")
    feature_store_url = os.environ.get("BULLPEN_FEATURE_STORE_URL")
    if database_url and feature_store_url:
        run(database_url, feature_store_url, season)
        return
    from app.stack.embedded import EmbeddedStack

    with tempfile.TemporaryDirectory() as var_dir:
        stack = EmbeddedStack(Path(var_dir), redis_port=_free_port())
        try:
            urls = stack.start()
            upgrade(urls["BULLPEN_DATABASE_URL"])
            ingest_sample(urls["BULLPEN_DATABASE_URL"], Settings.from_env({}).sample_dir)
            run(urls["BULLPEN_DATABASE_URL"], urls["BULLPEN_FEATURE_STORE_URL"], season)
        finally:
            stack.stop()


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


if __name__ == "__main__":
    main()
