"""The feeds through their entry points: the Celery task on a real worker, and the CLI."""

import time
from dataclasses import replace

import pytest
import redis
import sqlalchemy as sa
from click.testing import CliRunner

from app.cli import main
from app.config import Settings
from app.db.session import get_engine
from app.feeds.schedule import SCHEDULE_PATH
from tests.integration.conftest import redis_database, start_worker, stop_worker
from tests.integration.feeds.conftest import FIXTURES, Provider, Reply
from workers.celery_app import make_celery

pytestmark = pytest.mark.integration

BROKER_DB = 12  # a broker of its own: no other test's worker may take these tasks


def _count(url: str, sql: str) -> int:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.text(sql)).scalar_one()


def _wait_for(url: str, sql: str, expected: int, timeout: float = 90.0) -> int:
    deadline = time.monotonic() + timeout
    while (found := _count(url, sql)) != expected and time.monotonic() < deadline:
        time.sleep(0.5)
    return found


def _place_a_home_moneyline_bet_on_every_game(url: str) -> None:
    """A user's bet of 10 at -110 on the home side of every game (the API's ledger row)."""
    from app.bets.ledger import record_user_bet
    from app.db.session import session_scope

    with session_scope(url) as session:
        for game_id in session.scalars(sa.text("SELECT id FROM games")).all():
            record_user_bet(
                session,
                {"game_id": game_id, "market": "home_ml", "side": "home", "odds": -110,
                 "stake": 10.0, "book": "mybook"},
            )  # fmt: skip


def test_the_schedule_task_runs_on_the_feeds_queue_of_a_real_worker(
    settings: Settings, clean_database: str, provider: Provider
) -> None:
    broker = redis_database(settings.broker_url, BROKER_DB)
    redis.Redis.from_url(broker).flushdb()
    worker_settings = replace(
        settings,
        database_url=clean_database,
        broker_url=broker,
        schedule_api_url=provider.url,
    )
    provider.serve(
        SCHEDULE_PATH,
        Reply.fixture("schedule-2024-06-15-preview.json"),
        Reply.fixture("schedule-2024-06-15-finals.json"),
    )
    worker = start_worker(worker_settings, concurrency=1)
    try:
        celery = make_celery(worker_settings)
        celery.send_task("tasks.feeds.pull_schedule", kwargs={"day": "2024-06-15"})
        assert _wait_for(clean_database, "SELECT count(*) FROM games", 15) == 15
        _place_a_home_moneyline_bet_on_every_game(clean_database)
        celery.send_task("tasks.feeds.pull_schedule", kwargs={"day": "2024-06-15"})
        finals = "SELECT count(*) FROM games WHERE status = 'final' AND home_score IS NOT NULL"
        assert _wait_for(clean_database, finals, 13) == 13
        # The finals reach settlement through the task the feed sends: each bet graded once.
        graded = (
            "SELECT count(*) FROM bets WHERE status IN ('won', 'lost') AND settled_at IS NOT NULL"
        )
        assert _wait_for(clean_database, graded, 13) == 13
        assert _count(clean_database, "SELECT count(*) FROM bets WHERE status = 'open'") == 2
        wins = _count(
            clean_database,
            "SELECT count(*) FROM bets b JOIN games g ON g.id = b.game_id"
            " WHERE b.status = 'won' AND g.home_score > g.away_score",
        )
        home_wins = _count(
            clean_database,
            "SELECT count(*) FROM games WHERE status = 'final' AND home_score > away_score",
        )
        assert wins == home_wins
    finally:
        stop_worker(worker)
        redis.Redis.from_url(broker).flushdb()
    assert len(provider.requests_to(SCHEDULE_PATH)) == 2


@pytest.fixture
def cli_env(
    monkeypatch: pytest.MonkeyPatch,
    clean_database: str,
    service_urls: dict[str, str],
    provider: Provider,
    tmp_path,
) -> str:
    """The environment of a complete installation whose feeds are the local provider."""
    env = {
        "BULLPEN_DATABASE_URL": clean_database,
        "BULLPEN_BROKER_URL": service_urls["BULLPEN_BROKER_URL"],
        "BULLPEN_FEATURE_STORE_URL": service_urls["BULLPEN_FEATURE_STORE_URL"],
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "BULLPEN_VAR_DIR": str(tmp_path),
        "BULLPEN_SCHEDULE_API_URL": provider.url,
        "BULLPEN_ODDS_API_URL": provider.url,
        "BULLPEN_ODDS_API_KEY": "cli-key",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return clean_database


def test_the_cli_pulls_a_day_and_loads_saved_responses(cli_env: str, provider: Provider) -> None:
    provider.serve(SCHEDULE_PATH, Reply.fixture("schedule-2024-06-15-preview.json"))
    runner = CliRunner()

    pulled = runner.invoke(main, ["feed", "schedule", "--date", "2024-06-15"])
    finals = runner.invoke(
        main,
        ["feed", "schedule", "--from-file", str(FIXTURES / "schedule-2024-06-15-finals.json")],
    )
    odds = runner.invoke(
        main, ["feed", "odds", "--from-file", str(FIXTURES / "odds-2024-06-15-morning.json")]
    )

    assert pulled.exit_code == 0, pulled.output
    assert "15 games; 15 games created; 0 updated; 0 became final; 0 quarantined" in pulled.output
    assert finals.exit_code == 0, finals.output
    assert "13 became final" in finals.output and "became final: 13 games" in finals.output
    assert odds.exit_code == 0, odds.output
    assert "42 odds snapshots written" in odds.output
    assert "feeds_odds_after_first_pitch 1" in odds.output
    assert _count(cli_env, "SELECT count(*) FROM odds_snapshots") == 42


def test_the_cli_refuses_a_malformed_response_in_one_line(cli_env: str) -> None:
    result = CliRunner().invoke(
        main, ["feed", "schedule", "--from-file", str(FIXTURES / "schedule-truncated.json")]
    )

    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.output.strip().splitlines()[-1].startswith("Error: not JSON")
    assert _count(cli_env, "SELECT count(*) FROM quarantine") == 1
