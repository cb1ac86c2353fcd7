"""A date's slate and one game, as the bettor's pages show them.

Per game and target: the latest prediction's model and de-vigged market probabilities and
edge (as served by ``GET /api/v1/predict/{id}``), the served recommendation if any (its
price, book, EV, stake), else the best price over the books at the line the model priced
(``app.staking.pricing.best_offer``, the rules of price shopping), and the game's ledger bets.

The line a probability is about is the prediction's own (``lines``). A prediction stored
before predictions carried it is read at the game's opening total, which never moves; its
run line is unknown (the stored one may have moved since), so it gets no price.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bets.models import Bet
from app.bets.quotes import Quotes, book_quotes
from app.games.models import Game, Odds, OddsSnapshot
from app.games.queries import load_games_frame
from app.markets import MARKETS
from app.ml.served import latest_predictions
from app.staking.pricing import best_offer, risk_level

# Lines of a prediction without its own ``lines``: what never moves (the opening total).
STABLE_LINES = {
    market.name: market.open.line
    for market in MARKETS.values()
    if market.open is not None and market.open.line is not None
}


@dataclass
class MarketView:
    """One target of one game: model against market, and what it would take to bet it."""

    target: str
    market: str
    model_probability: float | None
    market_probability: float | None
    edge: float | None
    line: float | None
    served: dict[str, Any] | None
    offer: dict[str, Any] | None

    @property
    def risk_level(self) -> str:
        """The served bet's risk (``app.staking.pricing.risk_level``); ``none`` unserved."""
        return risk_level({self.market: self.served} if self.served else {})


@dataclass
class GameView:
    """A game of the slate with its latest prediction, per-target views and ledger bets."""

    game: Game
    prediction: dict[str, Any] | None
    markets: list[MarketView]
    bets: list[Bet] = field(default_factory=list)

    @property
    def status(self) -> str:
        """The feed's status, else ``final`` with a score and ``scheduled`` without."""
        if self.game.status:
            return self.game.status
        return "final" if self.game.is_final else "scheduled"

    @property
    def risk_level(self) -> str | None:
        return self.prediction.get("risk_level") if self.prediction else None


def slate(session: Session, day: date) -> list[GameView]:
    """Every stored game of ``day`` in order of first pitch, with its prediction and bets."""
    games = session.scalars(
        select(Game)
        .where(Game.game_date == day, Game.retired_at.is_(None))
        .order_by(Game.start_time.asc().nulls_last(), Game.game_number, Game.id)
    ).all()
    return game_views(session, games)


def neighbour_dates(session: Session, day: date) -> tuple[date | None, date | None]:
    """The nearest dates before and after ``day`` that have stored games (None: there is none)."""
    live = Game.retired_at.is_(None)
    before = session.scalar(select(func.max(Game.game_date)).where(Game.game_date < day, live))
    after = session.scalar(select(func.min(Game.game_date)).where(Game.game_date > day, live))
    return before, after


def game_views(session: Session, games: Sequence[Game]) -> list[GameView]:
    """The views of ``games`` (stored games), in their order."""
    ids = [game.id for game in games]
    if not ids:
        return []
    predictions = latest_predictions(session, ids)
    quotes = book_quotes(session, ids)
    lines = _stable_lines(session, ids)
    bets: dict[int, list[Bet]] = {}
    for bet in session.scalars(
        select(Bet).where(Bet.game_id.in_(ids)).order_by(Bet.placed_at, Bet.bet_id)
    ):
        bets.setdefault(bet.game_id, []).append(bet)
    return [
        GameView(
            game=game,
            prediction=predictions.get(game.id),
            markets=_markets(predictions.get(game.id), quotes.get(game.id, {}), lines[game.id]),
            bets=bets.get(game.id, []),
        )
        for game in games
    ]


def line_history(session: Session, game_id: int) -> list[OddsSnapshot]:
    """Every stored line snapshot of a game, oldest first."""
    return list(
        session.scalars(
            select(OddsSnapshot)
            .where(OddsSnapshot.game_id == game_id)
            .order_by(OddsSnapshot.captured_at, OddsSnapshot.book)
        )
    )


def book_odds(session: Session, game_id: int) -> list[Odds]:
    """The opening and closing prices of each book of a game."""
    return list(session.scalars(select(Odds).where(Odds.game_id == game_id).order_by(Odds.book)))


def _stable_lines(session: Session, game_ids: list[int]) -> dict[int, dict[str, float | None]]:
    """The stable lines of each game (for predictions that do not carry their lines)."""
    frame = load_games_frame(session, game_ids=game_ids)
    lines: dict[int, dict[str, float | None]] = {game_id: {} for game_id in game_ids}
    for row in frame.itertuples(index=False):
        lines[int(row.game_id)] = {
            target: None if pd.isna(getattr(row, column)) else float(getattr(row, column))
            for target, column in STABLE_LINES.items()
        }
    return lines


def _markets(
    prediction: dict[str, Any] | None, quotes: Quotes, stable_lines: dict[str, float | None]
) -> list[MarketView]:
    views = []
    served = (prediction or {}).get("betting_recommendations") or {}
    for target, market in MARKETS.items():
        fields = {
            name: (prediction or {}).get(f"{market.key}_{name}")
            for name in ("probability", "market_probability", "edge")
        }
        own_lines = (prediction or {}).get("lines")
        line = (own_lines if own_lines is not None else stable_lines).get(target)
        probability = fields["probability"]
        offer = None
        if probability is not None and (not market.has_line or line is not None):
            offer = best_offer(market, probability, quotes.get(market.key, []), line)
        views.append(
            MarketView(
                target=target,
                market=market.key,
                model_probability=probability,
                market_probability=fields["market_probability"],
                edge=fields["edge"],
                line=line,
                served=served.get(market.key),
                offer=offer,
            )
        )
    return views
