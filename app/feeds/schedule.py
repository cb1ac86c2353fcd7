"""The schedule provider (the MLB Stats API): the call of a day's schedule, and whether a day
is over. Its responses are ingested by ``app/ingest/schedule_feed.py``."""

from datetime import date

from app.config import Settings
from app.feeds.http import FeedClient
from app.ingest.feed_source import MalformedResponse, load_json
from app.ingest.runner import SourceFile
from app.ingest.schedule_feed import parse_schedule, schedule_payloads

SCHEDULE_PATH = "/api/v1/schedule"
# States after which a game's listing will not change again (a suspended game resumes later).
OVER_STATUSES = frozenset({"final", "postponed", "cancelled"})


def schedule_params(day: date) -> dict[str, str]:
    """The query of one day's schedule with probable pitchers, line scores and the starting
    lineups the provider has (posted a few hours before first pitch)."""
    return {
        "sportId": "1",
        "date": day.isoformat(),
        "hydrate": "probablePitcher,linescore,lineups",
    }


def fetch_schedule(settings: Settings, client: FeedClient, day: date) -> SourceFile:
    """One day's schedule response."""
    url = settings.schedule_api_url.rstrip("/") + SCHEDULE_PATH
    return client.get(url, schedule_params(day)).as_source_file(f"schedule-{day.isoformat()}.json")


def day_is_over(body: bytes, day: date, today: date) -> tuple[int, bool]:
    """The games a day's schedule response lists, and whether the day is over: every game of
    it final (with both scores), postponed or cancelled, or a past day without games.

    A malformed body is not over (the day is pulled again)."""
    try:
        payloads = schedule_payloads(load_json(body))
    except MalformedResponse:
        return 0, False
    games = [game for game in parse_schedule(payloads).games if game.official_date == day]
    over = all(
        game.is_final if game.status == "final" else game.status in OVER_STATUSES for game in games
    )
    return len(games), over and (bool(games) or day < today)
