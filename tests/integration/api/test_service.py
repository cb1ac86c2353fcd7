"""Games, health, metrics, OpenAPI and API keys."""

from dataclasses import replace

import pytest

from app import create_app

pytestmark = pytest.mark.integration


def test_games_of_a_date_have_teams_scores_and_odds(client):
    games = client.get("/api/v1/games?date=2019-06-15").get_json()

    assert len(games) >= 10
    game = games[0]
    assert game["season"] == 2019
    assert len(game["home_team"]) == 3
    assert game["home_score"] is not None
    assert game["odds"][0]["home_ml_open"] is not None


def test_games_need_a_date_or_a_season(client):
    response = client.get("/api/v1/games")

    assert response.status_code == 422
    assert response.get_json()["errors"]


def test_ready_when_every_dependency_answers(client, worker):
    response = client.get("/health/ready")

    assert response.status_code == 200, response.get_json()
    checks = response.get_json()["checks"]
    assert set(checks) == {"database", "broker", "feature_store", "worker", "models"}


def test_live_and_metrics(client):
    assert client.get("/health/live").get_json() == {"status": "ok"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "bullpen_predictions" in metrics.get_data(as_text=True)


def test_openapi_documents_every_resource(client):
    spec = client.get("/api/v1/openapi.json").get_json()

    paths = set(spec["paths"])
    assert {"/api/v1/predict", "/api/v1/predict/batch", "/api/v1/jobs/{job_id}",
            "/api/v1/games", "/health/ready"} <= paths  # fmt: skip
    assert client.get("/api/v1/docs").status_code == 200


def test_api_keys_and_scopes_are_enforced_when_configured(seeded):
    secured = create_app(
        replace(
            seeded,
            api_keys={"reader": frozenset({"read"}), "bettor": frozenset({"read", "predict"})},
        )
    ).test_client()

    assert secured.get("/api/v1/games?date=2019-06-15").status_code == 401
    assert (
        secured.get(
            "/api/v1/games?date=2019-06-15", headers={"Authorization": "Bearer reader"}
        ).status_code
        == 200
    )
    assert (
        secured.post(
            "/api/v1/predict", json={}, headers={"Authorization": "Bearer reader"}
        ).status_code
        == 403
    )
    assert (
        secured.post(
            "/api/v1/predict", json={}, headers={"Authorization": "Bearer bettor"}
        ).status_code
        == 422
    )
    assert secured.get("/health/live").status_code == 200
