"""A replayed week behind a real browser.

The data: the session's replayed week (``replayed_week``: ``bullpen replay`` of 2019-04-01..07
on the shipped sample, its own PostgreSQL, Redis, API under gunicorn and Celery workers, kept
running; the replay tests read the same one). The replay serves no bet (no champion has
evidence of an edge at one book's prices), so a bettor's own bets are recorded through
``POST /api/v1/bets`` and graded by the settlement the replay itself runs
(``app.bets.settlement.settle_games``), each day at the end of its day. Each champion is
evaluated once (``bullpen ml evaluate``'s code) so that the models page has a recorded
evaluation next to the live numbers.

The browser: Debian's ``chromium`` driven by Playwright (``executable_path``: Playwright's
own browser download is not used). Every request a page makes is recorded, and a test
fails if one goes to any host but the server's own. Screenshots go to
``var/test-artifacts/web/``.
"""

import shutil
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from app.bets.settlement import settle_games
from app.config import Settings
from app.db.session import dispose_engines, session_scope
from app.markets import TARGETS
from app.replay.provider import BOOK
from app.stack.embedded import DATABASE_NAME
from tests.integration.replay.harness import FIRST, LAST

ARTIFACTS = Path(__file__).resolve().parents[3] / "var" / "test-artifacts" / "web"
STAKES = {"home_ml": 25.0, "total_over": 15.0}


def days() -> list[date]:
    return [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]


def get_json(api: str, path: str, **params) -> dict | list:
    """A GET of the API as JSON (raises on a non-2xx answer)."""
    response = requests.get(f"{api}{path}", params=params, timeout=60)
    response.raise_for_status()
    return response.json()


def _replay_settings(run: dict) -> Settings:
    """The replay's database and MLflow store: its embedded PostgreSQL (app.stack.embedded)
    listens on a socket in its data folder, under the replay's var folder
    (app.replay.stack.replay_dir), next to its MLflow database."""
    var_dir = run["root"] / "var" / "replay-2019"
    return replace(
        Settings.from_env({}),
        database_url=f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={var_dir / 'pgdata'}",
        mlflow_tracking_uri=f"sqlite:///{var_dir / 'mlflow.db'}",
        var_dir=var_dir,
    )


def _bets_of_day(api: str, day: date) -> list[dict]:
    """Two bets on each of the day's first three games with a quote: home ML, and the over,
    at the opening prices, with the replay's one bookmaker (so settlement finds its close)."""
    bets = []
    for game in get_json(api, "/api/v1/games", date=day.isoformat())[:3]:
        odds = next((o for o in game["odds"] if o["home_ml_open"] and o["over_open"]), None)
        if odds is None:
            continue
        placed_at = datetime.combine(day, time(13, 30), tzinfo=UTC).isoformat()
        common = {"game_id": game["id"], "book": BOOK, "placed_at": placed_at}
        bets.append(
            common
            | {"market": "home_ml", "side": "home", "odds": odds["home_ml_open"]}
            | {"stake": STAKES["home_ml"]}
        )
        bets.append(
            common
            | {"market": "total_over", "side": "over", "line": odds["total_open"]}
            | {"odds": odds["over_open"], "stake": STAKES["total_over"]}
        )
    return bets


@pytest.fixture(scope="package")
def stack(replayed_week: dict) -> dict:
    """The replayed week with the bettor's bets graded day by day and the champions evaluated."""
    from app.ml.backtest import evaluate_version

    api = replayed_week["api"]
    settings = _replay_settings(replayed_week)
    served = get_json(api, "/api/v1/bankroll")["summary"]["bets"]  # by the replay itself
    recorded = 0
    try:
        for day in days():
            game_ids = set()
            for bet in _bets_of_day(api, day):
                response = requests.post(f"{api}/api/v1/bets", json=bet, timeout=30)
                assert response.status_code == 201, response.text
                game_ids.add(bet["game_id"])
                recorded += 1
            end_of_day = datetime.combine(day + timedelta(days=1), time(8), tzinfo=UTC)
            with session_scope(settings.database_url) as session:
                report = settle_games(session, game_ids, now=end_of_day)
            assert sum(report.as_dict()["graded"].values()) > 0, report.as_dict()
        for target in TARGETS:
            champion = get_json(api, "/api/v1/models/active")[target]["version"]
            with session_scope(settings.database_url) as session:
                evaluate_version(session, settings, target, champion)
    finally:
        dispose_engines()
    assert recorded >= 2 * len(days())
    return {**replayed_week, "recorded_bets": recorded, "ledger_bets": served + recorded}


@pytest.fixture(scope="session")
def browser() -> Iterator:
    """Headless Debian chromium under Playwright; a missing browser fails, never skips."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail(
            "the browser tests need Debian's chromium on PATH "
            "(apt-get install -y chromium; .ci/run installs it)",
            pytrace=False,
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, headless=True)
        try:
            yield launched
        finally:
            launched.close()


class Visit:
    """A browser page that records every request and every console error it sees."""

    def __init__(self, browser, base_url: str) -> None:
        self.base_url = base_url
        self.context = browser.new_context(
            base_url=base_url, viewport={"width": 1280, "height": 900}
        )
        self.page = self.context.new_page()
        self.requests: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("response", self._failed)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def _failed(self, response) -> None:
        # A page asked for may be a 4xx on purpose; anything it loads may not.
        if response.status >= 400 and response.request.resource_type != "document":
            self.errors.append(f"{response.status} {response.url}")

    def _console(self, message) -> None:
        # "Failed to load resource" repeats what _failed records (or the document's status).
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            self.errors.append(message.text)

    def goto(self, path: str, status: int = 200):
        response = self.page.goto(path, wait_until="load")
        assert response is not None and response.status == status, (path, response.status)
        return response

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def foreign_requests(self) -> list[str]:
        """Requests to any host (scheme, host, port) but the server's own."""
        own = urlsplit(self.base_url)
        return [
            url
            for url in self.requests
            if not url.startswith(("data:", "blob:", "about:"))
            and (urlsplit(url).scheme, urlsplit(url).netloc) != (own.scheme, own.netloc)
        ]


@pytest.fixture
def visit(browser, stack: dict) -> Iterator[Visit]:
    """A fresh browser context on the replay's API; no request may leave the server."""
    visitor = Visit(browser, stack["api"])
    try:
        yield visitor
        assert visitor.foreign_requests() == [], visitor.foreign_requests()
        assert visitor.errors == [], visitor.errors  # console errors, failed loads
    finally:
        visitor.context.close()
