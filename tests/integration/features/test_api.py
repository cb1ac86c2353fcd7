"""Feature refresh and read through the HTTP API, with a real worker, PostgreSQL and Redis."""

import math

import pytest
import redis

from app.features.definitions import FEATURE_SET
from app.ml.predict import open_feature_store

pytestmark = pytest.mark.integration


def _a_2019_game(client) -> dict:
    games = client.get("/api/v1/games?date=2019-06-15").get_json()
    assert games, "the sample has games on 2019-06-15"
    return games[0]


def test_refresh_a_game_then_read_its_features(client, worker, seeded):
    game = _a_2019_game(client)
    store = open_feature_store(seeded)
    redis.Redis.from_url(seeded.feature_store_url).delete(store.key(game["id"]))
    assert client.get(f"/api/v1/features/{game['id']}").status_code == 404

    submitted = client.post("/api/v1/features/refresh", json={"game_id": game["id"]})

    assert submitted.status_code == 202
    body = submitted.get_json()
    assert body["kind"] == "features_refresh" and body["progress"]["total"] == 1
    job = client.get(f"{submitted.headers['Location']}?wait=30").get_json()
    assert job["status"] == "succeeded", job
    read = client.get(f"/api/v1/features/{game['id']}")
    assert read.status_code == 200
    features = read.get_json()
    assert features["game_id"] == game["id"]
    assert features["feature_set"] == FEATURE_SET.label
    assert (features["version"], features["fingerprint"]) == (
        FEATURE_SET.version,
        FEATURE_SET.fingerprint,
    )
    assert set(features["values"]) == set(FEATURE_SET.names)
    stored = store.get(game["id"])
    assert stored is not None
    for name, value in zip(FEATURE_SET.names, stored.values.tolist(), strict=True):
        assert features["values"][name] == (None if math.isnan(value) else pytest.approx(value))
    assert features["values"]["home_games_played"] > 50  # mid-June
    assert features["values"]["line_snapshots"] is None  # no line history in the sample


def test_refresh_a_date(client, worker):
    submitted = client.post("/api/v1/features/refresh", json={"date": "2019-06-15"})
    assert submitted.status_code == 202
    job = client.get(f"{submitted.headers['Location']}?wait=30").get_json()
    assert job["status"] == "succeeded", job
    assert job["progress"]["total"] >= 10


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "_schema"),
        ({"season": 2019, "game_id": 1}, 422, "_schema"),
        ({"date": "2019-13-45"}, 422, "date"),
        ({"season": "x"}, 422, "season"),
        ({"game_id": 0}, 422, "game_id"),
        ({"season": 1999}, 404, "season"),
        ({"date": "2019-01-01"}, 404, "date"),
        ({"game_id": 987654321}, 404, "game_id"),
    ],
)
def test_bad_refresh_requests(client, body, status, field):
    answer = client.post("/api/v1/features/refresh", json=body)
    assert answer.status_code == status, answer.get_json()
    payload = answer.get_json()
    assert payload["code"] == status and payload["message"]
    assert field in payload["errors"]


def test_reading_an_unknown_game(client):
    answer = client.get("/api/v1/features/987654321")
    assert answer.status_code == 404
    assert "unknown game" in answer.get_json()["message"]


def test_reads_hold_one_redis_connection_however_many(client, seeded):
    """Each read once took a connection of the pool's 100 and never gave it back."""
    game = _a_2019_game(client)
    pool = client.application.extensions["bullpen"].feature_redis.connection_pool
    reads = pool.max_connections + 20

    statuses = {client.get(f"/api/v1/features/{game['id']}").status_code for _ in range(reads)}

    assert statuses <= {200, 404}, statuses
    # A blocking pool (the API's: app/api/context.py) lists every connection it made; a leak
    # would have made one per read until it blocked, then answered 503.
    assert len(pool._connections) <= 2
