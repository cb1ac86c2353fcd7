"""Games, health, metrics, OpenAPI and API keys."""

from dataclasses import replace

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import func, select

from app.db.session import session_scope
from app.jobs.models import Job
from app.ml.models import Prediction
from app.ml.registry import champion_versions
from workers.api import create_api

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
    assert set(checks) == {"database", "broker", "feature_store", "worker", "models", "beat"}


def test_live_and_metrics(client):
    assert client.get("/health/live").get_json() == {"status": "ok"}
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    assert "bullpen_predictions" in metrics.get_data(as_text=True)


def test_metrics_carry_the_contract_names_and_the_database_numbers(seeded, client, worker):
    game_id = client.get("/api/v1/games?date=2019-06-15").get_json()[0]["id"]
    job = client.post("/api/v1/predict", json={"game_id": game_id}).get_json()
    assert client.get(f"/api/v1/jobs/{job['job_id']}?wait=30").get_json()["status"] == "succeeded"

    response = client.get("/metrics")
    families = {
        family.name: family
        for family in text_string_to_metric_families(response.get_data(as_text=True))
    }

    assert {
        "bullpen_jobs", "bullpen_job_duration_seconds", "bullpen_queue_depth",
        "bullpen_predictions", "bullpen_champion_version", "bullpen_feed_last_success_timestamp",
        "bullpen_bets",
    } <= set(families)  # fmt: skip
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in families.values()
        for sample in family.samples
    }
    with session_scope(seeded.database_url) as session:
        succeeded = session.scalar(
            select(func.count()).where(Job.kind == "predict", Job.status == "succeeded")
        )
        stored = session.scalar(select(func.count()).select_from(Prediction))
    assert samples[("bullpen_jobs_total", (("kind", "predict"), ("status", "succeeded")))] == (
        succeeded
    )
    assert samples[("bullpen_predictions_total", (("target", "moneyline"),))] == stored
    assert samples[("bullpen_job_duration_seconds_count", (("kind", "predict"),))] >= succeeded
    assert ("bullpen_queue_depth", (("queue", "predict"),)) in samples
    for target, version in champion_versions(seeded).items():
        assert samples[("bullpen_champion_version", (("target", target),))] == float(version)


def test_openapi_documents_every_resource(client):
    spec = client.get("/api/v1/openapi.json").get_json()

    paths = set(spec["paths"])
    assert {"/api/v1/predict", "/api/v1/predict/batch", "/api/v1/jobs/{job_id}",
            "/api/v1/games", "/health/ready"} <= paths  # fmt: skip
    assert client.get("/api/v1/docs").status_code == 200


def test_api_keys_and_scopes_are_enforced_when_configured(seeded):
    secured = create_api(
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
