"""Writing and reading the ledger."""

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import Select, func, select, text
from sqlalchemy.orm import Session

from app.bets.models import Bet
from app.games.models import Game
from app.markets import by_key


@dataclass(frozen=True)
class StoredPrediction:
    """A prediction row as written: its id, its game (None for a described game), its payload."""

    prediction_id: int
    game_id: int | None
    payload: dict


def _bets_of(payload: dict) -> list[tuple[str, dict]]:
    """The served recommendations of a payload and the other strategies' paper bets
    (``app.bets.strategies``), as (market, bet)."""
    served = list((payload.get("betting_recommendations") or {}).items())
    paper = [
        (market, bet)
        for market, by_strategy in (payload.get("paper_bets") or {}).items()
        for bet in by_strategy.values()
    ]
    return served + paper


def served_rows(predictions: Sequence[StoredPrediction]) -> list[dict]:
    """One ledger row per served recommendation of a stored game, and per other strategy's
    paper bet."""
    rows = []
    for prediction in predictions:
        if prediction.game_id is None:
            continue  # a described game is not in the database: nothing to settle against
        payload = prediction.payload
        models = payload.get("models") or {}
        for market, bet in _bets_of(payload):
            model = models.get(by_key(market).name) or {}
            rows.append(
                {
                    "bet_id": uuid.uuid4(),
                    "prediction_id": prediction.prediction_id,
                    "game_id": prediction.game_id,
                    "market": market,
                    "side": bet["side"],
                    "line": bet.get("line"),
                    "book": bet.get("book") or "unknown",
                    "odds": int(bet["odds"]),
                    "stake": float(bet["recommended_bet_size"]),
                    "fair_probability": bet.get("fair_probability"),
                    "model_name": model.get("name"),
                    "model_version": model.get("version"),
                    "placed_at": datetime.fromisoformat(payload["prediction_timestamp"]),
                    "origin": "served",
                    "status": "open",
                    "strategy": bet.get("strategy"),
                    "paper": bool(bet.get("paper", False)),
                }
            )
    return rows


# The ledger columns a served recommendation fills, with their PostgreSQL types: one
# array each, one statement per chunk (see ``app.predictions.results.write_results`` for why).
_SERVED_COLUMNS: dict[str, str] = {
    "bet_id": "uuid",
    "prediction_id": "bigint",
    "game_id": "integer",
    "market": "text",
    "side": "text",
    "line": "double precision",
    "book": "text",
    "odds": "integer",
    "stake": "double precision",
    "fair_probability": "double precision",
    "model_name": "text",
    "model_version": "text",
    "placed_at": "timestamptz",
    "origin": "text",
    "status": "text",
    "strategy": "text",
    "paper": "boolean",
}
# A served bet is new unless the game already has one of the same decision: a strategy's of
# the same market (whatever book was best then), a model-price fallback's (no strategy) of
# the same market, side and book.
_INSERT_SERVED = text(
    f"""
    INSERT INTO bets ({", ".join(_SERVED_COLUMNS)})
    SELECT * FROM unnest(
        {", ".join(f"CAST(:{name} AS {kind}[])" for name, kind in _SERVED_COLUMNS.items())}
    ) AS new ({", ".join(_SERVED_COLUMNS)})
    WHERE NOT EXISTS (
        SELECT 1 FROM bets AS served
        WHERE served.origin = 'served' AND served.game_id = new.game_id
          AND served.market = new.market
          AND CASE WHEN new.strategy IS NOT NULL THEN served.strategy = new.strategy
                   ELSE served.strategy IS NULL AND served.side = new.side
                        AND served.book = new.book END
    )
    ON CONFLICT (prediction_id, market, (coalesce(strategy, ''))) DO NOTHING
    RETURNING bet_id
    """
)


# Transaction-level advisory lock (key, game id) serialising the served bets of one game: the
# ``NOT EXISTS`` above cannot see another transaction's uncommitted row (READ COMMITTED), so
# two jobs pricing a game at once would both insert without it. Taken game by game in
# ascending order (``unnest`` yields the array's order), so two jobs never deadlock.
SERVED_LOCK_KEY = 18_001
_LOCK_GAMES = text(
    "SELECT pg_advisory_xact_lock(:key, game_id) FROM unnest(CAST(:game_ids AS integer[]))"
    " AS game_id"
)


def _key(row: dict) -> tuple:
    """What makes a served bet the same decision as another (see ``_INSERT_SERVED``)."""
    if row["strategy"] is not None:
        return (row["game_id"], row["market"], row["strategy"])
    return (row["game_id"], row["market"], None, row["side"], row["book"])


def record_served_bets(session: Session, predictions: Sequence[StoredPrediction]) -> int:
    """Add the served recommendations to the ledger once; return how many rows are new.

    The natural key ``(prediction_id, market, strategy)`` (no strategy: '') makes a
    rewrite of the same predictions (a redelivered or resumed job) add nothing. Beyond it a
    game's served bet is recorded once per decision, whatever the number of jobs that priced
    the game: a strategy's once per market (a later pricing at another best book is the same
    stake), a model-price fallback's (no strategy) once per market, side and book. Each game's
    advisory lock (``SERVED_LOCK_KEY``, held to the end of the transaction) makes two jobs
    pricing it at once add one row. Call it in the transaction that writes them.
    """
    first: dict[tuple, dict] = {}
    for row in served_rows(predictions):
        first.setdefault(_key(row), row)  # the insert's NOT EXISTS sees no row of its own
    rows = list(first.values())
    if not rows:
        return 0
    game_ids = sorted({row["game_id"] for row in rows})
    session.execute(_LOCK_GAMES, {"key": SERVED_LOCK_KEY, "game_ids": game_ids}).all()
    columns = {name: [row[name] for row in rows] for name in _SERVED_COLUMNS}
    return len(session.execute(_INSERT_SERVED, columns).all())


def record_user_bet(session: Session, values: dict) -> Bet:
    """Record a bet a user placed (validated by the caller)."""
    bet = Bet(
        bet_id=uuid.uuid4(),
        origin="user",
        status="open",
        placed_at=values.pop("placed_at", None) or datetime.now(UTC),
        **values,
    )
    session.add(bet)
    session.flush()
    return bet


def bets_query(
    *,
    game_date: date | None = None,
    status: str | None = None,
    market: str | None = None,
    origin: str | None = None,
) -> Select:
    """Bets matching the filters, newest first."""
    query = select(Bet)
    if game_date is not None:
        query = query.join(Game, Game.id == Bet.game_id).where(Game.game_date == game_date)
    if status is not None:
        query = query.where(Bet.status == status)
    if market is not None:
        query = query.where(Bet.market == market)
    if origin is not None:
        query = query.where(Bet.origin == origin)
    return query.order_by(Bet.placed_at.desc(), Bet.bet_id)


def page_of_bets(session: Session, query: Select, page: int, page_size: int) -> tuple[list, int]:
    """One page of ``query`` and the total count."""
    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    items = session.scalars(query.offset((page - 1) * page_size).limit(page_size)).all()
    return list(items), int(total or 0)
