"""Features: refresh a season, a date or a game (202 + job); read a game's stored features.

``GET /features/{game_id}`` reads the store only: it never computes on read, so a GET
stays a cheap read without database work or writes. A game whose features are not stored
(or expired, see the store's TTL policy) answers 404; ``POST /features/refresh`` fills it.
"""

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort
from sqlalchemy import exists, func, select

from app.api.auth import requires
from app.api.bounds import Blueprint, db_id
from app.api.context import services
from app.api.jobs import JobSchema, job_body, job_location
from app.db.session import session_scope
from app.features.store import FeatureSetMismatchError, read_features
from app.games.models import Game
from app.jobs.service import submit
from app.kinds import FEATURES_REFRESH

URL_PREFIX = "/features"

blp = Blueprint("features", __name__, description="Refresh and read point-in-time features")


class RefreshRequestSchema(ma.Schema):
    """Exactly one selector, like ``bullpen features refresh``."""

    season = ma.fields.Integer(validate=ma.validate.Range(min=1871, max=2100))
    date = ma.fields.Date()
    game_id = db_id()

    @ma.validates_schema
    def exactly_one_selector(self, data: dict, **_: object) -> None:
        given = [key for key in ("season", "date", "game_id") if key in data]
        if len(given) != 1:
            raise ma.ValidationError(
                "give exactly one of 'season', 'date' or 'game_id'", field_name="_schema"
            )


class StoredFeaturesSchema(ma.Schema):
    game_id = ma.fields.Integer()
    feature_set = ma.fields.String(metadata={"description": "name:vN"})
    name = ma.fields.String()
    version = ma.fields.Integer()
    fingerprint = ma.fields.String()
    computed_at = ma.fields.DateTime()
    values = ma.fields.Dict(
        keys=ma.fields.String(),
        values=ma.fields.Float(allow_nan=False, allow_none=True),
        metadata={"description": "feature name to value; null = missing"},
    )


def _selected_games(args: dict) -> int:
    """How many stored games the refresh selects; 404 when none."""
    if "season" in args:
        key, condition, where = "season", Game.season == args["season"], f"in {args['season']}"
    elif "date" in args:
        key, condition = "date", Game.game_date == args["date"]
        where = f"on {args['date'].isoformat()}"
    else:
        key, condition, where = "game_id", Game.id == args["game_id"], f"{args['game_id']}"
    with session_scope(services().database_url) as session:
        count = session.scalar(select(func.count()).select_from(Game).where(condition))
    if not count:
        abort(404, message=f"no stored game {where}", errors={key: ["no stored game matches"]})
    return int(count)


@blp.route("/refresh")
class RefreshFeatures(MethodView):
    @requires("predict")
    @blp.arguments(RefreshRequestSchema)
    @blp.response(202, JobSchema)
    @blp.alt_response(404, description="No stored game matches")
    def post(self, args: dict):
        """Recompute and store the features of a season, a date or one game (a job)."""
        total = _selected_games(args)
        params = {
            key: (value.isoformat() if key == "date" else value) for key, value in args.items()
        }
        svc = services()
        job = submit(svc.database_url, FEATURES_REFRESH, params, svc.queue, total=total)
        return job_body(job), 202, job_location(job)


@blp.route("/<db_id:game_id>")
class GameFeatures(MethodView):
    @blp.response(200, StoredFeaturesSchema)
    @blp.alt_response(404, description="Unknown game, or its features are not stored")
    def get(self, game_id: int):
        """A stored game's features as of its cutoff, with the feature set and when computed."""
        try:
            stored = read_features(services().feature_store, game_id)
        except FeatureSetMismatchError as error:  # a stale writer; treat as not stored
            abort(404, message=f"features of game {game_id} are of another feature set: {error}")
        if stored is None:
            with session_scope(services().database_url) as session:
                known = session.scalar(select(exists().where(Game.id == game_id)))
            if not known:
                abort(404, message=f"unknown game {game_id}")
            abort(
                404,
                message=f"features of game {game_id} are not stored; "
                "POST /api/v1/features/refresh computes them",
            )
        return stored
