"""Feeds: a backfill of the schedule over a date range, as a job (202 + job)."""

import marshmallow as ma
from flask.views import MethodView

from app.api.auth import requires
from app.api.bounds import Blueprint
from app.api.context import services
from app.api.jobs import JobSchema, job_body, job_location
from app.feeds.jobs import MAX_BACKFILL_DAYS
from app.jobs.service import submit
from app.kinds import SCHEDULE_BACKFILL

URL_PREFIX = "/feeds"

blp = Blueprint("feeds", __name__, description="Pull the providers' data over a date range")


class ScheduleBackfillSchema(ma.Schema):
    """Like ``bullpen feed schedule --from D --to D [--force]``."""

    first = ma.fields.Date(
        data_key="from", required=True, metadata={"description": "first date (YYYY-MM-DD)"}
    )
    last = ma.fields.Date(
        data_key="to", required=True, metadata={"description": "last date (YYYY-MM-DD)"}
    )
    force = ma.fields.Boolean(
        load_default=False, metadata={"description": "pull again the days found over before"}
    )

    @ma.validates_schema
    def a_range(self, data: dict, **_: object) -> None:
        if "first" not in data or "last" not in data:
            return
        days = (data["last"] - data["first"]).days + 1
        if days < 1:
            raise ma.ValidationError("'to' is before 'from'", field_name="to")
        if days > MAX_BACKFILL_DAYS:
            raise ma.ValidationError(
                f"at most {MAX_BACKFILL_DAYS} days a job ({days} asked)", field_name="to"
            )


@blp.route("/schedule")
class ScheduleBackfill(MethodView):
    @requires("admin")
    @blp.arguments(ScheduleBackfillSchema)
    @blp.response(202, JobSchema)
    def post(self, args: dict):
        """Walk the schedule provider day by day over a date range and curate what it gives
        (a job on the ``feeds`` queue; progress in days).

        Resumable: days found over (every game final, postponed or cancelled) are skipped by a
        later walk unless ``force``; the provider's rate limit is respected
        (``BULLPEN_SCHEDULE_BACKFILL_INTERVAL`` between calls, a 429's Retry-After); a day
        whose fetch fails for good stops the walk there, and the job's result names it.
        """
        params = {
            "from": args["first"].isoformat(),
            "to": args["last"].isoformat(),
            "force": args["force"],
        }
        days = (args["last"] - args["first"]).days + 1
        svc = services()
        job = submit(svc.database_url, SCHEDULE_BACKFILL, params, svc.queue, total=days)
        return job_body(job), 202, job_location(job)
