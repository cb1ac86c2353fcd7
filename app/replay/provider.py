"""A local HTTP server speaking the providers' shapes, built from the replayed season's files.

- ``GET /api/v1/schedule?sportId=1&date=D&hydrate=...``: the MLB Stats API schedule of one
  date (the shape ``app/feeds/schedule.py`` reads): gamePk, gameDate, officialDate, status,
  teams with MLB team ids, probable pitchers, doubleHeader/gameNumber, scheduledInnings and,
  once final, the scores and a line score.
- ``GET /v4/sports/baseball_mlb/odds?apiKey=..&commenceTimeFrom=..&commenceTimeTo=..``: The
  Odds API v4 events of that window with their bookmakers: :data:`BOOK` (the SBRO archive's
  prices) and, for a game the season's line history joins, :data:`SHARP_BOOK` (its every
  line change).

What it shows is decided by the replay clock (``now``), the rule of :mod:`app.replay`:

- a date's games are listed once the clock's US Eastern date has reached it (nothing of a
  later date is visible);
- a game is ``Preview`` before first pitch, ``Live`` until :data:`FINAL_AFTER` after it, then
  ``Final`` with the official score;
- SBRO's quote is its opening moneyline and total from :data:`OPENING_QUOTE_AT` UTC of the
  game's date, and from :data:`CLOSING_QUOTE_LEAD` before first pitch its closing moneyline,
  total and run line;
- the line history's quote is the line standing at that moment (the last one entered by
  then), each market as that line has it;
- a bookmaker's ``last_update`` is the moment the provider last saw its price, as a live
  provider polling the books would: the clock's time, or :data:`LAST_SEEN_BEFORE_START`
  before first pitch once the game has begun (so the line history's close is its last line
  entered by then). Events stay listed with their last pre-game
  quotes.

The server remembers when (wall clock) it first showed a final of each date, so that a test
can check that no prediction of a date was made after its finals were visible.
"""

import json
import threading
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from app.clock import eastern_date
from app.feeds.odds import ODDS_PATH
from app.feeds.schedule import SCHEDULE_PATH
from app.ingest.lines import BOOK as SHARP_BOOK
from app.ingest.teams import MLB_TEAM_ID_TO_CANONICAL, TEAM_NAME_TO_CANONICAL
from app.replay.season import ReplayGame

BOOK = "sbro"
BOOK_TITLE = "SBRO archive"
SHARP_BOOK_TITLE = "Pinnacle (line history)"
OPENING_QUOTE_AT = time(12, 0)  # UTC, on the game's date
CLOSING_QUOTE_LEAD = timedelta(minutes=5)
# The last moment a game's pre-game prices are seen (a quote of that moment is pre-game; a
# second, the precision of ``last_update``, so that the close is the last line, moves of a
# game's final minute included).
LAST_SEEN_BEFORE_START = timedelta(seconds=1)
FINAL_AFTER = timedelta(hours=4)

MLB_TEAM_ID = {code: team_id for team_id, code in MLB_TEAM_ID_TO_CANONICAL.items()}
TEAM_NAME: dict[str, str] = {}
for _name, _code in TEAM_NAME_TO_CANONICAL.items():
    TEAM_NAME.setdefault(_code, _name.title())

