"""The odds feed's source: The Odds API v4 ``/v4/sports/baseball_mlb/odds`` into line
snapshots (the call itself, and the quota check before it: ``app/feeds/odds.py``).

Shape (``?regions=us&markets=h2h,totals,spreads&oddsFormat=american``): a list of events
``{id, sport_key, commence_time, home_team, away_team, bookmakers: [{key, title, last_update,
markets: [{key, last_update, outcomes: [{name, price, point?}]}]}]}``. Totals outcomes are
``Over``/``Under`` with the total as ``point``; spreads outcomes carry the team name and the
run line as ``point``.

Each bookmaker's quote of an event is one ``odds_snapshots`` row (book = bookmaker key,
captured_at = its ``last_update``), idempotent on (game, book, captured_at): the line history
the features read. Events join curated games on the US Eastern date of ``commence_time`` and
the teams; of a doubleheader's games, the one whose start is nearest.

The quota headers (``x-requests-remaining``, ``x-requests-used``, ``x-requests-last``) are
kept with the response, also when its bytes were seen before.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.clock import SCHEDULE_ZONE
from app.games.models import (
    FEED_BOOK,
    ODDS_COLUMNS,
    Game,
    Odds,
    OddsSnapshot,
    SnapshotPrices,
    snapshot_prices,
)
from app.ingest import bulk, rules
from app.ingest.feed_source import FeedReport, FeedSource, MalformedResponse, utc_time
from app.ingest.models import IngestedFile
from app.ingest.rules import Finding, Rule
from app.ingest.runner import SourceFile
from app.ingest.teams import canonical_from_team_name
from app.markets import MARKETS as CATALOGUE

SOURCE_NAME = "odds_feed"
QUOTA_HEADERS = {
    "remaining": "x-requests-remaining",
    "used": "x-requests-used",
    "last": "x-requests-last",
}
# Games that did not take place get no lines unless no other game of the teams that day is left.
NOT_PLAYED = ("postponed", "cancelled")


@dataclass
class QuoteSnapshot(SnapshotPrices):
    """One bookmaker's prices of an event at one moment (None: market not offered/nulled)."""

    book: str
    captured_at: datetime


@dataclass(frozen=True)
class OddsEvent:
    """One event typed: teams canonical, times aware, its bookmakers' quotes."""

    row_number: int
    event_id: str
    commence_time: datetime
    home_team: str
    away_team: str
    quotes: tuple[QuoteSnapshot, ...]

    @property
    def local_date(self) -> date:
        """The US Eastern date of first pitch: the date MLB's schedule gives the game."""
        return self.commence_time.astimezone(SCHEDULE_ZONE).date()


@dataclass(frozen=True)
class Quota:
    """The quota headers of a response (None when absent)."""

    remaining: int | None
    used: int | None
    last: int | None

    def as_dict(self) -> dict[str, int]:
        values = {"remaining": self.remaining, "used": self.used, "last": self.last}
        return {key: value for key, value in values.items() if value is not None}


def quota_from_headers(headers: Mapping[str, str]) -> Quota:
    """The quota an odds API response reports (header names are case-insensitive)."""
    lower = {key.lower(): value for key, value in headers.items()}

    def number(name: str) -> int | None:
        try:
            return int(float(lower[name]))
        except (KeyError, ValueError):
            return None

    return Quota(*(number(QUOTA_HEADERS[key]) for key in ("remaining", "used", "last")))


def _remember_quota(session: Session, file_id: int, quota: Quota, seen_at: datetime) -> None:
    """Keep the quota a response reported with the response it came with."""
    file = session.get(IngestedFile, file_id)
    if file is not None:
        file.details = {
            **(file.details or {}),
            "quota": quota.as_dict(),
            "quota_seen_at": seen_at.isoformat(),
        }


# --- parsing ----------------------------------------------------------------------------------


def odds_payloads(document: Any) -> list[Any]:
    """The events of an odds response; raises MalformedResponse on another shape."""
    if not isinstance(document, list):
        raise MalformedResponse("an odds response is a JSON list of events")
    return document


def parse_events(
    payloads: list[Any], fetched_at: datetime
) -> tuple[list[OddsEvent], list[Finding]]:
    """Type every event; an event or quote that cannot be typed is a finding, the rest go on."""
    events: list[OddsEvent] = []
    findings: list[Finding] = []
    for number, payload in enumerate(payloads, start=1):
        event = parse_event(number, payload, fetched_at, findings)
        if event is not None:
            events.append(event)
    return events, findings


