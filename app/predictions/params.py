"""The ``predict`` job kind's parameters, declared once: the API loads a request's options
with :class:`PredictOptions`, the job stores them with the games as :class:`PredictParams`,
and a worker checks a claimed job against the same declaration."""

import marshmallow as ma

from app.markets import TARGETS


class PredictOptions(ma.Schema):
    """What a client may choose about a prediction job, with the bounds it is held to."""

    targets = ma.fields.List(
        ma.fields.String(validate=ma.validate.OneOf(TARGETS)),
        validate=ma.validate.Length(min=1, max=len(TARGETS)),
        load_default=lambda: list(TARGETS),
    )
    bankroll = ma.fields.Float(
        validate=ma.validate.Range(min=0, min_inclusive=False, max=1e12),
        metadata={"description": "default BULLPEN_BANKROLL"},
    )
    kelly_fraction = ma.fields.Float(
        validate=ma.validate.Range(min=0, max=1, min_inclusive=False),
        metadata={"description": "fraction of full Kelly; default BULLPEN_KELLY_FRACTION"},
    )
    kelly_cap = ma.fields.Float(
        validate=ma.validate.Range(min=0, max=1, min_inclusive=False),
        metadata={"description": "largest stake, a fraction of bankroll; BULLPEN_KELLY_CAP"},
    )
    daily_exposure = ma.fields.Float(
        validate=ma.validate.Range(min=0, max=1, min_inclusive=False),
        metadata={"description": "a date's stakes at most this x bankroll; "
                  "BULLPEN_DAILY_EXPOSURE"},
    )  # fmt: skip
    min_ev = ma.fields.Float(
        validate=ma.validate.Range(min=0, max=1),
        metadata={"description": "expected value a bet must reach; BULLPEN_MIN_EV"},
    )


class PredictParams(PredictOptions):
    """A prediction job's params as stored: its options and its games, by stored id or as
    the game specs a client described (start times as ISO 8601 text)."""

    game_ids = ma.fields.List(ma.fields.Integer())
    games = ma.fields.List(ma.fields.Dict())

    @ma.validates_schema
    def one_selector(self, data: dict, **_: object) -> None:
        if ("game_ids" in data) == ("games" in data):
            raise ma.ValidationError("exactly one of game_ids or games")
