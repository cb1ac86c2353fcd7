"""Benchmark the feature store's two candidate value layouts against a real Redis.

Writes 10,000 games' features in each layout, then reports medians of a single get
(round trip + decode) and of a bulk read of all 10,000 games (pipelined MGET in chunks +
decode into one 2-D array), side by side:

* packed: msgpack ``[fingerprint, computed_at, float64 bytes]`` (what FeatureStore uses)
* map:    msgpack ``{"fingerprint", "computed_at", "values": {feature name: value}}``

and, for the packed layout, a single get through redis-py's pooled ``Redis.get`` (what the
store did before it kept a dedicated connection for single reads).

Usage: ``.venv/bin/python bench/bench_feature_store.py`` with ``BULLPEN_FEATURE_STORE_URL``
(default ``redis://127.0.0.1:6379/13``). Only the benchmark's own keys are touched.
"""

import os
import statistics
import time
from collections.abc import Callable

import msgpack
import numpy as np
import redis
from redis.utils import HIREDIS_AVAILABLE

from app.features.definitions import FEATURE_SET
from app.features.featureset import FeatureSet
from app.features.store import FeatureStore, decode_features, encode_features

GAMES = 10_000
SINGLE_GETS = 2_000
BULK_REPEATS = 15
CHUNK_SIZE = 1_000
BENCH_SET = FeatureSet("bench", FEATURE_SET.version, FEATURE_SET.features)


class MapLayout:
    """The alternative layout: a msgpack map of feature name to value."""

    def __init__(self, client: redis.Redis, feature_set: FeatureSet) -> None:
        self.redis = client
        self.feature_set = feature_set
        self.prefix = f"features:{feature_set.name}-map:v{feature_set.version}:"

    def key(self, game_id: int) -> str:
        return f"{self.prefix}{game_id}"

    def encode(self, values: np.ndarray, computed_at: float) -> bytes:
        return msgpack.packb(
            {
                "fingerprint": self.feature_set.fingerprint,
                "computed_at": computed_at,
                "values": dict(zip(self.feature_set.names, values.tolist(), strict=True)),
            }
        )

    def decode(self, raw: bytes) -> tuple[np.ndarray, float]:
        value = msgpack.unpackb(raw)
        if value["fingerprint"] != self.feature_set.fingerprint:
            raise ValueError("fingerprint mismatch")
        by_name = value["values"]
        return np.array([by_name[name] for name in self.feature_set.names]), value["computed_at"]

    def put_many(self, features: dict[int, np.ndarray]) -> None:
        stamp = time.time()
        items = list(features.items())
        for start in range(0, len(items), CHUNK_SIZE):
            pipe = self.redis.pipeline(transaction=False)
            for game_id, values in items[start : start + CHUNK_SIZE]:
                pipe.set(self.key(game_id), self.encode(values, stamp))
            pipe.execute()

    def get(self, game_id: int) -> np.ndarray | None:
        raw = self.redis.get(self.key(game_id))
        return None if raw is None else self.decode(raw)[0]

    def get_many(self, game_ids: list[int]) -> np.ndarray:
        pipe = self.redis.pipeline(transaction=False)
        for start in range(0, len(game_ids), CHUNK_SIZE):
            pipe.mget([self.key(game_id) for game_id in game_ids[start : start + CHUNK_SIZE]])
        raws = [raw for chunk in pipe.execute() for raw in chunk]
        return self.decode_many(raws)

    def decode_many(self, raws: list[bytes | None]) -> np.ndarray:
        values = np.full((len(raws), len(self.feature_set)), np.nan)
        for row, raw in enumerate(raws):
            if raw is not None:
                values[row] = self.decode(raw)[0]
        return values


def median_us(action: Callable[[], object], repeats: int) -> float:
    timings = []
    for _ in range(repeats):
        start = time.perf_counter_ns()
        action()
        timings.append(time.perf_counter_ns() - start)
    return statistics.median(timings) / 1_000