def parse_event(
    number: int, payload: Any, fetched_at: datetime, findings: list[Finding]
) -> OddsEvent | None:
    """One event typed, or None (with the rule that rejected it in ``findings``)."""

    def note(rule: Rule, message: str) -> None:
        findings.append(Finding(rule, message, (number,)))

    if not isinstance(payload, dict):
        note(rules.FEEDS_UNPARSEABLE_EVENT, "an event that is not an object")
        return None
    event_id = payload.get("id")
    commence = utc_time(payload.get("commence_time"))
    home_name, away_name = payload.get("home_team"), payload.get("away_team")
    bookmakers = payload.get("bookmakers", [])
    if (
        not isinstance(event_id, str)
        or commence is None
        or not isinstance(home_name, str)
        or not isinstance(away_name, str)
        or not isinstance(bookmakers, list)
    ):
        note(
            rules.FEEDS_UNPARSEABLE_EVENT,
            f"event {event_id!r}: id, commence_time {payload.get('commence_time')!r}, "
            "home_team, away_team or bookmakers missing or unreadable",
        )
        return None
    home, away = canonical_from_team_name(home_name), canonical_from_team_name(away_name)
    if home is None or away is None:
        unknown = [name for name, code in ((home_name, home), (away_name, away)) if code is None]
        note(
            rules.FEEDS_UNKNOWN_TEAM,
            f"event {event_id}: team {', '.join(map(repr, unknown))} has no canonical code",
        )
        return None
    quotes = []
    for bookmaker in bookmakers:
        quote = parse_quote(
            bookmaker,
            home_name,
            away_name,
            fetched_at,
            lambda rule, message: note(rule, f"event {event_id}: {message}"),
        )
        if quote is not None:
            quotes.append(quote)
    return OddsEvent(number, event_id, commence, home, away, tuple(quotes))


def parse_quote(
    bookmaker: Any,
    home_name: str,
    away_name: str,
    fetched_at: datetime,
    note: Callable[[Rule, str], None],
) -> QuoteSnapshot | None:
    """One bookmaker's quote; a market that cannot be read or is implausible is nulled."""
    if not isinstance(bookmaker, dict) or not isinstance(bookmaker.get("key"), str):
        note(rules.FEEDS_UNPARSEABLE_EVENT, "a bookmaker without a key")
        return None
    book = bookmaker["key"][:32]
    markets = bookmaker.get("markets")
    if not isinstance(markets, list):
        note(rules.FEEDS_UNPARSEABLE_EVENT, f"{book}: markets is not a list")
        return None
    by_key = {m.get("key"): m for m in markets if isinstance(m, dict)}
    updates = [utc_time(m.get("last_update")) for m in by_key.values()]
    captured_at = (
        utc_time(bookmaker.get("last_update"))
        or max((moment for moment in updates if moment is not None), default=None)
        or fetched_at
    )
    values: dict[str, Any] = {}
    for key, reader in (("h2h", _moneyline), ("totals", _totals), ("spreads", _run_line)):
        market = by_key.get(key)
        if market is None:
            continue
        outcomes = market.get("outcomes")
        read = reader(outcomes, home_name, away_name) if isinstance(outcomes, list) else None
        if read is None:
            note(rules.FEEDS_ODDS_MARKET_UNREADABLE, f"{book} {key}: outcomes unreadable")
            continue
        problem = _implausible(key, read)
        if problem is not None:
            note(rules.FEEDS_ODDS_MARKET_IMPLAUSIBLE, f"{book} {key}: {problem}")
            continue
        values.update({name: value for name, value in read.items() if not name.startswith("_")})
    if not values:
        note(rules.FEEDS_ODDS_NO_MARKET, f"{book}: no readable h2h, totals or spreads market")
        return None
    return QuoteSnapshot(book=book, captured_at=captured_at, **values)


def _outcomes_by_name(outcomes: list[Any]) -> dict[str, dict[str, Any]]:
    return {
        str(outcome["name"]).strip().lower(): outcome
        for outcome in outcomes
        if isinstance(outcome, dict) and isinstance(outcome.get("name"), str)
    }


def _price(outcome: dict[str, Any] | None) -> int | None:
    value = None if outcome is None else outcome.get("price")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return round(value)


