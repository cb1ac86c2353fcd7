"""Run a feed: fetch (or load a saved response), then ingest each response in a transaction
of its own. The one code path of the CLI (``bullpen feed``) and the beat tasks.

Fetching happens outside any transaction; a response is written whole or not at all. A
fetch that fails is an error of the run (one line), never an exception out of it, so that a
beat task never crashes and one failed day does not stop the next.
"""

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.clock import SCHEDULE_ZONE
from app.config import Settings
from app.db.session import session_scope
from app.feeds.http import FeedClient, FeedError
from app.feeds.models import FeedDay
from app.feeds.odds import fetch_odds
from app.feeds.schedule import day_is_over, fetch_schedule
from app.games.models import Game, OddsSnapshot
from app.ingest import odds_feed, schedule_feed
from app.ingest.feed_source import FeedReport, FeedSource, saved_response
from app.ingest.runner import SourceFile, ingest_file

log = logging.getLogger(__name__)


@dataclass
class FeedRun:
    """The reports of a run's responses and the errors of the fetches that failed.

    A walk over a date range (:func:`backfill_schedule`) also lists the days it skipped as
    over already, and the day it stopped at when the provider failed (a re-run resumes)."""

    feed: str
    reports: list[FeedReport] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    days_pulled: list[date] = field(default_factory=list)
    days_skipped: list[date] = field(default_factory=list)
    stopped_at: date | None = None

    @property
    def became_final(self) -> list[int]:
        """Ids of the curated games whose result this run wrote first (settle these)."""
        return sorted({game_id for report in self.reports for game_id in report.became_final})

    @property
    def lineups_posted(self) -> list[int]:
        """Games whose starting lineup arrived or changed in this run (to re-predict)."""
        return sorted({game_id for report in self.reports for game_id in report.lineups_posted})

    @property
    def quoted_games(self) -> list[int]:
        """Ids of the curated games this run wrote a new quote of (price these)."""
        return sorted({game_id for report in self.reports for game_id in report.quoted_games})

    @property
    def ok(self) -> bool:
        """No failed fetch and no refused response."""
        return not self.errors and not any(report.refused for report in self.reports)

    def to_json(self) -> dict[str, Any]:
        return {
            "feed": self.feed,
            "ok": self.ok,
            "became_final": self.became_final,
            "quoted_games": self.quoted_games,
            "lineups_posted": self.lineups_posted,
            "reports": [report.to_json() for report in self.reports],
            "errors": list(self.errors),
            "days_pulled": [day.isoformat() for day in self.days_pulled],
            "days_skipped": [day.isoformat() for day in self.days_skipped],
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
        }

    def walk_summary(self) -> str:
        """One line on a walk over a date range: days pulled, skipped, where it stopped."""
        line = (
            f"schedule backfill: {len(self.days_pulled)} days pulled, "
            f"{len(self.days_skipped)} skipped (over already), "
            f"{sum(len(r.games_created) for r in self.reports)} games created, "
            f"{len(self.became_final)} became final"
        )
        if self.stopped_at:
            line += f"; stopped at {self.stopped_at}: run it again to resume from there"
        return line


def default_schedule_dates(now: datetime) -> list[date]:
    """Yesterday and today (US Eastern): late games of yesterday end after midnight."""
    today = now.astimezone(SCHEDULE_ZONE).date()
    return [today - timedelta(days=1), today]


def _saved(path: Path, now: datetime) -> SourceFile:
    """A response saved to a file, as if fetched now; a file that cannot be read is a
    failed fetch."""
    try:
        return saved_response(path, now)
    except OSError as error:
        raise FeedError(f"{path}: {error.strerror or error}") from None


