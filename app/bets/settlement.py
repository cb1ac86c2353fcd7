"""Settlement: every open bet of a finished (or void) game graded exactly once.

Rules:

- **Grading.** Moneyline: the side that scored more wins; a tie is a push. Totals: runs
  over/under the bet's line; equal is a push. Run line (``line`` is the home line): the home
  side covers when ``home + line > away``; equal is a push.
- **Void.** A game without a final score ``VOID_AFTER_DAYS`` days after its date (postponed,
  replayed under another game) voids every bet; a game stopped before its scheduled length
  (``app.markets.went_the_distance``) voids totals and run-line bets (books do), the
  moneyline stands. A totals or run-line bet without a line is void.
- **Profit.** A win pays ``stake * (decimal - 1)``, a loss costs the stake, a push or a void
  returns it (profit 0).
- **Closing line.** The close of a bet is the last pre-game snapshot of the same book showing
  that market, else the SBRO closing price. ``CLV = fair closing probability of the side
  (de-vigged) - implied probability of the price taken (vig included)``: positive when the
  market closed toward the bet. A close at another total or run line is no measure of the
  price taken: ``closing_odds`` and ``clv`` stay null, and ``close_note`` says why.
- **Against the sharp close.** ``sharp_close`` is the side's fair probability at the sharp
  books' close (``BULLPEN_SHARP_BOOKS``, weighted; each book's last pre-game snapshot of the
  market at the bet's line, de-vigged by ``BULLPEN_DEVIG``), and ``sharp_clv = sharp_close -
  implied probability of the price taken``: the measure that does not trust the bet's own
  book. Null, with ``sharp_close_note`` saying why, when no sharp book closed at that line.
- **Exactly once.** Each grading is ``UPDATE bets ... WHERE bet_id = :id AND status = 'open'
  RETURNING``: two settlements racing on one bet both try, the second waits for the first's
  row lock and then finds the bet no longer open, so only one of them grades it (and counts it).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from app import clock
from app.bets.devig import DEFAULT_METHOD, fair_pair
from app.bets.fairline import FairLineRules
from app.bets.models import Bet
from app.bets.quotes import latest_pregame_snapshots, quote_from
from app.bets.strategies import configured, review
from app.config import Settings
from app.db.session import session_scope
from app.games.models import Game, Odds
from app.markets import by_key, went_the_distance
from app.odds import (
    american_to_implied,
    closing_line_value,
    profit,
)

VOID_AFTER_DAYS = 3
SBRO_BOOK = "sbro"


@dataclass(frozen=True)
class GameResult:
    """What settlement needs of a game."""

    home_score: int | None
    away_score: int | None
    full_length: bool
    void: bool


def grade(market: str, side: str, line: float | None, result: GameResult) -> str | None:
    """``won``/``lost``/``push``/``void`` of a bet, or None while the game is pending
    (the market's own rule: ``app.markets.Market.grade``)."""
    if result.void:
        return "void"
    if result.home_score is None or result.away_score is None:
        return None
    return by_key(market).grade(
        side, line, result.home_score, result.away_score, result.full_length
    )


def fair_close(close_side: int, close_other: int, method: str = DEFAULT_METHOD) -> float:
    """The side's fair closing probability: its book's closing prices de-vigged by ``method``
    (the same method as the fair line's, ``BULLPEN_DEVIG``)."""
    implied = american_to_implied(close_side), american_to_implied(close_other)
    return fair_pair(*implied, method)[0]


def clv_at_close(
    price_taken: int, close_side: int, close_other: int, method: str = DEFAULT_METHOD
) -> float:
    """The CLV of a bet at ``price_taken`` against its book's closing prices."""
    return closing_line_value(fair_close(close_side, close_other, method), price_taken)


@dataclass
class SettlementReport:
    """What one settlement did: bets it graded (by status), games still pending."""

    games: int = 0
    graded: dict[str, int] = field(default_factory=dict)
    graded_bets: list[str] = field(default_factory=list)
    pending_games: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "games": self.games,
            "graded": dict(self.graded),
            "bets": len(self.graded_bets),
            "pending_games": list(self.pending_games),
        }


