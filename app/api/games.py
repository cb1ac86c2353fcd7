"""Curated games with their odds, by date or by season."""

import marshmallow as ma
from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.api.bounds import Blueprint
from app.api.context import services
from app.db.session import session_scope
from app.games.models import Game

URL_PREFIX = "/games"

blp = Blueprint("games", __name__, description="Curated games and their market odds")


class GamesQuerySchema(ma.Schema):
    date = ma.fields.Date()
    season = ma.fields.Integer(validate=ma.validate.Range(min=1871, max=2100))

    @ma.validates_schema
    def exactly_one(self, data: dict, **_: object) -> None:
        if ("date" in data) == ("season" in data):
            raise ma.ValidationError("give exactly one of 'date' or 'season'", field_name="_schema")


class OddsSchema(ma.Schema):
    book = ma.fields.String()
    home_ml_open = ma.fields.Integer(allow_none=True)
    away_ml_open = ma.fields.Integer(allow_none=True)
    home_ml_close = ma.fields.Integer(allow_none=True)
    away_ml_close = ma.fields.Integer(allow_none=True)
    total_open = ma.fields.Float(allow_none=True)
    over_open = ma.fields.Integer(allow_none=True)
    under_open = ma.fields.Integer(allow_none=True)
    total_close = ma.fields.Float(allow_none=True)
    over_close = ma.fields.Integer(allow_none=True)
    under_close = ma.fields.Integer(allow_none=True)
    home_rl = ma.fields.Float(allow_none=True)
    home_rl_price = ma.fields.Integer(allow_none=True)
    away_rl_price = ma.fields.Integer(allow_none=True)


class GameSchema(ma.Schema):
    id = ma.fields.Integer()
    game_key = ma.fields.String()
    season = ma.fields.Integer()
    game_date = ma.fields.Date()
    game_number = ma.fields.Integer()
    home_team = ma.fields.String()
    away_team = ma.fields.String()
    home_pitcher = ma.fields.String(allow_none=True)
    away_pitcher = ma.fields.String(allow_none=True)
    home_score = ma.fields.Integer(allow_none=True)
    away_score = ma.fields.Integer(allow_none=True)
    neutral_site = ma.fields.Boolean()
    postseason = ma.fields.Boolean()
    retrosheet_game_id = ma.fields.String(allow_none=True)
    odds = ma.fields.List(ma.fields.Nested(OddsSchema))


@blp.route("")
class Games(MethodView):
    @blp.arguments(GamesQuerySchema, location="query")
    @blp.response(200, GameSchema(many=True))
    def get(self, args: dict):
        """The curated games of one date or one season, in date order."""
        query = (
            select(Game)
            .options(selectinload(Game.odds))
            .where(Game.retired_at.is_(None))
            .order_by(Game.game_date, Game.id)
        )
        if "date" in args:
            query = query.where(Game.game_date == args["date"])
        else:
            query = query.where(Game.season == args["season"])
        with session_scope(services().database_url) as session:
            return session.scalars(query).all()