PREVIEW = {"abstractGameState": "Preview", "codedGameState": "S", "detailedState": "Scheduled"}
LIVE = {"abstractGameState": "Live", "codedGameState": "I", "detailedState": "In Progress"}
FINAL = {"abstractGameState": "Final", "codedGameState": "F", "detailedState": "Final"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class SeasonProvider:
    """The season's games as the providers show them at the clock's time."""

    def __init__(self, games: list[ReplayGame], now: Callable[[], datetime], api_key: str):
        self.games = games
        self.now = now
        self.api_key = api_key
        self.by_date: dict[date, list[ReplayGame]] = defaultdict(list)
        for game in games:
            self.by_date[game.game_date].append(game)
        self.first_final_shown: dict[date, datetime] = {}
        self.requests: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()

    # --- schedule -----------------------------------------------------------------------------

    def schedule(self, day: date) -> dict[str, Any]:
        """The schedule of ``day`` as the MLB Stats API would give it now."""
        now = self.now()
        games = [] if day > eastern_date(now) else self.by_date.get(day, [])
        bodies = [self._schedule_game(game, now) for game in games]
        if any(body["status"] is FINAL for body in bodies):
            with self._lock:
                self.first_final_shown.setdefault(day, datetime.now(UTC))
        dates = (
            [{"date": day.isoformat(), "totalGames": len(bodies), "games": bodies, "events": []}]
            if bodies
            else []
        )
        return {"totalItems": len(bodies), "totalGames": len(bodies), "dates": dates}

    def _schedule_game(self, game: ReplayGame, now: datetime) -> dict[str, Any]:
        if now >= game.start_time + FINAL_AFTER:
            status = FINAL
        elif now >= game.start_time:
            status = LIVE
        else:
            status = PREVIEW
        final = status is FINAL
        teams = {}
        for side in ("away", "home"):
            code = getattr(game, f"{side}_team")
            entry: dict[str, Any] = {
                "team": {"id": MLB_TEAM_ID[code], "name": TEAM_NAME[code]},
            }
            pitcher = getattr(game, f"{side}_pitcher")
            if pitcher:
                entry["probablePitcher"] = {"fullName": pitcher}
            if final:
                entry["score"] = getattr(game, f"{side}_score")
                entry["isWinner"] = entry["score"] > getattr(
                    game, f"{'home' if side == 'away' else 'away'}_score"
                )
            teams[side] = entry
        body: dict[str, Any] = {
            "gamePk": game.game_pk,
            "gameType": "P" if game.postseason else "R",
            "season": str(game.game_date.year),
            "gameDate": _iso(game.start_time),
            "officialDate": game.game_date.isoformat(),
            "status": status,
            "teams": teams,
            "doubleHeader": "N" if game.game_number == 0 else "S",
            "gameNumber": max(game.game_number, 1),
            "dayNight": {"D": "day", "N": "night"}.get(game.day_night or "", "night"),
            "scheduledInnings": game.scheduled_innings,
        }
        if final:
            body["linescore"] = {
                "scheduledInnings": game.scheduled_innings,
                "teams": {
                    "home": {"runs": game.home_score},
                    "away": {"runs": game.away_score},
                },
            }
        return body

    # --- odds ---------------------------------------------------------------------------------

    def odds(self, start: datetime | None, end: datetime | None) -> list[dict[str, Any]]:
        """The events starting in [start, end] that are visible now, each with its quote."""
        now = self.now()
        events = []
        for day in sorted(self.by_date):
            if day > eastern_date(now):
                break
            for game in self.by_date[day]:
                if (start and game.start_time < start) or (end and game.start_time > end):
                    continue
                seen = min(now, game.start_time - LAST_SEEN_BEFORE_START)
                quotes = [
                    quote
                    for quote in (self._archive_quote(game, seen), self._sharp_quote(game, seen))
                    if quote is not None
                ]
                if quotes:
                    events.append(self._event(game, quotes))
        return events

    def _archive_quote(self, game: ReplayGame, seen: datetime) -> dict[str, Any] | None:
        closing_at = game.start_time - CLOSING_QUOTE_LEAD
        opening_at = datetime.combine(game.game_date, OPENING_QUOTE_AT, tzinfo=UTC)
        home, away = TEAM_NAME[game.home_team], TEAM_NAME[game.away_team]
        if seen >= closing_at:
            markets = [
                _h2h(home, away, game.home_ml_close, game.away_ml_close),
                _totals(game.total_close, game.over_close, game.under_close),
                _spreads(home, away, game.home_rl, game.home_rl_price, game.away_rl_price),
            ]
        elif seen >= opening_at:
            markets = [
                _h2h(home, away, game.home_ml_open, game.away_ml_open),
                _totals(game.total_open, game.over_open, game.under_open),
            ]
        else:
            return None
        return _bookmaker(BOOK, BOOK_TITLE, seen, markets)

    def _sharp_quote(self, game: ReplayGame, seen: datetime) -> dict[str, Any] | None:
        line = game.sharp_line_at(seen)
        if line is None:
            return None
        home, away = TEAM_NAME[game.home_team], TEAM_NAME[game.away_team]
        markets = [
            _h2h(home, away, line.home_ml, line.away_ml),
            _totals(line.total, line.over_price, line.under_price),
            _spreads(home, away, line.home_rl, line.home_rl_price, line.away_rl_price),
        ]
        return _bookmaker(SHARP_BOOK, SHARP_BOOK_TITLE, seen, markets)

    def _event(self, game: ReplayGame, quotes: list[dict[str, Any]]) -> dict[str, Any]:
        return {
            "id": f"replay-{game.game_pk}",
            "sport_key": "baseball_mlb",
            "sport_title": "MLB",
            "commence_time": _iso(game.start_time),
            "home_team": TEAM_NAME[game.home_team],
            "away_team": TEAM_NAME[game.away_team],
            "bookmakers": quotes,
        }


def _bookmaker(
    key: str, title: str, seen: datetime, markets: list[dict | None]
) -> dict[str, Any] | None:
    """One bookmaker of an event (None when it quotes no market)."""
    stamped = [{**market, "last_update": _iso(seen)} for market in markets if market]
    if not stamped:
        return None
    return {"key": key, "title": title, "last_update": _iso(seen), "markets": stamped}


def _h2h(home: str, away: str, home_price: int | None, away_price: int | None) -> dict | None:
    if home_price is None or away_price is None:
        return None
    return {
        "key": "h2h",
        "outcomes": [{"name": home, "price": home_price}, {"name": away, "price": away_price}],
    }


def _totals(total: float | None, over: int | None, under: int | None) -> dict | None:
    if total is None or over is None or under is None:
        return None
    return {
        "key": "totals",
        "outcomes": [
            {"name": "Over", "price": over, "point": total},
            {"name": "Under", "price": under, "point": total},
        ],
    }


def _spreads(
    home: str, away: str, line: float | None, home_price: int | None, away_price: int | None
) -> dict | None:
    if line is None or home_price is None or away_price is None:
        return None
    return {
        "key": "spreads",
        "outcomes": [
            {"name": home, "price": home_price, "point": line},
            {"name": away, "price": away_price, "point": -line},
        ],
    }


def _moment(values: list[str] | None) -> datetime | None:
    if not values:
        return None
    return datetime.fromisoformat(values[0].replace("Z", "+00:00")).astimezone(UTC)


class ProviderServer:
    """:class:`SeasonProvider` over HTTP on 127.0.0.1 (a free port), in a daemon thread."""

    def __init__(self, provider: SeasonProvider, port: int = 0) -> None:
        self.provider = provider
        handler = _handler_for(provider)
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> "ProviderServer":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _handler_for(provider: SeasonProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlparse(self.path)
            query = parse_qs(url.query)
            try:
                if url.path == SCHEDULE_PATH:
                    provider.requests["schedule"] += 1
                    day = date.fromisoformat(query["date"][0])
                    self._send(HTTPStatus.OK, provider.schedule(day))
                elif url.path == ODDS_PATH:
                    provider.requests["odds"] += 1
                    if query.get("apiKey", [""])[0] != provider.api_key:
                        self._send(HTTPStatus.UNAUTHORIZED, {"message": "invalid apiKey"})
                        return
                    events = provider.odds(
                        _moment(query.get("commenceTimeFrom")), _moment(query.get("commenceTimeTo"))
                    )
                    self._send(HTTPStatus.OK, events)
                else:
                    self._send(HTTPStatus.NOT_FOUND, {"message": f"no route {url.path}"})
            except (KeyError, ValueError) as error:
                self._send(HTTPStatus.BAD_REQUEST, {"message": f"bad query: {error}"})

        def _send(self, status: HTTPStatus, body: object) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: object) -> None:
            return

    return Handler
