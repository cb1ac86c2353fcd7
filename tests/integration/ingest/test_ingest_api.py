"""POST /api/v1/ingest through a real worker, and GET /api/v1/data/quality."""

import io
from dataclasses import replace

import pytest

from app.config import parse_api_keys
from workers.api import create_api

pytestmark = pytest.mark.integration

# Splits of a date without games: every row is quarantined, so the seeded data stays as it is.
SPLITS_CSV = (
    b"game_date,home_team,away_team,game_number,captured_at,source,market,side,bets_pct,money_pct\n"
    b"2019-01-15,CHA,NYA,,2019-01-15T16:00:00+00:00,api-test,moneyline,home,60,70\n"
    b"2019-01-15,CHA,NYA,,2019-01-15T16:00:00+00:00,api-test,moneyline,away,40,30\n"
    b"2019-01-15,CHA,NYA,,2019-01-15T16:00:00+00:00,api-test,spread,home,40,30\n"
)


def _upload(client, source: str, files: list[tuple[bytes, str]], headers=None):
    data = {"source": source, "files": [(io.BytesIO(body), name) for body, name in files]}
    return client.post(
        "/api/v1/ingest", data=data, content_type="multipart/form-data", headers=headers or {}
    )


def test_an_upload_becomes_a_job_whose_result_has_per_file_counts(client, worker) -> None:
    response = _upload(client, "splits", [(SPLITS_CSV, "my splits.csv")])
    assert response.status_code == 202, response.json
    assert response.headers["Location"].endswith(response.json["job_id"])
    job = client.get(f"/api/v1/jobs/{response.json['job_id']}?wait=30").json
    assert job["status"] == "succeeded", job
    (report,) = job["result"]["files"]
    assert report["path"].endswith("my_splits.csv") and "/uploads/" in report["path"]
    assert report["raw_rows"] == 3 and report["splits"] == 0
    assert report["quarantined"] == {"splits_bad_market": 1, "splits_unknown_game": 2}


@pytest.mark.parametrize(
    ("source", "files", "field"),
    [
        ("odds", [(b"x", "a.csv")], "source"),
        ("splits", [], "files"),
        ("sbro", [(b"x", "odds.csv")], "files"),
        ("sbro", [(b"x", "odds.xlsx")], "files"),  # no season in the name
        ("lines", [(b"x", "MLB2016_lines.csv.gz")], "files"),  # its games file is missing
        ("splits", [(b"", "empty.csv")], "files"),
    ],
)
def test_a_bad_upload_is_422_with_field_errors(client, source, files, field) -> None:
    response = _upload(client, source, files)
    assert response.status_code == 422, response.json
    assert field in response.json["errors"]


def test_an_upload_over_the_limit_is_413(app, client) -> None:
    app.config["BULLPEN_MAX_UPLOAD_BYTES"] = 1000
    try:
        response = _upload(client, "splits", [(b"x" * 5000, "big.csv")])
    finally:
        del app.config["BULLPEN_MAX_UPLOAD_BYTES"]
    assert response.status_code == 413
    assert response.json["code"] == 413


def test_ingest_needs_the_admin_scope(seeded) -> None:
    keyed = create_api(replace(seeded, api_keys=parse_api_keys("r1:read,a1:admin")))
    client = keyed.test_client()
    read = _upload(client, "splits", [(b"x", "a.csv")], {"Authorization": "Bearer r1"})
    assert read.status_code == 403
    admin = _upload(client, "nope", [(b"x", "a.csv")], {"Authorization": "Bearer a1"})
    assert admin.status_code == 422


def test_the_quality_report_of_a_season_and_its_errors(client) -> None:
    response = client.get("/api/v1/data/quality?season=2019")
    assert response.status_code == 200
    (season,) = response.json["seasons"]
    assert season["season"] == 2019 and season["games_curated"] > 2400
    assert season["postseason_games"] == 37
    assert season["retrosheet_match_rate"] >= 0.99
    assert set(season["odds_coverage"]) >= {"moneyline_open", "moneyline_close", "total_close"}
    assert client.get("/api/v1/data/quality?season=1900").status_code == 404
    bad = client.get("/api/v1/data/quality?season=abc")
    assert bad.status_code == 422 and "season" in bad.json["errors"]
    assert len(client.get("/api/v1/data/quality").json["seasons"]) >= 2
