"""Alerts: each new served bet sent once to every receiver in ``BULLPEN_ALERT_URLS``, via Apprise.

Rules:

- **What.** Every open served bet the bankroll stakes (not ``paper``: a watch-only strategy's
  bet is graded in the ledger, never alerted as one to place) gets one ``bet_alerts`` row per
  receiver (``target``: a hash of the URL, never the URL and its secrets). A receiver added
  later alerts the bets still open then. The message names the bet's ``strategy`` (null for
  the model-price fallback).
- **Once.** A run claims due rows one at a time (``FOR UPDATE SKIP LOCKED``: two runs never
  take the same row), sends, and records ``sent`` in the same transaction. A receiver that
  took a message is never sent it again; only a crash between a receiver's answer and that
  commit can repeat it (no protocol to a webhook can rule that out).
- **A dead receiver.** A failed send leaves the row ``pending`` with ``attempts + 1`` and the
  next try ``min(BASE * 2**attempts, MAX)`` later (30 s doubling, at most an hour); the other
  receivers and the other bets go on. Nothing is dropped: a receiver back after a day gets
  every alert it missed.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import apprise
from sqlalchemy import select, text, update
from sqlalchemy.orm import Session

from app.bets.models import Bet, BetAlert
from app.games.models import Game

BACKOFF_BASE = timedelta(seconds=30)
BACKOFF_MAX = timedelta(hours=1)
TITLE = "Bullpen bet"


def target_of(url: str) -> str:
    """The stable name of a receiver in the database: 16 hex digits of its URL's SHA-256."""
    return hashlib.sha256(url.encode()).hexdigest()[:16]


def backoff(attempts: int) -> timedelta:
    """The wait before try ``attempts + 1`` after ``attempts`` failed ones."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


_ENQUEUE = text(
    """
    INSERT INTO bet_alerts (bet_id, target, next_attempt_at)
    SELECT bet_id, :target, :now FROM bets
    WHERE origin = 'served' AND status = 'open' AND NOT paper
    ON CONFLICT (bet_id, target) DO NOTHING
    """
)


def enqueue(session: Session, urls: tuple[str, ...], now: datetime) -> int:
    """A pending alert per receiver for every open served bet staked by the bankroll (not
    paper) that has none; how many new."""
    return sum(
        session.execute(_ENQUEUE, {"target": target_of(url), "now": now}).rowcount for url in urls
    )


def message(bet: Bet, game: Game) -> str:
    """The alert's body: the bet as JSON."""
    return json.dumps(
        {
            "bet_id": str(bet.bet_id),
            "game_id": bet.game_id,
            "game": f"{game.away_team} at {game.home_team}",
            "game_date": game.game_date.isoformat(),
            "market": bet.market,
            "side": bet.side,
            "line": bet.line,
            "book": bet.book,
            "odds": bet.odds,
            "stake": bet.stake,
            "fair_probability": bet.fair_probability,
            "strategy": bet.strategy,
        },
        sort_keys=True,
    )


def send(url: str, body: str) -> bool:
    """Send one message to one receiver through Apprise; True when it took it."""
    notifier = apprise.Apprise()
    if not notifier.add(url):
        return False
    return bool(notifier.notify(title=TITLE, body=body))


@dataclass
class DeliveryReport:
    """What one run did."""

    enqueued: int = 0
    sent: int = 0
    failed: int = 0
    by_target: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"enqueued": self.enqueued, "sent": self.sent, "failed": self.failed}


def deliver(
    sessions, urls: tuple[str, ...], now: datetime, limit: int = 500, sender=send
) -> DeliveryReport:
    """Enqueue and send the due alerts (module rules), each in a transaction of its own from
    ``sessions()`` (a context manager giving a session). At most ``limit`` sends a run."""
    report = DeliveryReport()
    if not urls:
        return report
    by_target = {target_of(url): url for url in urls}
    with sessions() as session:
        report.enqueued = enqueue(session, urls, now)
    for _ in range(limit):
        with sessions() as session:
            alert = session.scalars(
                select(BetAlert)
                .where(
                    BetAlert.status == "pending",
                    BetAlert.next_attempt_at <= now,
                    BetAlert.target.in_(list(by_target)),
                )
                .order_by(BetAlert.next_attempt_at, BetAlert.id)
                .limit(1)
                .with_for_update(skip_locked=True)
            ).first()
            if alert is None:
                break
            bet = session.get(Bet, alert.bet_id)
            game = session.get(Game, bet.game_id)
            try:
                ok = sender(by_target[alert.target], message(bet, game))
                error = None if ok else "the receiver did not take it"
            except Exception as exc:
                ok, error = False, f"{type(exc).__name__}: {exc}"[:200]
            values = (
                {"status": "sent", "sent_at": now, "attempts": alert.attempts + 1}
                if ok
                else {
                    "attempts": alert.attempts + 1,
                    "next_attempt_at": now + backoff(alert.attempts + 1),
                    "last_error": error,
                }
            )
            session.execute(update(BetAlert).where(BetAlert.id == alert.id).values(**values))
            if ok:
                report.sent += 1
            else:
                report.failed += 1
    return report