def main() -> None:
    url = os.environ.get("BULLPEN_FEATURE_STORE_URL", "redis://127.0.0.1:6379/13")
    client = redis.Redis.from_url(url)
    rng = np.random.default_rng(7)
    game_ids = list(range(1_000_000, 1_000_000 + GAMES))
    vectors = rng.normal(size=(GAMES, len(BENCH_SET)))
    vectors[rng.random(vectors.shape) < 0.05] = np.nan
    features = dict(zip(game_ids, vectors, strict=True))

    packed = FeatureStore(client, BENCH_SET, chunk_size=CHUNK_SIZE)
    mapped = MapLayout(client, BENCH_SET)
    try:
        write_packed = median_us(lambda: packed.put_many(features), 3) / GAMES
        write_mapped = median_us(lambda: mapped.put_many(features), 3) / GAMES
        assert np.array_equal(packed.get_many(game_ids).values, vectors, equal_nan=True)
        assert np.array_equal(mapped.get_many(game_ids), vectors, equal_nan=True)

        picks = iter(rng.choice(game_ids, size=10 * SINGLE_GETS).tolist())
        single_packed = median_us(lambda: packed.get(next(picks)), SINGLE_GETS)
        single_mapped = median_us(lambda: mapped.get(next(picks)), SINGLE_GETS)
        # The same packed read through redis-py's pooled client.get, which the store bypasses.
        single_pooled = median_us(
            lambda: decode_features(client.get(packed.key(next(picks))), BENCH_SET), SINGLE_GETS
        )
        bulk_packed = median_us(lambda: packed.get_many(game_ids), BULK_REPEATS) / GAMES
        bulk_mapped = median_us(lambda: mapped.get_many(game_ids), BULK_REPEATS) / GAMES

        raws_packed = client.mget([packed.key(game_id) for game_id in game_ids])
        raws_mapped = client.mget([mapped.key(game_id) for game_id in game_ids])
        ids = np.array(game_ids, dtype=np.int64)
        decode_packed = median_us(lambda: packed._decode_many(ids, raws_packed), 15) / GAMES
        decode_mapped = median_us(lambda: mapped.decode_many(raws_mapped), 15) / GAMES
        decode_one_packed = median_us(lambda: decode_features(raws_packed[0], BENCH_SET), 2000)
        decode_one_mapped = median_us(lambda: mapped.decode(raws_mapped[0]), 2000)
        size_packed = len(encode_features(vectors[0], BENCH_SET, time.time()))
        size_mapped = len(mapped.encode(vectors[0], time.time()))
    finally:
        for start in range(0, GAMES, CHUNK_SIZE):
            chunk = game_ids[start : start + CHUNK_SIZE]
            client.delete(*(packed.key(g) for g in chunk), *(mapped.key(g) for g in chunk))

    print(f"Redis {url}; {GAMES:,} games x {len(BENCH_SET)} features; medians")
    rows = [
        ("value size (bytes)", size_packed, size_mapped, "d"),
        ("put_many (µs/game)", write_packed, write_mapped, ".2f"),
        ("single get incl. decode (µs)", single_packed, single_mapped, ".1f"),
        (f"get_many of {GAMES:,} (µs/game)", bulk_packed, bulk_mapped, ".2f"),
        ("decode only, one value (µs)", decode_one_packed, decode_one_mapped, ".2f"),
        (f"decode only, {GAMES:,} values (µs/game)", decode_packed, decode_mapped, ".2f"),
    ]
    print(f"{'metric':<38} {'packed':>10} {'map':>10}")
    for label, packed_value, mapped_value, spec in rows:
        print(f"{label:<38} {packed_value:>10{spec}} {mapped_value:>10{spec}}")
    print(f"packed single get via pooled redis.Redis.get + decode: {single_pooled:.1f} µs")
    print(f"redis-py parser: {'hiredis' if HIREDIS_AVAILABLE else 'pure Python'}")


if __name__ == "__main__":
    main()
