"""Strategies: their definition, state (watch or live) and evidence; an admin may force one."""

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort

from app import clock
from app.api.auth import requires
from app.api.bounds import Blueprint
from app.api.context import services
from app.bets.strategies import STATES, configured, describe, force
from app.db.session import session_scope

URL_PREFIX = "/strategies"

blp = Blueprint("strategies", __name__, description="Strategies that earn their stakes by CLV")


class StateSchema(ma.Schema):
    state = ma.fields.String(required=True, validate=ma.validate.OneOf([*STATES, "auto"]))


def _described() -> list[dict]:
    with session_scope(services().database_url) as session:
        return describe(session, configured(services().settings))


@blp.route("")
class Strategies(MethodView):
    @blp.response(200)
    def get(self):
        """Every strategy: method, books, markets, min EV, Kelly fraction, state, evidence."""
        return _described()


@blp.route("/<name>")
class StrategyView(MethodView):
    @blp.response(200)
    @blp.alt_response(404, description="Unknown strategy")
    def get(self, name: str):
        """One strategy with its state and evidence (settled paper and live bets, mean CLV, t,
        ROI)."""
        found = [s for s in _described() if s["name"] == name]
        if not found:
            abort(404, message=f"no strategy {name!r}", errors={"name": [name]})
        return found[0]


@blp.route("/<name>/state")
class StrategyState(MethodView):
    @requires("admin")
    @blp.arguments(StateSchema)
    @blp.response(200)
    @blp.alt_response(404, description="Unknown strategy")
    def post(self, args: dict, name: str):
        """Force ``watch`` or ``live`` by hand, or ``auto`` to let the evidence decide (audited)."""
        if name not in configured(services().settings):
            abort(404, message=f"no strategy {name!r}", errors={"name": [name]})
        with session_scope(services().database_url) as session:
            force(session, name, args["state"], clock.now())
        return next(s for s in _described() if s["name"] == name)
