"""Result pages are the stored predictions, served as stored, a page at a time."""

import threading
import uuid
from datetime import UTC, datetime

import psycopg
import pytest
from flask import Flask
from sqlalchemy import insert

from app.api.bounds import MAX_RESULTS_PAGE_SIZE
from app.config import Settings
from app.db.session import session_scope
from app.jobs.models import Job
from app.ml.models import Prediction
from tests.round_trips import counting
from workers.api import create_api

pytestmark = pytest.mark.integration

ITEMS = 25


@pytest.fixture(scope="module")
def api(settings: Settings) -> Flask:
    return create_api(settings)


def _payload(index: int) -> dict:
    return {
        "game_id": None,
        "home_ml_probability": 0.5 + index / 1000,
        "explanation": [{"feature": "elo_diff", "value": None, "contribution": -0.25}],
        "betting_recommendations": {"home_ml": {"side": "home", "odds": -135}} if index % 2 else {},
        "risk_level": "low",
        "note": 'quotes " and unicode é survive',
    }


@pytest.fixture(scope="module")
def job_id(api: Flask, settings: Settings) -> uuid.UUID:
    job_id = uuid.uuid4()
    with session_scope(settings.database_url) as session:
        now = datetime.now(UTC)  # a finished job as the metrics expect one
        session.add(
            Job(
                id=job_id,
                kind="predict",
                status="succeeded",
                params={},
                started_at=now,
                finished_at=now,
            )
        )
        session.flush()
        session.execute(
            insert(Prediction),
            [  # stored out of order: pages follow item_index
                {"job_id": job_id, "item_key": f"spec-{i}", "item_index": i, "payload": _payload(i)}
                for i in reversed(range(ITEMS))
            ],
        )
    return job_id


def test_pages_hold_the_stored_payloads_in_request_order(api: Flask, job_id: uuid.UUID) -> None:
    client = api.test_client()
    first = client.get(f"/api/v1/jobs/{job_id}/results?page=1&page_size=10")
    last = client.get(f"/api/v1/jobs/{job_id}/results?page=3&page_size=10").get_json()
    beyond = client.get(f"/api/v1/jobs/{job_id}/results?page=4&page_size=10").get_json()

    assert first.status_code == 200
    assert first.mimetype == "application/json"
    assert first.get_json() == {
        "job_id": str(job_id),
        "status": "succeeded",
        "page": 1,
        "page_size": 10,
        "total": ITEMS,
        "items": [_payload(i) for i in range(10)],
    }
    assert last["items"] == [_payload(i) for i in range(20, ITEMS)]
    assert beyond["items"] == [] and beyond["total"] == ITEMS


def test_a_whole_batch_fits_one_page_and_no_more(api: Flask, job_id: uuid.UUID) -> None:
    client = api.test_client()
    whole = client.get(f"/api/v1/jobs/{job_id}/results?page_size={MAX_RESULTS_PAGE_SIZE}")
    too_many = client.get(f"/api/v1/jobs/{job_id}/results?page_size={MAX_RESULTS_PAGE_SIZE + 1}")

    assert whole.get_json()["items"] == [_payload(i) for i in range(ITEMS)]
    assert too_many.status_code == 422
    assert "page_size" in too_many.get_json()["errors"]


def test_a_poll_and_a_page_each_read_in_one_statement_without_a_transaction(
    api: Flask, job_id: uuid.UUID, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A poll (then the results a client fetches after it) costs one round trip to
    PostgreSQL each, not a BEGIN, the reads and a COMMIT."""
    autocommit: list[bool] = []  # per statement of this thread: was its connection in autocommit?
    me, execute = threading.get_ident(), psycopg.Cursor.execute

    def recorded(cursor: psycopg.Cursor, *args, **kwargs):
        if threading.get_ident() == me:
            autocommit.append(cursor.connection.autocommit)
        return execute(cursor, *args, **kwargs)

    client = api.test_client()
    client.get(f"/api/v1/jobs/{job_id}")  # the pool's connection opened beforehand
    monkeypatch.setattr(psycopg.Cursor, "execute", recorded)
    with counting() as trips:
        polled = client.get(f"/api/v1/jobs/{job_id}?wait=5")
        page = client.get(f"/api/v1/jobs/{job_id}/results?page=2&page_size=10")

    assert polled.get_json()["status"] == "succeeded"
    assert page.get_json()["items"] == [_payload(i) for i in range(10, 20)]
    assert autocommit == [True, True]
    assert sum(trips.postgres.values()) == 2, trips.postgres


def test_results_of_an_unknown_job_are_a_404(api: Flask) -> None:
    response = api.test_client().get(f"/api/v1/jobs/{uuid.uuid4()}/results")

    assert response.status_code == 404
    assert set(response.get_json()) >= {"code", "message", "errors"}


def test_the_openapi_document_keeps_the_page_schema_and_its_bound(api: Flask) -> None:
    spec = api.test_client().get("/api/v1/openapi.json").get_json()
    operation = spec["paths"]["/api/v1/jobs/{job_id}/results"]["get"]
    page_size = next(p for p in operation["parameters"] if p["name"] == "page_size")
    body = operation["responses"]["200"]["content"]["application/json"]["schema"]

    assert page_size["schema"]["maximum"] == MAX_RESULTS_PAGE_SIZE
    assert body == {"$ref": "#/components/schemas/ResultsPage"}
    assert set(spec["components"]["schemas"]["ResultsPage"]["properties"]) == {
        "job_id", "status", "page", "page_size", "total", "items",
    }  # fmt: skip