def _point(outcome: dict[str, Any] | None) -> float | None:
    value = None if outcome is None else outcome.get("point")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _moneyline(outcomes: list[Any], home: str, away: str) -> dict[str, Any] | None:
    named = _outcomes_by_name(outcomes)
    home_ml, away_ml = _price(named.get(home.lower())), _price(named.get(away.lower()))
    if home_ml is None or away_ml is None:
        return None
    return {"home_ml": home_ml, "away_ml": away_ml}


def _totals(outcomes: list[Any], home: str, away: str) -> dict[str, Any] | None:
    named = _outcomes_by_name(outcomes)
    over, under = named.get("over"), named.get("under")
    prices, points = (_price(over), _price(under)), (_point(over), _point(under))
    if None in prices or None in points:
        return None
    if points[0] != points[1]:
        return None
    return {"total": points[0], "over_price": prices[0], "under_price": prices[1]}


def _run_line(outcomes: list[Any], home: str, away: str) -> dict[str, Any] | None:
    named = _outcomes_by_name(outcomes)
    home_outcome, away_outcome = named.get(home.lower()), named.get(away.lower())
    prices = (_price(home_outcome), _price(away_outcome))
    points = (_point(home_outcome), _point(away_outcome))
    if None in prices or None in points:
        return None
    return {
        "home_rl": points[0],
        "home_rl_price": prices[0],
        "away_rl_price": prices[1],
        "_away_rl": points[1],
    }


def _implausible(key: str, read: dict[str, Any]) -> str | None:
    """Why a read market is implausible (the archive's checks), or None."""
    if key == "h2h":
        broken = rules.check_price_pair(read["home_ml"], read["away_ml"])
    elif key == "totals":
        broken = rules.check_total(read["total"], read["total"]) or rules.check_price_pair(
            read["over_price"], read["under_price"]
        )
    else:
        away_rl = read["_away_rl"]
        broken = rules.check_run_line(away_rl, read["home_rl"]) or rules.check_price_pair(
            read["home_rl_price"], read["away_rl_price"]
        )
    return None if broken is None else broken[1]


# --- matching and writing ---------------------------------------------------------------------


def match_game(event: OddsEvent, candidates: list[Game]) -> tuple[Game | None, str]:
    """The curated game of ``event`` among the games of its teams and date, or why none."""
    if not candidates:
        return None, "no curated game"
    played = [game for game in candidates if game.status not in NOT_PLAYED] or candidates
    if len(played) == 1:
        return played[0], ""
    timed = [game for game in played if game.start_time is not None]
    if len(timed) != len(played):
        return None, f"{len(played)} curated games and not every start time known"
    ranked = sorted(timed, key=lambda game: abs(game.start_time - event.commence_time))
    if abs(ranked[0].start_time - event.commence_time) == abs(
        ranked[1].start_time - event.commence_time
    ):
        return None, f"{len(played)} curated games equally near in start time"
    return ranked[0], ""


def write_quotes(
    session: Session, events: list[OddsEvent], findings: list[Finding], report: FeedReport
) -> dict[int, Game]:
    """Each matched quote from before first pitch as a line snapshot (idempotent), the
    games' feed ``odds`` row refreshed; row number -> curated game."""
    games_by_teams = _candidate_games(session, events)
    matched: dict[int, Game] = {}
    snapshots: list[dict[str, Any]] = []
    for event in events:
        game, why = match_game(
            event, games_by_teams.get((event.local_date, event.home_team, event.away_team), [])
        )
        if game is None:
            findings.append(
                Finding(
                    rules.FEEDS_ODDS_GAME_UNMATCHED,
                    f"event {event.event_id}: {event.away_team} at {event.home_team} on "
                    f"{event.local_date} (US Eastern): {why}",
                    (event.row_number,),
                )
            )
            continue
        matched[event.row_number] = game
        first_pitch = game.start_time or event.commence_time
        for quote in event.quotes:
            if quote.captured_at >= first_pitch:
                findings.append(
                    Finding(
                        rules.FEEDS_ODDS_AFTER_FIRST_PITCH,
                        f"event {event.event_id}: {quote.book} updated "
                        f"{quote.captured_at.isoformat()}, first pitch {first_pitch.isoformat()}",
                        (event.row_number,),
                    )
                )
                continue
            snapshots.append(
                {
                    "game_id": game.id,
                    "book": quote.book,
                    "captured_at": quote.captured_at,
                    **snapshot_prices(quote),
                }
            )
    report.snapshots = 0
    if snapshots:
        written = session.execute(
            insert(OddsSnapshot)
            .values(snapshots)
            .on_conflict_do_nothing(index_elements=["game_id", "book", "captured_at"])
            .returning(OddsSnapshot.game_id)
        ).all()
        report.snapshots = len(written)
        report.quoted_games = sorted({row.game_id for row in written})
    refresh_feed_odds(session, sorted({game.id for game in matched.values()}))
    return matched


