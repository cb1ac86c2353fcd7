"""Served bets go into the ledger once per game and market: a strategy's once whatever book
has the best price later, the model-price fallback's once per side and book, and two jobs
pricing the same game at once (two transactions overlapping at the insert) add one row."""

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from app.bets.ledger import StoredPrediction, record_served_bets
from app.bets.models import Bet
from app.db.session import session_scope
from tests.integration.bets.conftest import add_game, stored_prediction

pytestmark = pytest.mark.integration


def _prediction(session, game_id: int, bets: dict, paper: dict | None = None) -> StoredPrediction:
    """A stored prediction of ``game_id`` serving ``bets`` ({market: bet})."""
    payload = {
        "prediction_timestamp": datetime(2019, 7, 1, 15, tzinfo=UTC).isoformat(),
        "models": {"moneyline": {"name": "moneyline", "version": "1"}},
        "betting_recommendations": bets,
        "paper_bets": paper or {},
    }
    return stored_prediction(session, game_id, payload)


def _bet(book: str, strategy: str | None = None, side: str = "home") -> dict:
    bet = {"side": side, "odds": 120, "book": book, "recommended_bet_size": 10.0}
    return bet | ({"strategy": strategy, "paper": True} if strategy else {})


def _served(url: str, game_id: int) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(Bet).where(Bet.game_id == game_id))


def test_a_strategy_stakes_a_market_once_whatever_book_is_best_later(clean_database):
    with session_scope(clean_database) as session:
        game = add_game(session, "20190701-NYA-BOS-0", None, None).id
        first = _prediction(session, game, {"home_ml": _bet("book-a", "fair")})
        assert record_served_bets(session, [first]) == 1
    with session_scope(clean_database) as session:
        later = _prediction(
            session,
            game,
            {"home_ml": _bet("book-b", "fair")},  # another book is best now: the same decision
            {"home_ml": {"moneyline": _bet("book-b", "moneyline")}},  # another strategy: its own
        )
        assert record_served_bets(session, [later]) == 1
    assert _served(clean_database, game) == 2


def test_a_model_price_bet_is_served_once_per_side_and_book(clean_database):
    with session_scope(clean_database) as session:
        game = add_game(session, "20190701-NYA-BOS-0", None, None).id
        first = _prediction(session, game, {"home_ml": _bet("a")})
        assert record_served_bets(session, [first]) == 1
    with session_scope(clean_database) as session:
        again = _prediction(session, game, {"home_ml": _bet("a")})
        assert record_served_bets(session, [again]) == 0
        other_book = _prediction(session, game, {"home_ml": _bet("b")})
        other_side = _prediction(session, game, {"home_ml": _bet("a", side="away")})
        assert record_served_bets(session, [other_book, other_side]) == 2
    assert _served(clean_database, game) == 3


@pytest.mark.parametrize("strategy", ["fair", None])
def test_two_jobs_pricing_a_game_at_once_add_one_bet(clean_database, strategy):
    with session_scope(clean_database) as session:
        game = add_game(session, "20190701-NYA-BOS-0", None, None).id
        first = _prediction(session, game, {"home_ml": _bet("book-a", strategy)})
        second = _prediction(session, game, {"home_ml": _bet("book-a", strategy)})
    holding, release = threading.Event(), threading.Event()
    added: dict[str, int] = {}

    def first_job() -> None:
        with session_scope(clean_database) as session:
            added["first"] = record_served_bets(session, [first])
            holding.set()
            release.wait(20)  # the first transaction stays open at its insert

    def second_job() -> None:
        with session_scope(clean_database) as session:
            added["second"] = record_served_bets(session, [second])

    one = threading.Thread(target=first_job)
    one.start()
    assert holding.wait(20)
    two = threading.Thread(target=second_job)
    two.start()
    # Until the second job finished or waits on the first one's lock: the writers overlap.
    deadline = time.monotonic() + 10
    waiting = False
    while two.is_alive() and not waiting and time.monotonic() < deadline:
        with session_scope(clean_database) as session:
            waiting = bool(
                session.scalar(
                    text(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                        " AND wait_event_type = 'Lock' AND wait_event = 'advisory'"
                    )
                )
            )
        time.sleep(0.05)
    release.set()
    one.join(20)
    two.join(20)
    assert _served(clean_database, game) == 1
    assert (added["first"], added["second"]) == (1, 0)
    assert waiting, "the second job did not wait for the first one's transaction"
