"""While PostgreSQL is unreachable (restarting, say), the API answers 503 with Retry-After,
never 500: the documented answer of an outage (README "Operating it")."""

from dataclasses import replace
from pathlib import Path

import pytest

from workers.api import create_api

pytestmark = pytest.mark.integration


def test_an_unreachable_database_is_a_503_with_retry_after(settings, tmp_path: Path):
    # A socket directory where no PostgreSQL listens: every connection is refused for real.
    down = replace(settings, database_url=f"postgresql+psycopg://postgres@/bullpen?host={tmp_path}")
    client = create_api(down).test_client()

    for response in (
        client.get("/api/v1/games?date=2019-06-15"),
        client.post("/api/v1/predict", json={"game_id": 1}),
        client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000001"),
        client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000001?wait=1"),
        client.get("/api/v1/jobs/00000000-0000-0000-0000-000000000001/results"),
    ):
        assert response.status_code == 503, response.get_data(as_text=True)
        assert int(response.headers["Retry-After"]) > 0
        assert response.get_json()["code"] == 503
