"""The API's doors: key matching, per-key idempotency, rate limits, audit, bounds, operators."""

import logging
import uuid
from dataclasses import replace

import pytest

from app.api.auth import key_id, match_key
from app.config import Settings
from workers.api import create_api

pytestmark = pytest.mark.integration


def _keys(*scopes: str) -> tuple[str, ...]:
    return tuple(f"{scope}-{uuid.uuid4().hex}" for scope in scopes)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _a_stored_game_id(client, headers: dict[str, str] | None = None) -> int:
    return client.get("/api/v1/games?date=2019-06-15", headers=headers).get_json()[0]["id"]


def test_every_key_is_compared_and_the_right_one_matches() -> None:
    keys = {"alpha": frozenset({"read"}), "beta": frozenset({"admin"})}

    assert match_key("beta", keys) == ("beta", frozenset({"admin"}))
    assert match_key("bet", keys) is None
    assert match_key("", keys) is None
    assert key_id("beta").startswith("key-") and "beta" not in key_id("beta")


def test_an_idempotency_key_never_returns_another_api_keys_job(seeded: Settings) -> None:
    first, second = _keys("one", "two")
    every = frozenset({"read", "predict"})
    client = create_api(replace(seeded, api_keys={first: every, second: every})).test_client()
    game_id = _a_stored_game_id(client, _bearer(first))
    body = {"game_id": game_id}
    shared = {"Idempotency-Key": f"same-{uuid.uuid4().hex}"}

    a1 = client.post("/api/v1/predict", json=body, headers={**_bearer(first), **shared})
    a2 = client.post("/api/v1/predict", json=body, headers={**_bearer(first), **shared})
    b1 = client.post("/api/v1/predict", json=body, headers={**_bearer(second), **shared})

    assert a1.status_code == a2.status_code == b1.status_code == 202
    assert a1.get_json()["job_id"] == a2.get_json()["job_id"]
    assert b1.get_json()["job_id"] != a1.get_json()["job_id"]


def test_an_overlong_idempotency_key_is_a_422(client) -> None:
    game_id = _a_stored_game_id(client)

    response = client.post(
        "/api/v1/predict", json={"game_id": game_id}, headers={"Idempotency-Key": "k" * 200}
    )

    assert response.status_code == 422
    body = response.get_json()
    assert set(body) >= {"code", "message", "errors"}
    assert "Idempotency-Key" in str(body["errors"])


@pytest.mark.parametrize(
    ("method", "path", "payload"),
    [
        ("GET", "/api/v1/jobs/00000000-0000-0000-0000-000000000001/results?page=36068190805232272",
         None),
        ("POST", "/api/v1/features/refresh", {"game_id": 3597474271}),
        ("GET", "/api/v1/predict/2362330978", None),
        ("GET", "/api/v1/features/13295432971", None),
        ("GET", "/api/v1/bets?page=537962853121398263781", None),
        ("POST", "/api/v1/predict/batch", {"game_ids": [1, 11406523615245518848]}),
        ("POST", "/api/v1/bets", {"game_id": 1, "market": "home_ml", "side": "home",
                                  "odds": 9_000_000_000, "stake": 1}),
    ],
)  # fmt: skip
def test_out_of_range_input_is_a_4xx(client, method: str, path: str, payload: dict | None) -> None:
    response = client.open(path, method=method, json=payload)

    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert set(response.get_json()) >= {"code", "message", "errors"}


def test_rate_limits_are_per_key_and_answer_429_with_retry_after(seeded: Settings) -> None:
    busy, calm = _keys("busy", "calm")
    every = frozenset({"read", "predict"})
    client = create_api(
        replace(seeded, api_keys={busy: every, calm: every}, rate_limit_default="3/minute")
    ).test_client()

    answers = [client.get("/health/live", headers=_bearer(busy)).status_code for _ in range(5)]
    statuses = [
        client.get("/api/v1/jobs?page_size=1", headers=_bearer(busy)).status_code for _ in range(4)
    ]
    limited = client.get("/api/v1/jobs?page_size=1", headers=_bearer(busy))
    other = client.get("/api/v1/jobs?page_size=1", headers=_bearer(calm))

    assert answers == [200] * 5  # health is never limited
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) > 0
    assert set(limited.get_json()) >= {"code", "message", "errors"}
    assert other.status_code == 200


def test_every_admin_action_is_audited_with_the_key_id_never_the_key(
    seeded: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    (admin,) = _keys("admin")
    client = create_api(replace(seeded, api_keys={admin: frozenset({"admin"})})).test_client()

    with caplog.at_level(logging.INFO, logger="bullpen.audit"):
        response = client.post(
            "/api/v1/models/bullpen-moneyline/promote",
            json={"version": "999999"},
            headers=_bearer(admin),
        )

    records = [r for r in caplog.records if r.name == "bullpen.audit"]
    assert response.status_code in (404, 409)
    assert len(records) == 1
    record = records[0]
    assert record.key_id == key_id(admin)
    assert record.action == "models.Promote"
    assert record.target == "/api/v1/models/bullpen-moneyline/promote"
    assert record.status == response.status_code
    assert admin not in caplog.text


def test_operators_list_jobs_by_status_and_kind(client) -> None:
    game_id = _a_stored_game_id(client)
    job = client.post("/api/v1/predict", json={"game_id": game_id}).get_json()

    listed = client.get("/api/v1/jobs?kind=predict&page_size=500")
    wrong = client.get("/api/v1/jobs?status=bogus")
    too_far = client.get("/api/v1/jobs?page=100000000")

    assert listed.status_code == 200
    assert job["job_id"] in {item["job_id"] for item in listed.get_json()}
    assert {item["kind"] for item in listed.get_json()} == {"predict"}
    assert "X-Pagination" in listed.headers
    assert wrong.status_code == 422
    assert too_far.status_code == 422


def test_ready_names_what_is_not_ready(seeded: Settings) -> None:
    client = create_api(replace(seeded, broker_url="redis://127.0.0.1:1/0")).test_client()

    response = client.get("/health/ready")

    assert response.status_code == 503
    body = response.get_json()
    assert "broker" in body["not_ready"]
    assert "broker" in body["message"]
