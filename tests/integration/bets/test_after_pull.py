"""An odds pull prices the games it brought quotes of, on the real worker: a soft book beating
Pinnacle's de-vigged line is served once however often the odds are pulled, and alerted once.
The provider's responses are The Odds API v4 bodies written here, with two bookmakers."""

import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from app.after_pull import price_quoted_games
from app.bets.alerts import deliver
from app.bets.devig import fair_pair
from app.bets.models import Bet, StrategyState
from app.bets.strategies import force
from app.clock import eastern_date
from app.db.session import session_scope
from app.feeds.run import pull_odds
from app.games.models import Game
from app.jobs.models import Job
from app.ml.models import Prediction
from app.odds import american_to_decimal, american_to_implied, decimal_to_american
from tests.integration.bets.test_alerts import Receiver
from workers.celery_app import make_celery
from workers.dispatch import CeleryJobQueue

pytestmark = pytest.mark.integration

PINNACLE = (-150, 140)
JOB_WAIT_SECONDS = 180  # a loaded 2-core machine: the first job of a worker loads three models


class OddsProvider:
    """The Odds API v4 odds endpoint on 127.0.0.1, answering whatever body it is given."""

    def __init__(self) -> None:
        self.body: list[dict] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                data = json.dumps(provider.body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def provider() -> Iterator[OddsProvider]:
    server = OddsProvider()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _event(start: datetime, seen: datetime, soft_home: int) -> dict:
    stamp = seen.strftime("%Y-%m-%dT%H:%M:%SZ")

    def book(key: str, home: int, away: int) -> dict:
        h2h = {"key": "h2h", "last_update": stamp, "outcomes": [
            {"name": "Seattle Mariners", "price": home},
            {"name": "Oakland Athletics", "price": away},
        ]}  # fmt: skip
        return {"key": key, "title": key, "last_update": stamp, "markets": [h2h]}

    return {
        "id": uuid.uuid4().hex, "sport_key": "baseball_mlb", "sport_title": "MLB",
        "commence_time": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "home_team": "Seattle Mariners", "away_team": "Oakland Athletics",
        # The soft book's margin is plausible (the feed quarantines a wild one): +100 away.
        "bookmakers": [book("pinnacle", *PINNACLE), book("softbook", soft_home, 100)],
    }  # fmt: skip


def _wait(settings, job_id: uuid.UUID) -> str:
    deadline = time.monotonic() + JOB_WAIT_SECONDS
    while time.monotonic() < deadline:
        with session_scope(settings.database_url) as session:
            status = session.get(Job, job_id).status
        if status in ("succeeded", "failed", "cancelled"):
            return status
        time.sleep(0.1)
    return "timed out"


def test_a_pull_prices_its_games_once_and_alerts_once(seeded, worker, provider, capsys):
    now = datetime.now(UTC)
    start = (now + timedelta(hours=6)).replace(second=0, microsecond=0)
    if eastern_date(start) != eastern_date(now):
        start = now + timedelta(minutes=90)  # late at night: a game later today all the same
    q_home, q_away = (american_to_implied(price) for price in PINNACLE)
    fair_home = fair_pair(q_home, q_away, seeded.devig)[0]
    soft = round(decimal_to_american(1.08 / fair_home))
    with session_scope(seeded.database_url) as session:
        game = Game(
            game_key=f"after-pull-{uuid.uuid4().hex[:6]}", season=start.year,
            game_date=eastern_date(start), start_time=start, home_team="SEA", away_team="OAK",
        )  # fmt: skip
        session.add(game)
        session.flush()
        game_id = game.id
    receiver = Receiver()
    settings = replace(
        seeded, odds_api_url=provider.url, odds_api_key="key", alert_urls=(receiver.url,)
    )
    queue = CeleryJobQueue(make_celery(settings))
    with session_scope(seeded.database_url) as session:
        # "fair" live for this test (the others watch): its bet is the one the bankroll stakes.
        before = session.get(StrategyState, "fair")
        saved = None if before is None else (before.state, before.forced, before.reason)
        force(session, "fair", "live", now)
    try:
        timings = []
        for pull in range(2):  # the beat pulls every 30 minutes: the second adds no bet
            seen = datetime.now(UTC) - timedelta(seconds=30 - pull)
            provider.body = [_event(start, seen, soft)]
            started = time.perf_counter()
            run = pull_odds(settings, day=eastern_date(start))
            assert run.ok and game_id in run.quoted_games, run.to_json()
            job = price_quoted_games(settings, run.quoted_games, queue, datetime.now(UTC))
            assert job is not None and _wait(settings, job.id) == "succeeded"
            priced = time.perf_counter()
            deliver(
                lambda: session_scope(settings.database_url), settings.alert_urls, datetime.now(UTC)
            )
            timings.append((priced - started, time.perf_counter() - started))
        with session_scope(settings.database_url) as session:
            bets = session.scalars(select(Bet).where(Bet.game_id == game_id)).all()
            payloads = session.scalars(
                select(Prediction.payload).where(Prediction.game_id == game_id)
            ).all()
        # Both pulls priced the game and recommended the bet; the ledger holds it once.
        assert [p["betting_recommendations"]["home_ml"]["book"] for p in payloads] == [
            "softbook"
        ] * 2
        # Once per strategy that trades the moneyline: the live one's staked, the others paper.
        assert sorted((b.strategy, b.book, b.side, b.odds, b.paper) for b in bets) == [
            ("conservative", "softbook", "home", soft, True),
            ("fair", "softbook", "home", soft, False),
            ("moneyline", "softbook", "home", soft, True),
        ]
        fair_bet = next(b for b in bets if b.strategy == "fair")
        # The EV served, recomputed from the quotes the provider showed.
        assert fair_bet.fair_probability == pytest.approx(fair_home)
        assert fair_home * american_to_decimal(soft) - 1 == pytest.approx(0.08, abs=0.01)
        # The staked bet sent once, over two pulls; the paper ones never (watch-only). The
        # session's database may hold other tests' open served bets, which a new receiver is
        # sent too, each once.
        sent = receiver.bets()
        assert sent.count(str(fair_bet.bet_id)) == 1 and len(sent) == len(set(sent))
        assert not {str(b.bet_id) for b in bets if b.paper} & set(sent)
    finally:
        receiver.close()
        with session_scope(seeded.database_url) as session:
            row = session.get(StrategyState, "fair")
            if saved is None:
                session.delete(row)
            else:
                row.state, row.forced, row.reason = saved
    with capsys.disabled():
        for number, (to_bets, to_alerts) in enumerate(timings, start=1):
            print(f"\npull {number}: bets recorded {to_bets:.2f} s, alerts sent {to_alerts:.2f} s")
