"""Book quotes of stored games from PostgreSQL: pre-game snapshots, else the ``odds`` rows."""

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time
from functools import cache

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from app.db.filters import among_param
from app.games.models import Game, Odds, OddsSnapshot
from app.markets import BY_KEY, Quote
from app.staking.pricing import BookQuote

Quotes = dict[str, list[BookQuote]]  # market -> one quote per book


def first_pitch(start_time: datetime | None, game_date: date) -> datetime:
    """When betting closes: the known first pitch, else 00:00 UTC of the game's date."""
    if start_time is not None:
        return start_time if start_time.tzinfo else start_time.replace(tzinfo=UTC)
    return datetime.combine(game_date, time(0), tzinfo=UTC)


def _number(value: object) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _price(value: object) -> int | None:
    number = _number(value)
    return None if number is None else int(number)


def quote_from(
    row: object, book: str, columns: Quote, captured_at: datetime | None = None
) -> BookQuote | None:
    """The quote of ``row`` (an ORM row or a mapping) in ``columns``; None without both prices."""
    get = row.get if isinstance(row, Mapping) else lambda name: getattr(row, name, None)
    yes, no = _price(get(columns.yes)), _price(get(columns.no))
    if yes is None or no is None:
        return None
    line = _number(get(columns.line)) if columns.line else None
    return BookQuote(book, yes, no, line, captured_at)


def _columns(model: type, quotes: Iterable[Quote]) -> list:
    """The distinct columns of ``model`` that ``quotes`` name, in their first order."""
    names = dict.fromkeys(name for quote in quotes for name in quote.columns)
    return [getattr(model, name) for name in names]


@cache
def _snapshots_among() -> Select:
    """The snapshots of the games in the parameter ``ids``, oldest first, with their game's
    first pitch; built once per process. Plain rows of the columns read, not ORM objects: a
    chunk's games have thousands."""
    return (
        select(
            OddsSnapshot.game_id,
            OddsSnapshot.book,
            OddsSnapshot.captured_at,
            *_columns(OddsSnapshot, (market.snapshot for market in BY_KEY.values())),
            Game.start_time,
            Game.game_date,
        )
        .join(Game, Game.id == OddsSnapshot.game_id)
        .where(among_param(OddsSnapshot.game_id, "ids"))
        .order_by(OddsSnapshot.captured_at)
    )


@cache
def _opening_odds_among() -> Select:
    """The ``odds`` rows of the games in the parameter ``ids``; built once per process."""
    priced = [market.priced for market in BY_KEY.values()]
    return select(Odds.game_id, Odds.book, *_columns(Odds, priced)).where(
        among_param(Odds.game_id, "ids")
    )


def latest_pregame_snapshots(
    session: Session, game_ids: Iterable[int]
) -> dict[int, dict[str, dict[str, tuple[datetime, BookQuote]]]]:
    """{game: {market: {book: (captured_at, quote)}}}: the latest pre-game quote of each book."""
    ids = sorted({int(game_id) for game_id in game_ids})
    if not ids:
        return {}
    rows = session.connection().execute(_snapshots_among(), {"ids": ids}).all()
    latest: dict[int, dict[str, dict[str, tuple[datetime, BookQuote]]]] = {}
    for snapshot in rows:
        if snapshot.captured_at >= first_pitch(snapshot.start_time, snapshot.game_date):
            continue
        for market in BY_KEY.values():
            quote = quote_from(snapshot, snapshot.book, market.snapshot, snapshot.captured_at)
            if quote is not None:
                by_book = latest.setdefault(snapshot.game_id, {}).setdefault(market.key, {})
                by_book[snapshot.book] = (snapshot.captured_at, quote)
    return latest


def book_quotes(session: Session, game_ids: Iterable[int]) -> dict[int, Quotes]:
    """{game: {market: quotes}}: pre-game snapshots, or the ``odds`` rows of a game without any."""
    ids = sorted({int(game_id) for game_id in game_ids})
    snapshots = latest_pregame_snapshots(session, ids)
    quotes: dict[int, Quotes] = {
        game_id: {market: [quote for _, quote in books.values()] for market, books in by.items()}
        for game_id, by in snapshots.items()
    }
    without = [game_id for game_id in ids if game_id not in quotes]
    if without:
        for odds in session.connection().execute(_opening_odds_among(), {"ids": without}):
            by_market = quotes.setdefault(odds.game_id, {})
            for market in BY_KEY.values():
                quote = quote_from(odds, odds.book, market.priced)
                if quote is not None:
                    by_market.setdefault(market.key, []).append(quote)
    return quotes
