"""The fair board of a date (fair lines, every book's EV) and its arbitrages."""

from datetime import date

import marshmallow as ma
from flask.views import MethodView

from app import clock
from app.api.bounds import Blueprint
from app.api.context import services
from app.bets.board import fair_board
from app.bets.fairline import FairLineRules
from app.db.session import session_scope
from app.staking.kelly import StakingPolicy

URL_PREFIX = "/fair"
ARBITRAGE_URL_PREFIX = "/arbitrage"

blp = Blueprint("fair", __name__, description="Fair lines from the sharp market, EV per book")
arbitrage_blp = Blueprint("arbitrage", __name__, description="Books whose prices cross")


class DateQuerySchema(ma.Schema):
    date = ma.fields.Date(
        metadata={"description": "the games' date (default: the system's US Eastern today)"}
    )


def _board(day: date | None) -> dict:
    settings = services().settings
    now = clock.now()
    policy = StakingPolicy(fraction=settings.kelly_fraction, cap=settings.kelly_cap)
    with session_scope(services().database_url) as session:
        return fair_board(
            session,
            day or clock.eastern_date(now),  # the system's today, the schedule's date
            now,
            FairLineRules.from_settings(settings),
            policy,
            settings.bankroll,
        )


@blp.route("")
class Fair(MethodView):
    @blp.arguments(DateQuerySchema, location="query")
    @blp.response(200)
    def get(self, args: dict):
        """Per game and market at each line: the fair probability (method, books, sharp or
        consensus, quote ages), the model's beside it and the one served, every book's EV."""
        board = _board(args.get("date"))
        return {"date": board["date"], "games": board["games"]}


@arbitrage_blp.route("")
class Arbitrage(MethodView):
    @arbitrage_blp.arguments(DateQuerySchema, location="query")
    @arbitrage_blp.response(200)
    def get(self, args: dict):
        """Pairs of books whose best prices sum below 1 in implied probability, with both
        stakes (together the largest single bet allowed) and the payout either way."""
        board = _board(args.get("date"))
        return {"date": board["date"], "arbitrages": board["arbitrages"]}
