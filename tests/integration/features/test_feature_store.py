"""FeatureStore against a real Redis server."""

import os
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
import redis

from app.features.definitions import FEATURE_SET
from app.features.featureset import FeatureSet
from app.features.store import UPCOMING_TTL_SECONDS, FeatureSetMismatchError, FeatureStore

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_client(request: pytest.FixtureRequest) -> Iterator[redis.Redis]:
    url = (
        os.environ.get("BULLPEN_FEATURE_STORE_URL")
        or request.getfixturevalue("service_urls")["BULLPEN_FEATURE_STORE_URL"]
    )
    client = redis.Redis.from_url(url)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def feature_set() -> FeatureSet:
    """A uniquely named copy of the core set, so the test's keys cannot collide."""
    return FeatureSet(f"test-{uuid.uuid4().hex[:8]}", 1, FEATURE_SET.features)


def test_round_trip_chunking_ttl_and_mismatch(
    redis_client: redis.Redis, feature_set: FeatureSet
) -> None:
    store = FeatureStore(redis_client, feature_set, UPCOMING_TTL_SECONDS, chunk_size=100)
    rng = np.random.default_rng(3)
    game_ids = list(range(1, 251))
    vectors = rng.normal(size=(len(game_ids), len(feature_set)))
    vectors[::7, 2] = np.nan
    try:
        assert store.put_many(dict(zip(game_ids, vectors, strict=True))) == 250
        assert 0 < redis_client.ttl(store.key(1)) <= UPCOMING_TTL_SECONDS

        single = store.get(42)
        assert single is not None
        np.testing.assert_array_equal(single.values, vectors[41])

        matrix = store.get_many([*game_ids, 10_000])
        assert matrix.found.tolist() == [True] * 250 + [False]
        np.testing.assert_array_equal(matrix.values[:250], vectors)
        assert np.isnan(matrix.values[250]).all()

        impostor = FeatureStore(
            redis_client, FeatureSet(feature_set.name, 1, FEATURE_SET.features[:-1])
        )
        with pytest.raises(FeatureSetMismatchError):
            impostor.get(1)
    finally:
        redis_client.delete(*(store.key(game_id) for game_id in game_ids))