def game_results(session: Session, game_ids: Sequence[int], today: date) -> dict[int, GameResult]:
    """Scores, full length and void of the games."""
    games = session.scalars(select(Game).where(Game.id.in_(game_ids))).all()
    if not games:
        return {}
    frame = pd.DataFrame(
        {
            "length_outs": [g.length_outs for g in games],
            "scheduled_innings": [g.scheduled_innings for g in games],
        },
        dtype=float,
    )
    full = went_the_distance(frame).tolist()
    results = {}
    for game, full_length in zip(games, full, strict=True):
        unplayed = not game.is_final and game.game_date < today - timedelta(days=VOID_AFTER_DAYS)
        results[game.id] = GameResult(
            game.home_score, game.away_score, bool(full_length), void=unplayed
        )
    return results


def _closes(session: Session, game_ids: Sequence[int]) -> tuple[dict, dict[int, Odds]]:
    snapshots = latest_pregame_snapshots(session, game_ids)
    sbro = {
        odds.game_id: odds
        for odds in session.scalars(
            select(Odds).where(Odds.game_id.in_(game_ids), Odds.book == SBRO_BOOK)
        )
    }
    return snapshots, sbro


def closing_quote(
    bet: Bet, snapshots: dict, sbro: dict[int, Odds]
) -> tuple[tuple[int, int] | None, str | None]:
    """(closing price of the side bet, of the other side) at the bet's line, or (None, why)."""
    by_book = snapshots.get(bet.game_id, {}).get(bet.market, {})
    if bet.book in by_book:
        quote = by_book[bet.book][1]
    elif bet.game_id in sbro:
        quote = quote_from(sbro[bet.game_id], SBRO_BOOK, by_key(bet.market).close)
    else:
        quote = None
    if quote is None:
        return None, f"{bet.book} quoted no {bet.market} before first pitch, and no archive close"
    if bet.line is not None and (quote.line is None or quote.line != bet.line):
        return None, f"closed at line {quote.line}, not the bet's {bet.line}"
    yes_side = by_key(bet.market).is_yes(bet.side)
    pair = (quote.price_yes, quote.price_no) if yes_side else (quote.price_no, quote.price_yes)
    return pair, None


def sharp_close(bet: Bet, snapshots: dict, rules: FairLineRules) -> tuple[float | None, str | None]:
    """The side's fair probability at the sharp books' close (module rules), or (None, why)."""
    by_book = snapshots.get(bet.game_id, {}).get(bet.market, {})
    weights = dict(rules.sharp_books)
    fair, total, lines = 0.0, 0.0, []
    yes_side = by_key(bet.market).is_yes(bet.side)
    for book, (_, quote) in by_book.items():
        if book not in weights:
            continue
        if bet.line is not None and quote.line != bet.line:
            lines.append(quote.line)
            continue
        try:
            q_yes, q_no = american_to_implied(quote.price_yes), american_to_implied(quote.price_no)
        except ValueError:  # a stored close that is no American price
            continue
        fair_yes, fair_no = fair_pair(q_yes, q_no, rules.method)
        fair += weights[book] * (fair_yes if yes_side else fair_no)
        total += weights[book]
    if total > 0:
        return fair / total, None
    books = ", ".join(book for book, _ in rules.sharp_books)
    if lines:
        return None, f"the sharp close ({books}) was at line {lines[0]}, not the bet's {bet.line}"
    return None, f"no sharp book ({books}) quoted {bet.market} before first pitch"