def _candidate_games(
    session: Session, events: list[OddsEvent]
) -> dict[tuple[date, str, str], list[Game]]:
    """Curated games of the events' dates, by (date, home, away)."""
    days = sorted({event.local_date for event in events})
    found: dict[tuple[date, str, str], list[Game]] = {}
    if not days:
        return found
    for game in session.scalars(
        select(Game).where(Game.game_date.in_(days), Game.retired_at.is_(None))
    ):
        found.setdefault((game.game_date, game.home_team, game.away_team), []).append(game)
    return found


# Snapshot columns (all needed) -> odds columns of the opening and the closing quote.
_MARKET_COLUMNS = {
    market.snapshot.columns: (
        None if market.open is None else market.open.columns,
        market.close.columns,
    )
    for market in CATALOGUE.values()
}


def refresh_feed_odds(session: Session, game_ids: Sequence[int]) -> None:
    """Keep each game's ``odds`` row of book ``feed`` equal to its pre-game line history.

    Per market, the opening quote is the first one seen from any book (earliest
    ``captured_at``; ties by book name) and the closing quote the last one before first
    pitch. Games with an SBRO row keep reading it: the feed row is their fallback.
    """
    if not game_ids:
        return
    starts = dict(
        session.execute(select(Game.id, Game.start_time).where(Game.id.in_(list(game_ids)))).all()
    )
    snapshots = session.scalars(
        select(OddsSnapshot)
        .where(OddsSnapshot.game_id.in_(list(game_ids)), OddsSnapshot.book != FEED_BOOK)
        .order_by(OddsSnapshot.game_id, OddsSnapshot.captured_at, OddsSnapshot.book)
    ).all()
    by_game: dict[int, list[OddsSnapshot]] = {}
    for snapshot in snapshots:
        start = starts.get(snapshot.game_id)
        if start is None or snapshot.captured_at < start:
            by_game.setdefault(snapshot.game_id, []).append(snapshot)
    rows = []
    for game_id, history in by_game.items():
        row: dict[str, Any] = {"game_id": game_id, "book": FEED_BOOK}
        row.update(dict.fromkeys(ODDS_COLUMNS))
        for source, (open_columns, close_columns) in _MARKET_COLUMNS.items():
            quoted = [s for s in history if all(getattr(s, c) is not None for c in source)]
            if not quoted:
                continue
            for columns, quote in ((open_columns, quoted[0]), (close_columns, quoted[-1])):
                if columns is not None:
                    row.update(zip(columns, (getattr(quote, c) for c in source), strict=True))
        rows.append(row)
    bulk.upsert(session, Odds.__table__, rows, ["game_id", "book"], ODDS_COLUMNS)


class OddsSource(FeedSource):
    """Odds responses: every bookmaker's quote of an event a line snapshot, the response's
    quota kept with it."""

    name = SOURCE_NAME
    feed = "odds"

    def describe(self, file: SourceFile) -> dict[str, Any]:
        details = super().describe(file)
        quota = quota_from_headers(file.headers).as_dict()
        if quota and file.fetched_at is not None:
            details.update(quota=quota, quota_seen_at=file.fetched_at.isoformat())
        return details

    def new_report(self, file: SourceFile) -> FeedReport:
        report = super().new_report(file)
        report.quota = quota_from_headers(file.headers).as_dict()
        return report

    def skipped(self, session: Session, file: SourceFile, file_id: int) -> FeedReport:
        """The same response again: its quota is still news."""
        report = super().skipped(session, file, file_id)
        if report.quota and file.fetched_at is not None:
            _remember_quota(session, file_id, quota_from_headers(file.headers), file.fetched_at)
        return report

    def payloads(self, document: Any) -> list[Any]:
        return odds_payloads(document)

    def typed(self, payloads: list[Any], file: SourceFile) -> tuple[list[OddsEvent], list[Finding]]:
        return parse_events(payloads, file.fetched_at or datetime.now(UTC))

    def write(
        self, session: Session, typed: list[OddsEvent], findings: list[Finding], report: FeedReport
    ) -> dict[int, Game]:
        return write_quotes(session, typed, findings, report)


SOURCE = OddsSource()