def pull_schedule(
    settings: Settings,
    *,
    dates: Sequence[date] | None = None,
    from_file: Path | None = None,
    client: FeedClient | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FeedRun:
    """The schedule, probable pitchers, status and finals of ``dates`` (default: yesterday
    and today, US Eastern), or of a saved response."""
    run = FeedRun("schedule")
    if from_file is not None:
        _ingest(run, settings, lambda: _saved(from_file, now()), schedule_feed.SOURCE)
        return run
    client = client or FeedClient()
    for day in dates or default_schedule_dates(now()):
        _ingest(run, settings, partial(fetch_schedule, settings, client, day), schedule_feed.SOURCE)
    return run


def backfill_schedule(
    settings: Settings,
    first: date,
    last: date,
    *,
    force: bool = False,
    client: FeedClient | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    checkpoint: Callable[[], None] = lambda: None,
    progress: Callable[[int, int, FeedReport | None], None] = lambda done, total, report: None,
) -> FeedRun:
    """Walk ``first``..``last`` of the schedule provider day by day and curate what each
    day gives (its finals become results-only games until an odds source prices them).

    Resumable: a day whose every game is over (final, postponed, cancelled), or a past day
    without games, is recorded in ``feed_days`` when pulled and skipped by the next walk
    (``force`` pulls it again). Polite: at least ``schedule_backfill_interval`` seconds
    between two calls, a 429's ``Retry-After`` honoured by the client; a day whose fetch
    fails for good stops the walk there (``stopped_at``), so a re-run resumes from it.
    ``checkpoint`` is called before each day (it raises to stop), ``progress`` after it.
    """
    if last < first:
        raise ValueError(f"the range ends ({last}) before it starts ({first})")
    run = FeedRun("schedule")
    days = [first + timedelta(days=offset) for offset in range((last - first).days + 1)]
    with session_scope(settings.database_url) as session:
        over = set() if force else over_days(session, schedule_feed.SOURCE_NAME, first, last)
    client = client or FeedClient()
    today = now().astimezone(SCHEDULE_ZONE).date()
    last_call: float | None = None
    for done, day in enumerate(days, start=1):
        checkpoint()
        if day in over:
            run.days_skipped.append(day)
            progress(done, len(days), None)
            continue
        if last_call is not None:  # counted from the end of the last one: never a burst
            wait = settings.schedule_backfill_interval - (clock() - last_call)
            if wait > 0:
                sleep(wait)

        def record(session, fetched: SourceFile, report: FeedReport, day: date = day) -> None:
            games, is_over = day_is_over(fetched.data, day, today)
            mark_day(session, schedule_feed.SOURCE_NAME, day, report.file_id, games, is_over)

        pulled = _ingest(
            run,
            settings,
            partial(fetch_schedule, settings, client, day),
            schedule_feed.SOURCE,
            after=record,
        )
        last_call = clock()
        if pulled is None:
            run.stopped_at = day
            break
        run.days_pulled.append(day)
        progress(done, len(days), pulled)
    return run


def over_days(session: Session, feed: str, first: date, last: date) -> set[date]:
    """The days of ``first``..``last`` a walk pulled and found over."""
    return set(
        session.scalars(
            select(FeedDay.day).where(
                FeedDay.feed == feed, FeedDay.day.between(first, last), FeedDay.complete
            )
        )
    )


def mark_day(
    session: Session, feed: str, day: date, file_id: int | None, games: int, complete: bool
) -> None:
    """Record that ``day`` was pulled (its response's file, when it was new) and whether
    it is over."""
    statement = insert(FeedDay).values(
        feed=feed, day=day, file_id=file_id, games=games, complete=complete
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=["feed", "day"],
            set_={
                "file_id": func.coalesce(statement.excluded.file_id, FeedDay.file_id),
                "games": statement.excluded.games,
                "complete": statement.excluded.complete,
                "pulled_at": func.now(),
            },
        )
    )


def pull_odds(
    settings: Settings,
    *,
    day: date | None = None,
    from_file: Path | None = None,
    client: FeedClient | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> FeedRun:
    """Every bookmaker's odds of the upcoming games (or of one US Eastern ``day``), or of a
    saved response. Calls nothing without a key or while the quota is used up."""
    run = FeedRun("odds")
    if from_file is not None:
        _ingest(run, settings, lambda: _saved(from_file, now()), odds_feed.SOURCE)
        return run
    client = client or FeedClient()
    _ingest(run, settings, lambda: fetch_odds(settings, client, day, now()), odds_feed.SOURCE)
    return run


# Each game's close: the feed pulls once more inside the last CLOSING_WINDOW before a game's
# first pitch, so that its last quote (its close, app/bets/settlement.py) is at most this old.
CLOSING_WINDOW = timedelta(minutes=30)


def games_needing_a_close(session: Session, now: datetime) -> list[int]:
    """Games the odds feed knows (a snapshot) starting within ``CLOSING_WINDOW`` of ``now``
    whose latest snapshot is older than their window."""
    latest = (
        select(OddsSnapshot.game_id, func.max(OddsSnapshot.captured_at).label("last"))
        .group_by(OddsSnapshot.game_id)
        .subquery()
    )
    return list(
        session.scalars(
            select(Game.id)
            .join(latest, latest.c.game_id == Game.id)
            .where(
                Game.start_time > now,
                Game.start_time <= now + CLOSING_WINDOW,
                latest.c.last < Game.start_time - CLOSING_WINDOW,
            )
            .order_by(Game.id)
        )
    )


def pull_closing_odds(
    settings: Settings, now: Callable[[], datetime] = lambda: datetime.now(UTC)
) -> FeedRun | None:
    """Pull the odds once more when a game enters its closing window without a quote in it
    (one request covers every game); None when no game needs it."""
    with session_scope(settings.database_url) as session:
        if not games_needing_a_close(session, now()):
            return None
    return pull_odds(settings, now=now)


def _ingest(
    run: FeedRun,
    settings: Settings,
    fetch: Callable[[], SourceFile],
    source: FeedSource,
    after: Callable[[Session, SourceFile, FeedReport], None] | None = None,
) -> FeedReport | None:
    """Fetch one response and ingest it through the ingest runner in a transaction of its
    own (with ``after``, in the same transaction); a failed fetch is an error of the run
    (None)."""
    try:
        fetched = fetch()
    except FeedError as error:
        log.error("%s feed: %s", run.feed, error)
        run.errors.append(str(error))
        return None
    with session_scope(settings.database_url) as session:
        report = ingest_file(session, source, fetched)
        if after is not None:
            after(session, fetched, report)
    log.info("%s feed: %s", run.feed, report.summary())
    run.reports.append(report)
    return report
