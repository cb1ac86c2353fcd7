"""A date's fair board: per game, market and line, the fair line, every book's EV against it,
the model beside it, and the arbitrages (rules in ``app.bets.fairline``).

Every line a book quotes is its own market: a total of 8.5 and one of 9 are priced apart,
each at the quotes of that line. The model's probability is shown where its line is the
line of the market (its prediction's ``lines``), blended in by the weight its version earned.
"""

from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.bets.fairline import FairLineRules, arbitrage, book_prices, fair_line
from app.bets.quotes import book_quotes, first_pitch
from app.games.models import Game
from app.markets import BY_KEY
from app.ml.evaluation import json_safe
from app.ml.served import latest_predictions
from app.staking.kelly import StakingPolicy


def fair_board(
    session: Session,
    day: date,
    now: datetime,
    rules: FairLineRules,
    policy: StakingPolicy,
    bankroll: float,
) -> dict[str, Any]:
    """``{date, games: [...], arbitrages: [...]}`` of the stored games of ``day`` at ``now``;
    an arbitrage is staked at the largest single bet allowed (``kelly_cap * bankroll``)."""
    games = session.scalars(
        select(Game)
        .where(Game.game_date == day, Game.retired_at.is_(None))  # a retired game is no market
        .order_by(Game.start_time, Game.id)
    ).all()
    ids = [game.id for game in games]
    quotes = book_quotes(session, ids)
    predictions = latest_predictions(session, ids)
    board, arbitrages = [], []
    for game in games:
        pitch = first_pitch(game.start_time, game.game_date)
        prediction = predictions.get(game.id) or {}
        markets = []
        for key, market_quotes in quotes.get(game.id, {}).items():
            market = BY_KEY[key]
            for line in sorted({q.line for q in market_quotes}, key=lambda v: (v is None, v)):
                own_line = (prediction.get("lines") or {}).get(market.name)
                model = (
                    prediction.get(f"{key}_probability")
                    if not market.has_line or own_line == line
                    else None
                )
                # The weight the predicting version earned (app.ml.predict.model_refs).
                weight = (prediction.get("models") or {}).get(market.name, {}).get("blend_weight")
                fair = fair_line(
                    market, market_quotes, line, now, pitch, rules, model, float(weight or 0.0)
                )
                if fair is None:
                    continue
                markets.append(
                    fair.as_dict()
                    | {"prices": [price.as_dict() for price in book_prices(market, fair, policy)]}
                )
                arb = arbitrage(market, fair.priced, line, policy.cap * bankroll)
                if arb is not None:
                    arbitrages.append({"game_id": game.id} | arb.as_dict())
        board.append(
            {
                "game_id": game.id,
                "home_team": game.home_team,
                "away_team": game.away_team,
                "start_time": pitch.isoformat(),
                "markets": markets,
            }
        )
    return json_safe({"date": day.isoformat(), "games": board, "arbitrages": arbitrages})
