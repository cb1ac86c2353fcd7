"""Settlement on real PostgreSQL: grading, CLV, void rules, and exactly once under races."""

import threading
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from app.bets.fairline import FairLineRules
from app.bets.ledger import record_user_bet
from app.bets.models import Bet
from app.bets.settlement import clv_at_close, games_to_settle, settle_games
from app.db.session import session_scope

pytestmark = pytest.mark.integration

SETTLERS = 8


def _bet(session, game_id: int, market: str, side: str, odds: int, **fields) -> Bet:
    return record_user_bet(
        session,
        {"game_id": game_id, "market": market, "side": side, "odds": odds,
         "stake": fields.pop("stake", 100.0), "book": fields.pop("book", "user"), **fields},
    )  # fmt: skip


def test_bets_are_graded_with_profit_and_clv_at_close(clean_database, games):
    with session_scope(clean_database) as session:
        pin = _bet(session, games["final"], "home_ml", "home", -125, book="pin").bet_id
        sbro = _bet(session, games["final"], "home_ml", "away", 120).bet_id
        total = _bet(session, games["final"], "total_over", "under", -110, line=8.5).bet_id
        push = _bet(session, games["final"], "total_over", "over", -105, line=8.0).bet_id
        spread = _bet(session, games["final"], "home_spread", "home", 140, line=-1.5).bet_id
        short = _bet(session, games["short"], "total_over", "over", -110, line=4.5).bet_id
        short_ml = _bet(session, games["short"], "home_ml", "home", -110).bet_id
        unplayed = _bet(session, games["unplayed"], "home_ml", "home", -110).bet_id
        upcoming = _bet(session, games["upcoming"], "home_ml", "home", -110).bet_id

    with session_scope(clean_database) as session:
        report = settle_games(session, list(games.values()))

    with session_scope(clean_database) as session:
        bets = {bet.bet_id: bet for bet in session.scalars(select(Bet))}
    assert report.graded == {"won": 4, "lost": 1, "push": 1, "void": 2}
    assert report.pending_games == [games["upcoming"]]
    # pin's close is its last snapshot before first pitch (22:30), not the 23:30 one.
    assert (bets[pin].status, bets[pin].profit) == ("won", pytest.approx(80.0))
    assert bets[pin].closing_odds == -135
    assert bets[pin].clv == pytest.approx(clv_at_close(-125, -135, 125))
    # A book without snapshots closes at SBRO's close.
    assert (bets[sbro].status, bets[sbro].profit, bets[sbro].closing_odds) == ("lost", -100, 130)
    assert bets[sbro].clv == pytest.approx(clv_at_close(120, 130, -140))
    assert bets[total].status == "won"  # 8 runs under 8.5
    assert bets[total].closing_odds is None and bets[total].clv is None  # closed at 9.0
    assert bets[total].close_note == "closed at line 9.0, not the bet's 8.5"
    assert bets[pin].close_note is None
    assert (bets[push].status, bets[push].profit) == ("push", 0.0)
    assert (bets[spread].status, bets[spread].profit) == ("won", pytest.approx(140.0))
    assert bets[spread].clv == pytest.approx(clv_at_close(140, 140, -160))
    assert bets[short].status == "void"  # 6 innings: totals void
    assert bets[short_ml].status == "won"  # the moneyline stands
    assert "user quoted no home_ml before first pitch" in bets[short_ml].close_note
    assert bets[unplayed].status == "void"
    assert bets[upcoming].status == "open" and bets[upcoming].settled_at is None


