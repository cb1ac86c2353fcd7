"""Bet alerts through Apprise to local JSON receivers: once each, a dead receiver loses nothing."""

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

from app.bets.alerts import deliver, target_of
from app.bets.models import Bet, BetAlert
from app.db.session import session_scope
from tests.integration.conftest import redis_database, start_worker, stop_worker
from tests.polling import until
from workers.celery_app import make_celery

pytestmark = pytest.mark.integration

NOW = datetime(2019, 7, 1, 18, 0, tzinfo=UTC)


class Receiver:
    """A JSON webhook on 127.0.0.1 that records what it took, or answers 500 while down."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.down = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if receiver.down:
                    self.send_response(500)
                else:
                    receiver.received.append(json.loads(body))
                    self.send_response(200)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.server.server_address[1]}/hook"

    def bets(self) -> list[str]:
        return [json.loads(message["message"])["bet_id"] for message in self.received]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receivers() -> Iterator[tuple[Receiver, Receiver]]:
    good, dead = Receiver(), Receiver()
    dead.down = True
    try:
        yield good, dead
    finally:
        good.close()
        dead.close()


def _served(
    session, game_id: int, market: str, *, strategy: str | None = None, paper: bool = False
) -> str:
    bet = Bet(
        bet_id=uuid.uuid4(), game_id=game_id, market=market, side="home",
        line=None if market == "home_ml" else -1.5, book="pin", odds=120, stake=10.0,
        origin="served", status="open", placed_at=NOW - timedelta(hours=1),
        strategy=strategy, paper=paper,
    )  # fmt: skip
    session.add(bet)
    session.flush()
    return str(bet.bet_id)


def test_each_bet_reaches_each_receiver_once_and_a_dead_one_catches_up(
    clean_database, games, receivers
):
    good, dead = receivers
    sessions = lambda: session_scope(clean_database)  # noqa: E731 - a factory of transactions
    with sessions() as session:
        bets = {_served(session, games["final"], m) for m in ("home_ml", "home_spread")}
        session.add(
            Bet(bet_id=uuid.uuid4(), game_id=games["final"], market="total_over", side="over",
                line=8.5, book="user", odds=-110, stake=5.0, origin="user", status="open")
        )  # fmt: skip
    urls = (good.url, dead.url)

    first = deliver(sessions, urls, NOW)
    assert (first.enqueued, first.sent, first.failed) == (4, 2, 2)
    assert sorted(good.bets()) == sorted(bets)  # served bets only, not the user's
    assert good.received[0]["title"] == "Bullpen bet"
    with sessions() as session:
        pending = session.scalars(
            select(BetAlert).where(BetAlert.target == target_of(dead.url))
        ).all()
        assert {(a.status, a.attempts) for a in pending} == {("pending", 1)}
        assert all(a.next_attempt_at == NOW + timedelta(seconds=30) for a in pending)
        assert all("did not take" in a.last_error for a in pending)

    # A run before the backoff is over sends nothing, and nothing twice.
    again = deliver(sessions, urls, NOW + timedelta(seconds=10))
    assert (again.enqueued, again.sent, again.failed) == (0, 0, 0)
    assert len(good.received) == 2 and dead.received == []

    # The dead receiver fails again (a longer wait), then comes back: it gets both, once.
    deliver(sessions, urls, NOW + timedelta(seconds=31))
    with sessions() as session:
        assert {a.attempts for a in session.scalars(select(BetAlert).where(
            BetAlert.target == target_of(dead.url)))} == {2}  # fmt: skip
    dead.down = False
    assert deliver(sessions, urls, NOW + timedelta(seconds=60)).sent == 0  # 60 s backoff now
    back = deliver(sessions, urls, NOW + timedelta(seconds=92))
    assert back.sent == 2
    assert sorted(dead.bets()) == sorted(bets)
    assert len(good.received) == 2
    assert deliver(sessions, urls, NOW + timedelta(days=1)).sent == 0


def test_a_watch_only_paper_bet_is_never_alerted(clean_database, games, receivers):
    good, _ = receivers
    sessions = lambda: session_scope(clean_database)  # noqa: E731 - a factory of transactions
    with sessions() as session:
        live = _served(session, games["final"], "home_ml", strategy="fair")
        _served(session, games["final"], "home_ml", strategy="totals", paper=True)
        _served(session, games["final"], "home_spread", strategy="conservative", paper=True)
    report = deliver(sessions, (good.url,), NOW)
    assert (report.enqueued, report.sent) == (1, 1)
    assert good.bets() == [live]
    assert json.loads(good.received[0]["message"])["strategy"] == "fair"


def test_no_receiver_no_alerts(clean_database, games):
    report = deliver(lambda: session_scope(clean_database), (), NOW)
    assert report.as_dict() == {"enqueued": 0, "sent": 0, "failed": 0}


BROKER_DB = 4  # a broker of its own: the session's worker has no receivers configured


def test_the_beat_task_on_a_real_worker_delivers_once(settings, clean_database, games, receivers):
    good, dead = receivers
    with session_scope(clean_database) as session:
        bet = _served(session, games["final"], "home_ml")
    configured = replace(
        settings,
        database_url=clean_database,
        broker_url=redis_database(settings.broker_url, BROKER_DB),
        alert_urls=(good.url, dead.url),
    )
    process = start_worker(configured)
    try:
        celery = make_celery(configured)
        for _ in range(2):  # two beats at once: still one message to the receiver
            celery.send_task("tasks.bets.send_alerts")
        # Generous for a loaded machine: one local HTTP request per alert.
        until(lambda: good.received, 30, "the good receiver got the alert")
        until(
            lambda: _statuses(clean_database) == {"sent", "pending"},
            30,
            "sent to the good receiver, pending for the dead one",
        )
        time.sleep(1)  # room for a wrong second send to arrive
        assert good.bets() == [bet]
    finally:
        stop_worker(process)


def _statuses(database_url: str) -> set[str]:
    with session_scope(database_url) as session:
        return set(session.scalars(select(BetAlert.status)))
