"""Redis feature store: one msgpack value per game and feature-set version.

Key: ``features:{name}:v{version}:{game_id}``. Value: the msgpack array
``[fingerprint, computed_at, values]`` where ``computed_at`` is epoch seconds (float)
and ``values`` is the feature vector as little-endian float64 bytes, in the feature
set's column order (NaN = missing). ``bench/bench_feature_store.py`` compares this
packed layout with a msgpack map of ``{feature name: value}``; the packed one decodes
a bulk read several times faster (one ``np.frombuffer`` over joined bytes instead of
a dict lookup per feature) and is smaller, so it is the one kept.

A value whose fingerprint differs from the store's feature set is refused with
:class:`FeatureSetMismatchError`: a model must never score features of another version.

TTL policy: features of final (historical) games never change, so backfills write them
with ``ttl_seconds=None`` (no expiry). Features of upcoming games are recomputed by the
beat as results of earlier games arrive; that store uses ``UPCOMING_TTL_SECONDS``
(2 days) so keys of postponed or abandoned games disappear on their own. A missing key
is recomputed on demand by prediction jobs (``app.features.refresh.refresh_features``);
``GET /api/v1/features/{game_id}`` only reads and answers 404 for it. A new feature-set
version writes new keys (the version is in the key); the old version's keys stay until
deleted, so models of both versions can be served during a switch.

Speed (``bench/bench_feature_store.py``): single reads use a dedicated connection per
process instead of redis-py's pooled ``get`` (see :meth:`FeatureStore._get_raw`); bulk
reads pipeline one MGET per ``chunk_size`` keys and decode all vectors with one
``np.frombuffer``. The ``hiredis`` parser speeds up both.
"""

import math
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import msgpack
import numpy as np
import pandas as pd
import redis

from app.features.featureset import FeatureSet

UPCOMING_TTL_SECONDS = 2 * 24 * 3600
DEFAULT_CHUNK_SIZE = 1000
_FLOAT64_LE = np.dtype("<f8")


class FeatureSetMismatchError(ValueError):
    """A stored value belongs to another feature set (or version) than the store's."""


class RedisClient(Protocol):
    """The part of ``redis.Redis`` (with ``decode_responses=False``) the store uses."""

    def get(self, name: str) -> bytes | None: ...

    def pipeline(self, transaction: bool = ...) -> Any: ...


@dataclass(frozen=True)
class FeatureVector:
    """One game's stored features."""

    game_id: int
    values: np.ndarray
    version: int
    computed_at: datetime
    fingerprint: str


@dataclass(frozen=True)
class FeatureMatrix:
    """Features of many games: row ``i`` is ``game_ids[i]``; NaN rows where not ``found``."""

    game_ids: np.ndarray  # int64, shape (n,)
    values: np.ndarray  # float64, shape (n, len(columns))
    found: np.ndarray  # bool, shape (n,)
    computed_at: np.ndarray  # epoch seconds, float64, NaN where not found
    columns: tuple[str, ...]

    def to_frame(self) -> pd.DataFrame:
        """The values as a DataFrame indexed by game_id, with the feature names as columns."""
        return pd.DataFrame(
            self.values, index=pd.Index(self.game_ids, name="game_id"), columns=list(self.columns)
        )


def encode_features(values: np.ndarray, feature_set: FeatureSet, computed_at: float) -> bytes:
    """The stored bytes of one feature vector (see the module docstring for the layout)."""
    vector = np.asarray(values, dtype=_FLOAT64_LE)
    if vector.shape != (len(feature_set),):
        raise ValueError(
            f"expected {len(feature_set)} values for {feature_set.label}, got shape {vector.shape}"
        )
    return msgpack.packb([feature_set.fingerprint, float(computed_at), vector.tobytes()])


def decode_features(raw: bytes, feature_set: FeatureSet) -> tuple[np.ndarray, float]:
    """``(values, computed_at)`` of stored bytes; raise if they belong to another feature set."""
    computed_at, blob = _unpack(raw, feature_set)
    return np.frombuffer(blob, dtype=_FLOAT64_LE).astype(np.float64), computed_at