def test_concurrent_settlements_grade_each_bet_exactly_once(clean_database, games):
    with session_scope(clean_database) as session:
        for index in range(40):
            _bet(session, games["final"], "home_ml", ("home", "away")[index % 2], -110 - index)
            _bet(session, games["short"], "total_over", "over", -110, line=4.5)
    barrier = threading.Barrier(SETTLERS)
    reports, errors = [], []

    def settle() -> None:
        try:
            with session_scope(clean_database) as session:
                barrier.wait()
                reports.append(settle_games(session, [games["final"], games["short"]]))
        except Exception as error:
            errors.append(error)

    threads = [threading.Thread(target=settle) for _ in range(SETTLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    graded = [bet_id for report in reports for bet_id in report.graded_bets]
    assert len(graded) == len(set(graded)) == 80
    with session_scope(clean_database) as session:
        assert session.scalars(select(Bet).where(Bet.status == "open")).all() == []
        statuses = {status: n for status, n in _counts(session)}
    assert statuses == {"won": 20, "lost": 20, "void": 40}
    # A redelivered message afterwards grades nothing.
    with session_scope(clean_database) as session:
        assert settle_games(session, [games["final"], games["short"]]).graded == {}


def _counts(session):
    from sqlalchemy import func

    return session.execute(select(Bet.status, func.count()).group_by(Bet.status)).all()


def test_the_safety_net_finds_games_with_a_final_or_past_the_void_window(clean_database, games):
    with session_scope(clean_database) as session:
        for key in games:
            _bet(session, games[key], "home_ml", "home", -110)
        found = games_to_settle(session, datetime.now(UTC).date())

    assert sorted(found) == sorted([games["final"], games["short"], games["unplayed"]])


def test_the_clv_report_by_market_and_book(clean_database, games, clean_client):
    with session_scope(clean_database) as session:
        _bet(session, games["final"], "home_ml", "home", -125, book="pin")
        _bet(session, games["final"], "home_ml", "away", 120)
        _bet(session, games["final"], "home_spread", "home", 140, line=-1.5)
    with session_scope(clean_database) as session:
        settle_games(session, [games["final"]])

    by_market = clean_client.get("/api/v1/bets/clv?group_by=market").get_json()
    groups = {group["market"]: group for group in by_market["groups"]}
    ml = [clv_at_close(-125, -135, 125), clv_at_close(120, 130, -140)]
    assert groups["home_ml"]["n"] == 2
    assert groups["home_ml"]["mean_clv"] == pytest.approx(sum(ml) / 2)
    assert groups["home_ml"]["beat_rate"] == pytest.approx(sum(v > 0 for v in ml) / 2)
    assert groups["home_ml"]["t"] is None  # one game date: no clustered error
    by_book = clean_client.get("/api/v1/bets/clv?group_by=book").get_json()["groups"]
    assert {group["book"] for group in by_book} == {"pin", "user"}
    assert clean_client.get("/api/v1/bets/clv?group_by=colour").status_code == 422


def _additive_fair(price_side: int, price_other: int) -> float:
    """The side's additive de-vig, by hand: its implied probability less half the margin."""

    def implied(price: int) -> float:
        return 100 / (price + 100) if price > 0 else -price / (-price + 100)

    q_side, q_other = implied(price_side), implied(price_other)
    return q_side - (q_side + q_other - 1) / 2


def test_clv_against_the_sharp_close_is_recomputed_from_its_closes(clean_database, games):
    """Whatever book a bet was at, its sharp CLV is measured at the sharp book's last
    pre-game quote (pin's 22:30 -135/+125, not the 23:30 one after first pitch)."""
    rules = FairLineRules(method="additive", sharp_books=(("pin", 1.0),))
    with session_scope(clean_database) as session:
        soft = _bet(session, games["final"], "home_ml", "away", 130, book="soft").bet_id
        spread = _bet(session, games["final"], "home_spread", "home", 140, line=-1.5).bet_id
    with session_scope(clean_database) as session:
        settle_games(session, [games["final"]], rules=rules)
    with session_scope(clean_database) as session:
        bets = {bet.bet_id: bet for bet in session.scalars(select(Bet))}

    close = _additive_fair(125, -135)
    assert bets[soft].sharp_close == pytest.approx(close)
    assert bets[soft].sharp_clv == pytest.approx(close - 100 / 230)
    assert bets[soft].sharp_close_note is None
    # The soft book has no snapshot: its own close is SBRO's, another measure.
    assert bets[soft].clv == pytest.approx(clv_at_close(130, 130, -140))
    # pin quoted no run line: no sharp CLV, and the ledger says why.
    assert bets[spread].sharp_clv is None and bets[spread].sharp_close is None
    note = "no sharp book (pin) quoted home_spread before first pitch"
    assert bets[spread].sharp_close_note == note


def test_the_clv_report_by_strategy_carries_the_sharp_measure(clean_database, games, clean_client):
    with session_scope(clean_database) as session:
        _bet(session, games["final"], "home_ml", "away", 130, book="soft")
    with session_scope(clean_database) as session:
        rules = FairLineRules(method="additive", sharp_books=(("pin", 1.0),))
        settle_games(session, [games["final"]], rules=rules)
    body = clean_client.get("/api/v1/bets/clv?group_by=strategy").get_json()
    (group,) = body["groups"]
    assert group["strategy"] is None  # a user's own bet belongs to no strategy
    assert group["sharp"]["n"] == 1
    assert group["sharp"]["mean_clv"] == pytest.approx(_additive_fair(125, -135) - 100 / 230)
    assert group["sharp"]["beat_rate"] == 1.0


def test_a_failing_strategy_review_keeps_the_settlements(clean_database, games, monkeypatch):
    from tasks import bets as tasks
    from tasks.base import settings

    with session_scope(clean_database) as session:
        bet = _bet(session, games["final"], "home_ml", "home", -125).bet_id
    # Settings that load (a worker started before the check existed) but whose strategies
    # the review refuses: the grading must still commit.
    monkeypatch.setenv("BULLPEN_DATABASE_URL", clean_database)
    monkeypatch.setenv("BULLPEN_STRATEGIES", '[{"name": "fair", "method": "multiplcative"}]')
    settings.cache_clear()
    try:
        with pytest.raises(ValueError, match="multiplcative"):
            tasks.settle_games.run([games["final"]])
    finally:
        settings.cache_clear()
    with session_scope(clean_database) as session:
        assert session.get(Bet, bet).status == "won"


def test_clv_at_the_books_close_is_de_vigged_by_the_configured_method(clean_database, games):
    """The book's close is de-vigged as the fair line and the sharp close are (it was
    multiplicative whatever ``BULLPEN_DEVIG`` said)."""
    with session_scope(clean_database) as session:
        bet = _bet(session, games["final"], "home_ml", "home", -125, book="pin").bet_id
    rules = FairLineRules(method="shin", sharp_books=(("pin", 1.0),))

    with session_scope(clean_database) as session:
        settle_games(session, [games["final"]], rules=rules)

    with session_scope(clean_database) as session:
        clv = session.get(Bet, bet).clv
    assert clv == pytest.approx(clv_at_close(-125, -135, 125, "shin"))
    assert clv != pytest.approx(clv_at_close(-125, -135, 125, "multiplicative"), abs=1e-6)


def test_gradings_are_committed_before_the_review_and_outlive_its_failure(
    settings, clean_database, games, monkeypatch
):
    """Every settlement (the tasks, the schedule command, a backfill job, a replay) grades and
    commits, then reviews the strategies apart: a review that fails takes no grade back."""
    from app.bets import settlement

    with session_scope(clean_database) as session:
        bet = _bet(session, games["final"], "home_ml", "home", -125, book="pin").bet_id
    reviewed = []

    def failing_review(session, strategies, now):
        graded = session.scalar(select(Bet.status).where(Bet.bet_id == bet))
        reviewed.append(graded)  # the review's own transaction sees the grade committed
        raise RuntimeError("the review failed")

    monkeypatch.setattr(settlement, "review", failing_review)
    with pytest.raises(RuntimeError, match="the review failed"):
        settlement.settle_then_review(replace(settings, database_url=clean_database))

    assert reviewed == ["won"]
    with session_scope(clean_database) as session:
        assert session.get(Bet, bet).status == "won"
