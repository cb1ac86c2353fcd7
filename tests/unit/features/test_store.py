"""FeatureStore codec and behaviour against an in-memory stand-in for Redis."""

from datetime import UTC, datetime

import msgpack
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from app.features.definitions import FEATURE_SET
from app.features.featureset import FeatureSet
from app.features.store import (
    FeatureSetMismatchError,
    FeatureStore,
    decode_features,
    encode_features,
)
from tests.unit.features.fake_redis import FakeRedis

WIDTH = len(FEATURE_SET)


float_vectors = arrays(np.float64, WIDTH, elements=st.floats(allow_nan=True, allow_infinity=True))


@given(float_vectors, st.floats(0, 4e9))
def test_codec_round_trip(values: np.ndarray, computed_at: float) -> None:
    decoded, stamp = decode_features(encode_features(values, FEATURE_SET, computed_at), FEATURE_SET)
    np.testing.assert_array_equal(decoded, values)
    assert decoded.dtype == np.float64 and stamp == computed_at


def test_codec_refuses_other_feature_sets_and_bad_shapes() -> None:
    other = FeatureSet(FEATURE_SET.name, FEATURE_SET.version + 1, FEATURE_SET.features)
    raw = encode_features(np.zeros(WIDTH), other, 0.0)
    with pytest.raises(FeatureSetMismatchError, match="fingerprint"):
        decode_features(raw, FEATURE_SET)
    with pytest.raises(ValueError, match="expected"):
        encode_features(np.zeros(WIDTH + 1), FEATURE_SET, 0.0)
    short = msgpack.packb([FEATURE_SET.fingerprint, 0.0, np.zeros(3).tobytes()])
    with pytest.raises(FeatureSetMismatchError, match="values"):
        decode_features(short, FEATURE_SET)


def test_put_get_and_get_many() -> None:
    client = FakeRedis()
    store = FeatureStore(client, FEATURE_SET, chunk_size=3)
    vectors = {game_id: np.arange(WIDTH, dtype=float) + game_id for game_id in range(1, 8)}
    vectors[4][2] = np.nan
    stamp = datetime(2024, 4, 1, 12, tzinfo=UTC)

    assert store.put_many(vectors, computed_at=stamp) == 7
    assert store.key(5) == "features:core:v4:5"
    assert set(client.data) == {f"features:core:v4:{game_id}" for game_id in vectors}
    assert set(client.ttls.values()) == {None}

    vector = store.get(4)
    assert vector is not None
    np.testing.assert_array_equal(vector.values, vectors[4])
    assert (vector.game_id, vector.version, vector.computed_at) == (4, FEATURE_SET.version, stamp)
    assert vector.fingerprint == FEATURE_SET.fingerprint
    assert store.get(99) is None

    client.round_trips = 0
    matrix = store.get_many([7, 99, 1, 4, 5, 6, 2, 3])
    assert client.round_trips == 1  # three MGET chunks, one pipeline
    assert matrix.values.shape == (8, WIDTH)
    np.testing.assert_array_equal(matrix.found, [True, False, *[True] * 6])
    np.testing.assert_array_equal(matrix.values[0], vectors[7])
    assert np.isnan(matrix.values[1]).all() and np.isnan(matrix.computed_at[1])
    np.testing.assert_array_equal(matrix.values[3], vectors[4])
    assert matrix.computed_at[0] == stamp.timestamp()
    frame = matrix.to_frame()
    assert list(frame.columns) == list(FEATURE_SET.names)
    assert list(frame.index) == [7, 99, 1, 4, 5, 6, 2, 3]


def test_get_many_of_nothing() -> None:
    matrix = FeatureStore(FakeRedis(), FEATURE_SET).get_many([])
    assert matrix.values.shape == (0, WIDTH) and matrix.found.shape == (0,)


def test_ttl_is_applied_to_writes() -> None:
    client = FakeRedis()
    FeatureStore(client, FEATURE_SET, ttl_seconds=172_800).put_many({1: np.zeros(WIDTH)})
    assert client.ttls == {"features:core:v4:1": 172_800}
    with pytest.raises(ValueError, match="ttl_seconds"):
        FeatureStore(client, FEATURE_SET, ttl_seconds=0)


def test_store_refuses_values_of_another_version() -> None:
    client = FakeRedis()
    store = FeatureStore(client, FEATURE_SET)
    other = FeatureSet("impostor", 9, FEATURE_SET.features)
    client.data[store.key(1)] = encode_features(np.zeros(WIDTH), other, 0.0)
    with pytest.raises(FeatureSetMismatchError):
        store.get(1)
    with pytest.raises(FeatureSetMismatchError):
        store.get_many([1])


def test_bad_vector_fails_before_anything_is_written() -> None:
    client = FakeRedis()
    store = FeatureStore(client, FEATURE_SET)
    with pytest.raises(ValueError):
        store.put_many({1: np.zeros(WIDTH), 2: np.zeros(3)})
    assert client.data == {}


def test_decoded_strings_mean_a_misconfigured_client() -> None:
    client = FakeRedis()
    store = FeatureStore(client, FEATURE_SET)
    client.data[store.key(1)] = "not bytes"  # type: ignore[assignment]
    with pytest.raises(TypeError, match="decode_responses"):
        store.get(1)