class FeatureStore:
    """Feature vectors of one feature set in Redis, keyed by game id."""

    def __init__(
        self,
        redis_client: RedisClient,
        feature_set: FeatureSet,
        ttl_seconds: int | None = None,
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
    ) -> None:
        if ttl_seconds is not None and ttl_seconds <= 0:
            raise ValueError("ttl_seconds must be positive or None (no expiry)")
        self.redis = redis_client
        self.feature_set = feature_set
        self.ttl_seconds = ttl_seconds
        self.chunk_size = chunk_size
        self._key_prefix = f"features:{feature_set.name}:v{feature_set.version}:"
        # Single reads go over a connection of their own (see _get_raw); None until used.
        self._pool = getattr(redis_client, "connection_pool", None)
        self._connection: Any = None
        self._connection_pid = 0
        self._lock = threading.Lock()

    def key(self, game_id: int) -> str:
        """The Redis key of a game's features."""
        return f"{self._key_prefix}{int(game_id)}"

    def put_many(
        self, features: Mapping[int, np.ndarray], *, computed_at: datetime | None = None
    ) -> int:
        """Write every game's vector (pipelined, in chunks); return how many were written."""
        stamp = (computed_at or datetime.now(UTC)).timestamp()
        # Encode everything first so a bad vector fails before anything is written.
        encoded = [
            (self.key(game_id), encode_features(values, self.feature_set, stamp))
            for game_id, values in features.items()
        ]
        for start in range(0, len(encoded), self.chunk_size):
            pipe = self.redis.pipeline(transaction=False)
            for key, value in encoded[start : start + self.chunk_size]:
                pipe.set(key, value, ex=self.ttl_seconds)
            pipe.execute()
        return len(encoded)

    def get(self, game_id: int) -> FeatureVector | None:
        """One game's features, or None when not stored."""
        raw = self._get_raw(self.key(game_id))
        if raw is None:
            return None
        values, computed_at = decode_features(raw, self.feature_set)
        return FeatureVector(
            game_id=int(game_id),
            values=values,
            version=self.feature_set.version,
            computed_at=datetime.fromtimestamp(computed_at, UTC),
            fingerprint=self.feature_set.fingerprint,
        )

    def get_many(self, game_ids: Iterable[int]) -> FeatureMatrix:
        """Many games' features in one round trip (MGET per chunk, pipelined)."""
        ids = np.fromiter((int(game_id) for game_id in game_ids), dtype=np.int64)
        pipe = self.redis.pipeline(transaction=False)
        for start in range(0, len(ids), self.chunk_size):
            pipe.mget([self.key(game_id) for game_id in ids[start : start + self.chunk_size]])
        raws = [raw for chunk in (pipe.execute() if len(ids) else []) for raw in chunk]
        return self._decode_many(ids, raws)

    def close(self) -> None:
        """Give the single-read connection back to the client's pool."""
        with self._lock:
            if self._connection is not None:
                self._pool.release(self._connection)
                self._connection = None

    def _get_raw(self, key: str) -> bytes | None:
        """GET over a dedicated connection, skipping redis-py's per-command pool checkout.

        A pooled ``redis.Redis.get`` spends most of its time outside the round trip
        (checkout, retry wrapper, release); ``bench/bench_feature_store.py`` measures both.
        The connection is checked out of the pool once per process (again after a fork)
        and held until :meth:`close`; a lock guards it for threaded servers. A dropped
        connection is retried once on a fresh socket.
        """
        if self._pool is None:
            return self.redis.get(key)
        with self._lock:
            if self._connection is None or self._connection_pid != os.getpid():
                self._connection = self._pool.get_connection()
                self._connection_pid = os.getpid()
            connection = self._connection
            try:
                connection.send_command("GET", key)
                return connection.read_response()
            except (redis.ConnectionError, redis.TimeoutError):
                connection.disconnect()
                connection.send_command("GET", key)
                return connection.read_response()

    def _decode_many(self, ids: np.ndarray, raws: Sequence[bytes | None]) -> FeatureMatrix:
        width = len(self.feature_set)
        values = np.full((len(ids), width), np.nan)
        computed_at = np.full(len(ids), np.nan)
        found = np.zeros(len(ids), dtype=bool)
        blobs: list[bytes] = []
        for row, raw in enumerate(raws):
            if raw is None:
                continue
            computed_at[row], blob = _unpack(raw, self.feature_set)
            found[row] = True
            blobs.append(blob)
        if blobs:
            # One frombuffer over all rows instead of one array per game.
            values[found] = np.frombuffer(b"".join(blobs), dtype=_FLOAT64_LE).reshape(-1, width)
        return FeatureMatrix(ids, values, found, computed_at, self.feature_set.names)


def _unpack(raw: bytes, feature_set: FeatureSet) -> tuple[float, bytes]:
    """``(computed_at, vector bytes)`` of a stored value, after checking it is ours."""
    if isinstance(raw, str):
        raise TypeError("FeatureStore needs a Redis client created with decode_responses=False")
    fingerprint, computed_at, blob = msgpack.unpackb(raw)
    if fingerprint != feature_set.fingerprint:
        raise FeatureSetMismatchError(
            f"stored features have fingerprint {fingerprint!r}, "
            f"expected {feature_set.fingerprint!r} ({feature_set.label})"
        )
    if len(blob) != len(feature_set) * _FLOAT64_LE.itemsize:
        raise FeatureSetMismatchError(
            f"stored vector has {len(blob) // _FLOAT64_LE.itemsize} values, "
            f"expected {len(feature_set)} ({feature_set.label})"
        )
    return computed_at, blob


def read_features(store: FeatureStore, game_id: int) -> dict[str, Any] | None:
    """A game's stored features as served (``GET /features/{id}``), or None when not stored.

    Missing values are None. Raises :class:`FeatureSetMismatchError` for a vector written
    by another feature set.
    """
    feature_set = store.feature_set
    vector = store.get(game_id)
    if vector is None:
        return None
    return {
        "game_id": int(game_id),
        "feature_set": feature_set.label,
        "name": feature_set.name,
        "version": vector.version,
        "fingerprint": vector.fingerprint,
        "computed_at": vector.computed_at,
        "values": {
            name: None if math.isnan(value) else float(value)
            for name, value in zip(feature_set.names, vector.values.tolist(), strict=True)
        },
    }
