"""Data quality: the per-season report of the ingest pipeline."""

import marshmallow as ma
from flask.views import MethodView
from flask_smorest import abort

from app.api.bounds import Blueprint
from app.api.context import services
from app.db.session import session_scope
from app.ingest.quality import quality_report

URL_PREFIX = "/data"

blp = Blueprint("data", __name__, description="What was ingested and how clean it is")


class QualityQuerySchema(ma.Schema):
    season = ma.fields.Integer(
        validate=ma.validate.Range(min=1871, max=2100),
        metadata={"description": "One season; every season with data when absent"},
    )


class QualityReportSchema(ma.Schema):
    seasons = ma.fields.List(
        ma.fields.Dict(),
        metadata={
            "description": "Per season: games curated (regular/postseason), games by "
            "source (retrosheet, sbro, schedule_feed, lines, odds_feed and their combinations) "
            "and games with prices, files, rule "
            "firings by rule {action, firings, rows}, Retrosheet match rate, box-score "
            "coverage of matched games, odds coverage "
            "per market, line-history join rate, betting splits, the file history (every "
            "ingest of a file for the season, the current one marked), conflicts between "
            "sources by named rule, games by scheduled innings"
        },
    )


@blp.route("/quality")
class Quality(MethodView):
    @blp.arguments(QualityQuerySchema, location="query")
    @blp.response(200, QualityReportSchema)
    @blp.alt_response(404, description="No data for that season")
    def get(self, args: dict):
        """The data-quality report of one season or of every season with data."""
        with session_scope(services().database_url) as session:
            reports = quality_report(session, args.get("season"))
        if not reports and "season" in args:
            abort(404, message=f"no data for season {args['season']}")
        return {"seasons": reports}
