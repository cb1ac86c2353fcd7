"""Predictions: submit one game or a batch (202 + job), read a game's latest prediction."""

from datetime import datetime

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort

from app.api.auth import current_key_id
from app.api.bounds import Blueprint, IdempotencyHeaderSchema, IdList, american, db_id
from app.api.context import services
from app.api.jobs import JobSchema, job_body, job_location
from app.db.session import session_scope
from app.games.selection import game_ids_of_season, game_ids_on, retirement, retirements
from app.ingest.teams import CANONICAL_TEAMS
from app.jobs.service import IdempotencyConflict, submit
from app.kinds import PREDICT
from app.ml.served import latest_prediction
from app.odds import validate_american
from app.predictions.params import PredictOptions

URL_PREFIX = "/predict"
MAX_BATCH = 50_000

blp = Blueprint("predict", __name__, description="Submit predictions and read them back")


def _american_validator(value: int) -> None:
    try:
        validate_american(value)
    except ValueError as error:
        raise ma.ValidationError(str(error)) from None


class OddsSpecSchema(ma.Schema):
    home_ml = american(_american_validator)
    away_ml = american(_american_validator)
    total = ma.fields.Float(validate=ma.validate.Range(min=0, min_inclusive=False, max=40))
    over_price = american(_american_validator)
    under_price = american(_american_validator)
    home_rl = ma.fields.Float(validate=ma.validate.Range(min=-10, max=10))
    home_rl_price = american(_american_validator)
    away_rl_price = american(_american_validator)

    @ma.validates_schema
    def prices_come_in_pairs(self, data: dict, **_: object) -> None:
        for a, b in (("home_ml", "away_ml"), ("over_price", "under_price"),
                     ("home_rl_price", "away_rl_price")):  # fmt: skip
            if (a in data) != (b in data):
                raise ma.ValidationError(f"{a} and {b} come together", field_name=a)


# A game spec's first pitch: modern baseball's seasons (pandas' nanosecond clock spans these).
FIRST_SEASON, LAST_SEASON = 1871, 2100


def _in_modern_seasons(value: datetime) -> None:
    if not FIRST_SEASON <= value.year <= LAST_SEASON:
        raise ma.ValidationError(f"must be in the seasons {FIRST_SEASON}-{LAST_SEASON}")


class GameSpecSchema(ma.Schema):
    """A game not yet in the database."""

    home_team = ma.fields.String(required=True, validate=ma.validate.OneOf(sorted(CANONICAL_TEAMS)))
    away_team = ma.fields.String(required=True, validate=ma.validate.OneOf(sorted(CANONICAL_TEAMS)))
    start_time = ma.fields.AwareDateTime(
        required=True,
        default_timezone=None,
        validate=_in_modern_seasons,
        metadata={
            "description": f"first pitch, ISO 8601 with a UTC offset, {FIRST_SEASON}-{LAST_SEASON}"
        },
    )
    home_pitcher = ma.fields.String(validate=ma.validate.Length(max=64))
    away_pitcher = ma.fields.String(validate=ma.validate.Length(max=64))
    odds = ma.fields.Nested(OddsSpecSchema, load_default=dict)

    @ma.validates_schema
    def teams_differ(self, data: dict, **_: object) -> None:
        if data.get("home_team") and data.get("home_team") == data.get("away_team"):
            raise ma.ValidationError("a team cannot play itself", field_name="away_team")


class PredictRequestSchema(PredictOptions):
    game_id = db_id()
    game = ma.fields.Nested(GameSpecSchema)

    @ma.validates_schema
    def exactly_one_game(self, data: dict, **_: object) -> None:
        if ("game_id" in data) == ("game" in data):
            raise ma.ValidationError(
                "give exactly one of 'game_id' or 'game'", field_name="_schema"
            )


class BatchRequestSchema(PredictOptions):
    game_ids = IdList(validate=ma.validate.Length(min=1, max=MAX_BATCH))
    games = ma.fields.List(
        ma.fields.Nested(GameSpecSchema), validate=ma.validate.Length(min=1, max=MAX_BATCH)
    )
    date = ma.fields.Date()
    season = ma.fields.Integer(validate=ma.validate.Range(min=1871, max=2100))

    @ma.validates_schema
    def exactly_one_selector(self, data: dict, **_: object) -> None:
        given = [key for key in ("game_ids", "games", "date", "season") if key in data]
        if len(given) != 1:
            raise ma.ValidationError(
                "give exactly one of 'game_ids', 'games', 'date' or 'season'", field_name="_schema"
            )