def settle_games(
    session: Session,
    game_ids: Iterable[int],
    now: datetime | None = None,
    rules: FairLineRules | None = None,
) -> SettlementReport:
    """Grade every open bet of the games that have a final (or are void), exactly once.

    Call it inside a transaction; the gradings commit with it. ``rules`` (the sharp books and
    the de-vig method of the sharp close) default to the environment's settings.
    """
    now = now or clock.now()
    rules = rules or FairLineRules.from_settings(Settings.from_env())
    ids = sorted({int(game_id) for game_id in game_ids})
    report = SettlementReport(games=len(ids))
    if not ids:
        return report
    results = game_results(session, ids, clock.eastern_date(now))
    bets = session.scalars(
        select(Bet).where(Bet.game_id.in_(ids), Bet.status == "open").order_by(Bet.bet_id)
    ).all()
    snapshots, sbro = _closes(session, ids)
    pending = set()
    for bet in bets:
        result = results.get(bet.game_id)
        status = None if result is None else grade(bet.market, bet.side, bet.line, result)
        if status is None:
            pending.add(bet.game_id)
            continue
        close, note = closing_quote(bet, snapshots, sbro)
        try:
            clv = None if close is None else clv_at_close(bet.odds, *close, rules.method)
        except ValueError:  # a stored close that is no American price
            close, clv, note = None, None, "the close is no valid American price"
        sharp, sharp_note = sharp_close(bet, snapshots, rules)
        graded = session.execute(
            update(Bet)
            .where(Bet.bet_id == bet.bet_id, Bet.status == "open")
            .values(
                status=status,
                profit=profit(status, bet.stake, bet.odds),
                closing_odds=None if close is None else close[0],
                clv=clv,
                close_note=note,
                sharp_close=sharp,
                sharp_clv=None if sharp is None else closing_line_value(sharp, bet.odds),
                sharp_close_note=sharp_note,
                settled_at=now,
            )
            .returning(Bet.bet_id)
            .execution_options(synchronize_session=False)
        ).first()
        if graded is not None:
            report.graded[status] = report.graded.get(status, 0) + 1
            report.graded_bets.append(str(bet.bet_id))
    report.pending_games = sorted(pending)
    return report


def games_to_settle(session: Session, today: date) -> list[int]:
    """Games with an open bet that have a final score or are past the void window."""
    cutoff = today - timedelta(days=VOID_AFTER_DAYS)
    return list(
        session.scalars(
            select(Bet.game_id)
            .join(Game, Game.id == Bet.game_id)
            .where(
                Bet.status == "open",
                Game.retired_at.is_(None),  # its bets were voided when it was retired
                or_(
                    and_(Game.home_score.is_not(None), Game.away_score.is_not(None)),
                    Game.game_date < cutoff,
                ),
            )
            .distinct()
            .order_by(Bet.game_id)
        )
    )


def settle_open_bets(
    session: Session, now: datetime | None = None, rules: FairLineRules | None = None
) -> SettlementReport:
    """Grade every open bet whose game has a final or is past the void window, today being
    the US Eastern date of ``now`` (a game of the 15th is not void at 10 pm on the 18th)."""
    now = now or clock.now()
    return settle_games(session, games_to_settle(session, clock.eastern_date(now)), now, rules)


def settle_then_review(
    settings: Settings, game_ids: Iterable[int] | None = None, now: datetime | None = None
) -> SettlementReport:
    """Grade the open bets of ``game_ids`` (of every game due, when None) and commit, then
    review the strategies on the evidence in a transaction of its own: a review that fails
    never takes the gradings back with it. Every settlement goes through here (the tasks,
    ``bullpen feed schedule``, a schedule backfill job, a replay)."""
    now = now or clock.now()
    rules = FairLineRules.from_settings(settings)
    with session_scope(settings.database_url) as session:
        if game_ids is None:
            report = settle_open_bets(session, now, rules)
        else:
            report = settle_games(session, game_ids, now, rules)
    with session_scope(settings.database_url) as session:
        review(session, configured(settings), now)
    return report
