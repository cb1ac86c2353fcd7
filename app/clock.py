"""What time it is for the system: the wall clock, or a replay's clock.

``bullpen replay`` (``app/replay``) runs the whole system on a past season. Its processes get
``BULLPEN_CLOCK_URL``, a Redis URL whose key :data:`CLOCK_KEY` holds the replay's current
time (ISO 8601), which the replay advances as the days go by. What the system stamps with
"now" for its own reasoning (a prediction's time, which decides whether it was made before
first pitch; a bet's placement and settlement) then reads the replay's time. Operational
timestamps (jobs, ingest bookkeeping) stay on the wall clock.
"""

import os
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import redis

CLOCK_URL_ENV = "BULLPEN_CLOCK_URL"
CLOCK_KEY = "bullpen:clock"
# MLB's schedule is kept in US Eastern time: the local date of every game is its Eastern date
# (the latest starts, 10:10 pm Eastern on the west coast, stay on the same day).
SCHEDULE_ZONE = ZoneInfo("America/New_York")

_clients: dict[str, redis.Redis] = {}


class ClockNotSet(RuntimeError):
    """A replay clock is configured but holds no time."""


def _client(url: str) -> redis.Redis:
    client = _clients.get(url)
    if client is None:
        client = _clients[url] = redis.Redis.from_url(url, socket_timeout=5)
    return client


def now() -> datetime:
    """The current time (aware, UTC): the replay clock's when one is configured."""
    url = os.environ.get(CLOCK_URL_ENV)
    if not url:
        return datetime.now(UTC)
    value = _client(url).get(CLOCK_KEY)
    if value is None:
        raise ClockNotSet(f"{CLOCK_URL_ENV} is set but {CLOCK_KEY} holds no time")
    return datetime.fromisoformat(value.decode()).astimezone(UTC)


def set_clock(url: str, moment: datetime) -> None:
    """Set the replay clock at ``url`` to ``moment`` (aware)."""
    if moment.tzinfo is None:
        raise ValueError("the replay clock needs an aware datetime")
    _client(url).set(CLOCK_KEY, moment.astimezone(UTC).isoformat())


def eastern_date(moment: datetime) -> date:
    """The US Eastern date of an aware moment (the date MLB gives its games)."""
    return moment.astimezone(SCHEDULE_ZONE).date()


def local_date(moment: datetime) -> date:
    """The schedule date of a first pitch: its US Eastern date when the time is aware (a game
    at 02:10 UTC is the evening before's), its own date when naive (local time as given)."""
    return eastern_date(moment) if moment.tzinfo is not None else moment.date()


def today() -> date:
    """The system's US Eastern date: :func:`eastern_date` of :func:`now`."""
    return eastern_date(now())