def _stored_game_ids(request_args: dict) -> list[int] | None:
    """The ids of the stored games a request names (None for game specs); 4xx when none exist."""
    if not {"game_ids", "date", "season"} & request_args.keys():
        return None
    database_url = services().database_url
    if "game_ids" in request_args:
        wanted = list(dict.fromkeys(request_args["game_ids"]))
        found = retirements(database_url, wanted)
        missing = [game_id for game_id in wanted if game_id not in found]
        if missing:
            abort(404, message="unknown game ids", errors={"game_ids": missing[:50]})
        retired = [game_id for game_id in wanted if found[game_id] is not None]
        if retired:
            abort(409, message="retired games (no longer in the data) cannot be predicted",
                  errors={"game_ids": retired[:50]})  # fmt: skip
        return wanted
    if "date" in request_args:
        ids = game_ids_on(database_url, request_args["date"])
        if not ids:
            abort(404, message=f"no games on {request_args['date'].isoformat()}")
        return ids
    ids = game_ids_of_season(database_url, request_args["season"])
    if not ids:
        abort(404, message=f"no games in season {request_args['season']}")
    return ids


def _submit_predictions(
    args: dict, headers: dict, *, game_id: int | None = None
) -> tuple[dict, int, dict[str, str]]:
    """Submit the prediction job of a request's games: 202, the job and its Location.

    One stored game (``game_id``) is checked by the job's INSERT itself (one statement, one
    round trip; only a refusal looks the game up, to tell unknown, 404, from retired, 409); a
    batch's selector is resolved first.
    """
    svc = services()
    settings = svc.settings
    params: dict = {
        "targets": args["targets"],
        "bankroll": args.get("bankroll", settings.bankroll),
        "kelly_fraction": args.get("kelly_fraction", settings.kelly_fraction),
        "kelly_cap": args.get("kelly_cap", settings.kelly_cap),
        "daily_exposure": args.get("daily_exposure", settings.daily_exposure),
        "min_ev": args.get("min_ev", settings.min_ev),
    }
    if game_id is not None:
        params["game_ids"] = [game_id]
    elif "games" in args:
        params["games"] = _game_spec_params(args["games"])
    else:
        params["game_ids"] = _stored_game_ids(args)
    total = len(params["games"] if "games" in params else params["game_ids"])
    try:
        job = submit(
            svc.database_url,
            PREDICT,
            params,
            svc.queue,
            idempotency_key=headers.get("idempotency_key"),
            owner=current_key_id(),
            total=total,
            only_if_game=game_id,
        )
    except IdempotencyConflict as error:
        abort(409, message=str(error))
    if job is None:
        _refuse_game(game_id)
    return job_body(job), 202, job_location(job)


def _refuse_game(game_id: int) -> None:
    """Abort the submission of a stored game the job's INSERT refused: 409 when it is retired
    (as ``POST /bets`` answers), else 404."""
    game = retirement(services().database_url, game_id)
    if game is not None and game[0] is not None:
        abort(409, message=f"game {game_id} is retired: {game[1]}",
              errors={"game_ids": [game_id]})  # fmt: skip
    abort(404, message="unknown game ids", errors={"game_ids": [game_id]})


def _game_spec_params(games: list[dict]) -> list[dict]:
    return [{**game, "start_time": game["start_time"].isoformat()} for game in games]


@blp.route("")
class Predict(MethodView):
    @blp.arguments(PredictRequestSchema)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.response(202, JobSchema)
    @blp.alt_response(404, description="Unknown game id")
    @blp.alt_response(
        409, description="Idempotency-Key reused for another request, or a retired game"
    )
    def post(self, args: dict, headers: dict):
        """Predict one game, stored (``game_id``) or described (``game``)."""
        if "game" in args:
            return _submit_predictions({**args, "games": [args["game"]]}, headers)
        return _submit_predictions(args, headers, game_id=args["game_id"])


@blp.route("/batch")
class PredictBatch(MethodView):
    @blp.arguments(BatchRequestSchema)
    @blp.arguments(IdempotencyHeaderSchema, location="headers")
    @blp.response(202, JobSchema)
    @blp.alt_response(404, description="Unknown game ids, or no games on that date or season")
    @blp.alt_response(
        409, description="Idempotency-Key reused for another request, or a retired game"
    )
    def post(self, args: dict, headers: dict):
        """Predict many games: by ids, by specs, every game of a date, or of a season."""
        return _submit_predictions(args, headers)


@blp.route("/<db_id:game_id>")
class LatestPrediction(MethodView):
    @blp.response(200)
    @blp.alt_response(404, description="No prediction for this game yet")
    def get(self, game_id: int):
        """The latest prediction made for a stored game."""
        with session_scope(services().database_url) as session:
            payload = latest_prediction(session, game_id)
        if payload is None:
            abort(404, message=f"no prediction for game {game_id}")
        return payload
