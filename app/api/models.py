"""Models: train (202 + job), the active champions, a model's versions, performance, promotion."""

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort
from mlflow.exceptions import MlflowException

from app.api.auth import requires
from app.api.bounds import Blueprint
from app.api.context import services
from app.api.jobs import JobSchema, job_body, job_location
from app.bets import reports
from app.db.session import session_scope
from app.games.seasons import stored_seasons
from app.jobs.service import submit
from app.kinds import TRAIN
from app.markets import TARGETS
from app.ml import catalog, registry

URL_PREFIX = "/models"

blp = Blueprint("models", __name__, description="Train, inspect and promote the models")


class TrainRequestSchema(ma.Schema):
    seasons = ma.fields.List(
        ma.fields.Integer(validate=ma.validate.Range(min=1871, max=2100)),
        validate=ma.validate.Length(min=1, max=200),
        metadata={"description": "seasons to train on (default: every stored season)"},
    )


class PerformanceQuerySchema(ma.Schema):
    source = ma.fields.String(
        validate=ma.validate.OneOf(["live", "backtest"]),
        metadata={"description": "live: the API's own graded predictions and bets; "
                  "backtest: MLflow backtests and evaluations; both when omitted"},
    )  # fmt: skip


class PromoteRequestSchema(ma.Schema):
    version = ma.fields.String(
        required=True, validate=ma.validate.Regexp(r"^[1-9][0-9]{0,8}$", error="a version number")
    )


def _target_and_name(name: str) -> tuple[str, str]:
    try:
        return registry.resolve_model_name(services().settings, name)
    except KeyError:
        choices = [services().settings.model_name(t) for t in TARGETS]
        abort(404, message=f"no model {name!r}", errors={"model_name": choices})


@blp.route("/<name:target>/train")
class Train(MethodView):
    @requires("admin")
    @blp.arguments(TrainRequestSchema)
    @blp.response(202, JobSchema)
    @blp.alt_response(404, description="Unknown target")
    @blp.alt_response(422, description="Seasons without stored final games")
    def post(self, args: dict, target: str):
        """Retrain a target's model (a job on the training queue); it is challenger until better."""
        if target not in TARGETS:
            abort(404, message=f"no target {target!r}", errors={"target": list(TARGETS)})
        params: dict = {"target": target}
        if "seasons" in args:
            seasons = sorted(set(args["seasons"]))
            with session_scope(services().database_url) as session:
                stored = set(stored_seasons(session))
            missing = [season for season in seasons if season not in stored]
            if missing:
                abort(422, message="no final games stored for some seasons",
                      errors={"seasons": missing})  # fmt: skip
            params["seasons"] = seasons
        job = submit(services().database_url, TRAIN, params, services().queue)
        return job_body(job), 202, job_location(job)


@blp.route("/active")
class Active(MethodView):
    @blp.response(200)
    def get(self):
        """The champion of every target (null for a target without one)."""
        return catalog.active_models(services().settings)


@blp.route("/<name:model_name>")
class Model(MethodView):
    @blp.response(200)
    @blp.alt_response(404, description="Unknown model")
    def get(self, model_name: str):
        """A model's versions (latest first), aliases, params, feature set and data range."""
        target, name = _target_and_name(model_name)
        body = catalog.model_versions(services().settings, target, name)
        if body is None:
            abort(404, message=f"{name} has no registered version yet")
        return body


@blp.route("/<name:model_name>/performance")
class Performance(MethodView):
    @blp.arguments(PerformanceQuerySchema, location="query")
    @blp.response(200)
    @blp.alt_response(404, description="Unknown model")
    def get(self, args: dict, model_name: str):
        """Backtest metrics (MLflow) and live metrics (graded pre-game predictions and bets).

        ``?source=live``: model log loss, Brier, ECE, n on finished games (the latest
        prediction made before first pitch of each), the de-vigged market at the open and the
        close on the same games, and the ledger's betting metrics for this model.
        """
        target, name = _target_and_name(model_name)
        with session_scope(services().database_url) as session:
            return reports.model_performance(
                services().settings, session, target, name, args.get("source")
            )


@blp.route("/<name:model_name>/promote")
class Promote(MethodView):
    @requires("admin")
    @blp.arguments(PromoteRequestSchema)
    @blp.response(200)
    @blp.alt_response(404, description="Unknown model or version")
    @blp.alt_response(409, description="The version was trained on another feature set")
    def post(self, args: dict, model_name: str):
        """Make a version the champion; every prediction job started afterwards uses it."""
        target, name = _target_and_name(model_name)
        try:
            decision = registry.promote(
                services().settings, target, args["version"], "promoted through the API"
            )
        except MlflowException:
            abort(404, message=f"{name} has no version {args['version']}",
                  errors={"version": [args["version"]]})  # fmt: skip
        except ValueError as error:
            abort(409, message=str(error), errors={"version": [args["version"]]})
        return {"model_name": name, "version": args["version"], "decision": decision}
