"""The bets ledger (served recommendations and user bets) and the bankroll curve."""

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort

from app.api.bounds import Blueprint, american, db_id
from app.api.context import services
from app.bets.ledger import bets_query, page_of_bets, record_user_bet
from app.bets.models import BET_ORIGINS, BET_STATUSES
from app.bets.reports import CLV_GROUPS, bankroll_report, clv_report
from app.db.session import session_scope
from app.games.models import Game
from app.markets import BY_KEY, TOTAL
from app.odds import validate_american

URL_PREFIX = "/bets"

blp = Blueprint("bets", __name__, description="The bets ledger: served and recorded bets")
bankroll_blp = Blueprint("bankroll", __name__, description="The bankroll curve of the ledger")
BANKROLL_URL_PREFIX = "/bankroll"


def _american(value: int) -> None:
    try:
        validate_american(value)
    except ValueError as error:
        raise ma.ValidationError(str(error)) from None


class BetSchema(ma.Schema):
    bet_id = ma.fields.UUID()
    prediction_id = ma.fields.Integer(allow_none=True)
    game_id = ma.fields.Integer()
    market = ma.fields.String()
    side = ma.fields.String()
    line = ma.fields.Float(allow_none=True)
    book = ma.fields.String()
    odds = ma.fields.Integer()
    stake = ma.fields.Float()
    fair_probability = ma.fields.Float(allow_none=True)
    model_name = ma.fields.String(allow_none=True)
    model_version = ma.fields.String(allow_none=True)
    placed_at = ma.fields.DateTime()
    origin = ma.fields.String()
    status = ma.fields.String(metadata={"enum": list(BET_STATUSES)})
    profit = ma.fields.Float(allow_none=True)
    closing_odds = ma.fields.Integer(allow_none=True)
    clv = ma.fields.Float(allow_none=True)
    close_note = ma.fields.String(allow_none=True, metadata={"description": "why no close"})
    sharp_close = ma.fields.Float(
        allow_none=True, metadata={"description": "the side's de-vigged sharp closing probability"}
    )
    sharp_clv = ma.fields.Float(
        allow_none=True, metadata={"description": "CLV against the sharp books' close"}
    )
    sharp_close_note = ma.fields.String(
        allow_none=True, metadata={"description": "why no sharp close"}
    )
    settled_at = ma.fields.DateTime(allow_none=True)
    void_reason = ma.fields.String(
        allow_none=True, metadata={"description": "why the bet was voided when its game retired"}
    )
    strategy = ma.fields.String(allow_none=True)
    paper = ma.fields.Boolean()


class BetsQuerySchema(ma.Schema):
    date = ma.fields.Date(metadata={"description": "the games' date"})
    status = ma.fields.String(validate=ma.validate.OneOf(BET_STATUSES))
    market = ma.fields.String(validate=ma.validate.OneOf(list(BY_KEY)))
    origin = ma.fields.String(validate=ma.validate.OneOf(BET_ORIGINS))


class NewBetSchema(ma.Schema):
    """A bet the user placed. ``line``: the total, or the HOME run line (e.g. -1.5)."""

    game_id = db_id(required=True)
    market = ma.fields.String(required=True, validate=ma.validate.OneOf(list(BY_KEY)))
    side = ma.fields.String(required=True, validate=ma.validate.Length(max=16))
    odds = american(_american, required=True, strict=True)
    stake = ma.fields.Float(
        required=True, validate=ma.validate.Range(min=0, min_inclusive=False, max=1e9)
    )
    line = ma.fields.Float(validate=ma.validate.Range(min=-50, max=50))
    book = ma.fields.String(load_default="user", validate=ma.validate.Length(min=1, max=32))
    placed_at = ma.fields.AwareDateTime(default_timezone=None)
    fair_probability = ma.fields.Float(
        validate=ma.validate.Range(min=0, max=1, min_inclusive=False, max_inclusive=False)
    )

    @ma.validates_schema
    def side_and_line_fit_the_market(self, data: dict, **_: object) -> None:
        market = BY_KEY.get(data.get("market"))
        if market is None:
            return
        if data.get("side") not in market.sides:
            raise ma.ValidationError(
                f"a {market.key} bet is on {' or '.join(market.sides)}", field_name="side"
            )
        if not market.has_line and data.get("line") is not None:
            raise ma.ValidationError(f"a {market.title.lower()} bet has no line", field_name="line")
        if market.has_line and data.get("line") is None:
            raise ma.ValidationError(f"a {market.key} bet needs its line", field_name="line")
        if market is TOTAL and data["line"] <= 0:
            raise ma.ValidationError("a total is positive", field_name="line")


class BankrollQuerySchema(ma.Schema):
    date_from = ma.fields.Date(data_key="from")
    date_to = ma.fields.Date(data_key="to")
    origin = ma.fields.String(validate=ma.validate.OneOf(BET_ORIGINS))

    @ma.validates_schema
    def ordered(self, data: dict, **_: object) -> None:
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            raise ma.ValidationError("'from' is after 'to'", field_name="from")


@blp.route("")
class Bets(MethodView):
    @blp.arguments(BetsQuerySchema, location="query")
    @blp.response(200, BetSchema(many=True))
    @blp.paginate()
    def get(self, args: dict, pagination_parameters):
        """The ledger, newest first, a page at a time (``X-Pagination`` header)."""
        query = bets_query(
            game_date=args.get("date"),
            status=args.get("status"),
            market=args.get("market"),
            origin=args.get("origin"),
        )
        with session_scope(services().database_url) as session:
            items, total = page_of_bets(
                session, query, pagination_parameters.page, pagination_parameters.page_size
            )
        pagination_parameters.item_count = total
        return items

    @blp.arguments(NewBetSchema)
    @blp.response(201, BetSchema)
    @blp.alt_response(404, description="Unknown game")
    @blp.alt_response(409, description="The game is retired (no longer in the data)")
    def post(self, args: dict):
        """Record a bet the user placed; it is settled with the game like a served one."""
        with session_scope(services().database_url) as session:
            game = session.get(Game, args["game_id"])
            if game is None:
                abort(404, message=f"no game {args['game_id']}",
                      errors={"game_id": [args["game_id"]]})  # fmt: skip
            if game.is_retired:
                abort(409, message=f"game {game.id} is retired: {game.retired_reason}",
                      errors={"game_id": [game.id]})  # fmt: skip
            return record_user_bet(session, dict(args))


class ClvQuerySchema(ma.Schema):
    group_by = ma.fields.String(load_default="market", validate=ma.validate.OneOf(CLV_GROUPS))


@blp.route("/clv")
class Clv(MethodView):
    @blp.arguments(ClvQuerySchema, location="query")
    @blp.response(200)
    def get(self, args: dict):
        """Closing-line value of the settled bets by market, book, origin or strategy: n, mean
        CLV, beat rate, t-statistic (standard error clustered by game date), against the bet's
        own book's close and (``sharp``) against the sharp books' de-vigged close."""
        with session_scope(services().database_url) as session:
            return {"group_by": args["group_by"], "groups": clv_report(session, args["group_by"])}


@bankroll_blp.route("")
class Bankroll(MethodView):
    @bankroll_blp.arguments(BankrollQuerySchema, location="query")
    @bankroll_blp.response(200)
    def get(self, args: dict):
        """The bankroll by settlement date (from ``BULLPEN_BANKROLL``) and its summary."""
        with session_scope(services().database_url) as session:
            return bankroll_report(
                session,
                services().settings.bankroll,
                args.get("date_from"),
                args.get("date_to"),
                args.get("origin"),
            )
