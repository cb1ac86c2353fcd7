"""The odds provider (The Odds API v4): the call of the odds, and the quota check before it.
Its responses are ingested by ``app/ingest/odds_feed.py``.

The quota headers (``x-requests-remaining``, ``x-requests-used``, ``x-requests-last``) are
logged and kept with the response; once a response said nothing remains, the feed does not
call again until :data:`QUOTA_RECHECK_AFTER` has passed.
"""

import logging
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.clock import SCHEDULE_ZONE
from app.config import Settings
from app.db.session import session_scope
from app.feeds.http import FeedClient, FeedError
from app.ingest.models import IngestedFile
from app.ingest.odds_feed import SOURCE_NAME, quota_from_headers
from app.ingest.runner import SourceFile

log = logging.getLogger(__name__)

ODDS_PATH = "/v4/sports/baseball_mlb/odds"
MARKETS = ("h2h", "totals", "spreads")
# After a response said no request remains, the next call waits this long (the quota resets
# monthly; a call on an exhausted key is refused by the provider without cost).
QUOTA_RECHECK_AFTER = timedelta(hours=1)


class FeedNotConfigured(FeedError):
    """A setting the feed needs is missing."""


class QuotaExhausted(FeedError):
    """The odds API said no request remains: the feed does not call it."""


def odds_params(api_key: str, day: date | None) -> dict[str, str]:
    """The query of the odds of every upcoming game, or of one US Eastern date's games."""
    params = {
        "regions": "us",
        "markets": ",".join(MARKETS),
        "oddsFormat": "american",
        "dateFormat": "iso",
        "apiKey": api_key,
    }
    if day is not None:
        start = datetime.combine(day, time(0), SCHEDULE_ZONE).astimezone(UTC)
        end = datetime.combine(day + timedelta(days=1), time(0), SCHEDULE_ZONE).astimezone(UTC)
        params["commenceTimeFrom"] = start.strftime("%Y-%m-%dT%H:%M:%SZ")
        params["commenceTimeTo"] = (end - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return params


def check_quota(session: Session, now: datetime) -> None:
    """Raise :class:`QuotaExhausted` when the latest odds response said nothing remains."""
    seen_at = IngestedFile.details["quota_seen_at"].astext
    latest = session.execute(
        select(IngestedFile.details)
        .where(IngestedFile.source == SOURCE_NAME, seen_at.is_not(None))
        .order_by(seen_at.desc())
        .limit(1)
    ).scalar()
    if latest is None:
        return
    seen = datetime.fromisoformat(latest["quota_seen_at"])
    if latest.get("quota", {}).get("remaining") == 0 and now - seen < QUOTA_RECHECK_AFTER:
        raise QuotaExhausted(
            "The Odds API quota is used up (x-requests-remaining 0 at "
            f"{seen.astimezone(UTC):%Y-%m-%d %H:%M} UTC); not calling it before "
            f"{(seen + QUOTA_RECHECK_AFTER).astimezone(UTC):%Y-%m-%d %H:%M} UTC"
        )


def fetch_odds(
    settings: Settings, client: FeedClient, day: date | None, now: datetime
) -> SourceFile:
    """The odds of every upcoming game (or of one US Eastern ``day``); no call without a key
    or while the quota is used up."""
    if not settings.odds_api_key:
        raise FeedNotConfigured("BULLPEN_ODDS_API_KEY is not set: the odds feed is off")
    with session_scope(settings.database_url) as session:
        check_quota(session, now)
    try:
        response = client.get(
            settings.odds_api_url.rstrip("/") + ODDS_PATH, odds_params(settings.odds_api_key, day)
        )
    except FeedError as error:
        quota = quota_from_headers(getattr(error, "headers", {}))
        if quota.remaining == 0:
            raise FeedError(f"{error} (x-requests-remaining 0: the quota is used up)") from None
        raise
    quota = quota_from_headers(response.headers)
    log.info(
        "odds API quota: remaining %s, used %s, last call cost %s",
        quota.remaining,
        quota.used,
        quota.last,
    )
    stamp = response.fetched_at.strftime("%Y%m%dT%H%M%SZ")
    return response.as_source_file(f"odds-{day.isoformat() if day else 'upcoming'}-{stamp}.json")
