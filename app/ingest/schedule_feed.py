"""The schedule feed's source: a day of the MLB Stats API ``/api/v1/schedule`` into curated
games (the call itself: ``app/feeds/schedule.py``).

Shape (``?sportId=1&date=YYYY-MM-DD&hydrate=probablePitcher,linescore,lineups``):
``dates[].games[]`` with ``gamePk``, ``gameDate`` (UTC), ``officialDate``, ``gameType``, ``status``
(``abstractGameState``, ``detailedState``, ``codedGameState``), ``teams.{away,home}`` (``team``
``{id, name, abbreviation}``, ``score``, ``probablePitcher {id, fullName}``), ``doubleHeader``
(N/Y/S), ``gameNumber``, ``scheduledInnings``, ``linescore`` and, once the teams post them (a
few hours before first pitch), ``lineups`` ``{homePlayers, awayPlayers}``: each a list of
people in batting order (``id``, ``fullName``, ``primaryPosition.code``). A lineup is stored
when it is nine readable players and the game has no game-log lineup (the official record
wins); its players are mapped to Retrosheet ids by name through the stored game-log lineups
(:func:`player_ids_by_name`). A game not begun whose stored lineup changed is listed in the
report's ``lineups_posted``: it is predicted again (``app.after_pull``).

A game is matched to a curated game by its gamePk, else by date + teams + game number
(0 for a single game, 1/2 for a doubleheader's games), else to the one unlisted game of that
date and matchup (a log or an archive may number a doubleheader differently), and updated,
never duplicated: start time, probable pitchers, status, and, once final, the result. Its date
is ``officialDate``, the US Eastern date (a 10:10 pm Eastern start is after midnight UTC and
keeps its day); once the game has begun its date and first pitch no longer move (:data:`BEGUN`).
"""

import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.games.models import Game, LineupSlot
from app.ingest import rules
from app.ingest.curated import game_key
from app.ingest.feed_source import FeedReport, FeedSource, MalformedResponse, utc_time
from app.ingest.rules import Finding
from app.ingest.runner import SourceFile
from app.ingest.teams import canonical_from_mlb_team

SOURCE_NAME = "schedule_feed"
# codedGameState -> our status; anything else is read from abstractGameState.
CODED_STATUS = {
    "F": "final",
    "O": "final",  # Game Over
    "D": "postponed",
    "C": "cancelled",
    "T": "suspended",
    "U": "suspended",
}
ABSTRACT_STATUS = {"preview": "scheduled", "live": "live", "final": "final"}
# gameType of games that are no league games: spring training, exhibition, All-Star.
NOT_LEAGUE_GAME_TYPES = frozenset({"S", "E", "A"})
POSTSEASON_GAME_TYPES = frozenset({"F", "D", "L", "W", "C", "P"})
DEFAULT_SCHEDULED_INNINGS = 9


LINEUP_SIZE = 9
# A name maps to a Retrosheet id that accounts for at least this share of its starts.
MIN_NAME_SHARE = 0.8


@dataclass(frozen=True)
class PostedPlayer:
    """One player of a posted lineup: the provider's id, his name, his primary position."""

    mlb_id: int
    name: str
    position: int | None


@dataclass(frozen=True)
class ScheduledGame:
    """One game of the schedule, typed (teams canonical, times aware)."""

    row_number: int
    game_pk: int
    official_date: date
    start_time: datetime
    home_team: str
    away_team: str
    game_number: int  # 0 single game, 1 or 2 a doubleheader's
    status: str
    home_score: int | None
    away_score: int | None
    home_pitcher: str | None
    away_pitcher: str | None
    scheduled_innings: int
    postseason: bool
    # The posted starting lineups in batting order; empty when not posted (or unreadable).
    home_lineup: tuple[PostedPlayer, ...] = ()
    away_lineup: tuple[PostedPlayer, ...] = ()

    @property
    def game_key(self) -> str:
        """The curated natural key "YYYYMMDD-HOME-AWAY-N"."""
        return game_key(self.official_date, self.home_team, self.away_team, self.game_number)

    @property
    def is_final(self) -> bool:
        return self.status == "final" and None not in (self.home_score, self.away_score)


@dataclass
class ParsedSchedule:
    """The games of a response and what the rules found; ``payloads`` by row number."""

    games: list[ScheduledGame]
    findings: list[Finding]
    payloads: list[Any]


def schedule_payloads(document: Any) -> list[Any]:
    """Every game object of a schedule response; raises MalformedResponse on another shape."""
    if not isinstance(document, dict) or not isinstance(document.get("dates"), list):
        raise MalformedResponse("a schedule response is an object with a 'dates' list")
    payloads: list[Any] = []
    for day in document["dates"]:
        if not isinstance(day, dict) or not isinstance(day.get("games", []), list):
            raise MalformedResponse("every entry of 'dates' is an object with a 'games' list")
        payloads.extend(day.get("games", []))
    return payloads


def parse_schedule(payloads: list[Any]) -> ParsedSchedule:
    """Type every game; a game that cannot be typed is a finding, the others go on."""
    games: list[ScheduledGame] = []
    findings: list[Finding] = []
    for number, payload in enumerate(payloads, start=1):
        game = parse_game(number, payload, findings)
        if game is not None:
            games.append(game)
    return ParsedSchedule(games, findings, payloads)


def parse_game(number: int, payload: Any, findings: list[Finding]) -> ScheduledGame | None:
    """One game object typed, or None (with the rule that rejected it in ``findings``)."""

    def reject(rule: rules.Rule, message: str) -> None:
        findings.append(Finding(rule, message, (number,)))

    if not isinstance(payload, dict):
        reject(rules.FEEDS_UNPARSEABLE_GAME, "a game entry that is not an object")
        return None
    game_pk = payload.get("gamePk")
    if not _is_int(game_pk):
        reject(rules.FEEDS_UNPARSEABLE_GAME, f"gamePk {game_pk!r} is not an integer")
        return None
    label = f"gamePk {game_pk}"
    if payload.get("gameType") in NOT_LEAGUE_GAME_TYPES:
        reject(rules.FEEDS_NOT_A_LEAGUE_GAME, f"{label}: gameType {payload['gameType']}")
        return None
    start_time = utc_time(payload.get("gameDate"))
    official = _iso_date(payload.get("officialDate"))
    status = _status(payload.get("status"))
    teams = payload.get("teams")
    if start_time is None or official is None or status is None or not isinstance(teams, dict):
        reject(
            rules.FEEDS_UNPARSEABLE_GAME,
            f"{label}: gameDate {payload.get('gameDate')!r}, officialDate "
            f"{payload.get('officialDate')!r}, status or teams unreadable",
        )
        return None
    sides: dict[str, dict[str, Any]] = {}
    for side in ("home", "away"):
        entry = teams.get(side)
        team = entry.get("team") if isinstance(entry, dict) else None
        if not isinstance(team, dict):
            reject(rules.FEEDS_UNPARSEABLE_GAME, f"{label}: teams.{side}.team missing")
            return None
        code = canonical_from_mlb_team(team.get("id"), team.get("abbreviation"), team.get("name"))
        if code is None:
            reject(
                rules.FEEDS_UNKNOWN_TEAM,
                f"{label}: {side} team id {team.get('id')!r} "
                f"({team.get('abbreviation') or team.get('name')!r}) has no canonical code",
            )
            return None
        sides[side] = {"code": code, **entry}
    game_number = _game_number(payload)
    if game_number is None:
        reject(
            rules.FEEDS_UNPARSEABLE_GAME,
            f"{label}: doubleHeader {payload.get('doubleHeader')!r} with gameNumber "
            f"{payload.get('gameNumber')!r}",
        )
        return None
    innings = payload.get("scheduledInnings", DEFAULT_SCHEDULED_INNINGS)
    posted = payload.get("lineups")
    posted = posted if isinstance(posted, Mapping) else {}
    lineups = {
        side: _lineup(posted.get(f"{side}Players"), f"{label} {side}", number, findings)
        for side in ("home", "away")
    }
    return ScheduledGame(
        row_number=number,
        game_pk=game_pk,
        official_date=official,
        start_time=start_time,
        home_team=sides["home"]["code"],
        away_team=sides["away"]["code"],
        game_number=game_number,
        status=status,
        home_score=_score(sides["home"].get("score")),
        away_score=_score(sides["away"].get("score")),
        home_pitcher=_pitcher(sides["home"].get("probablePitcher")),
        away_pitcher=_pitcher(sides["away"].get("probablePitcher")),
        scheduled_innings=innings if _is_int(innings) and innings > 0 else 9,
        postseason=payload.get("gameType") in POSTSEASON_GAME_TYPES,
        home_lineup=lineups["home"],
        away_lineup=lineups["away"],
    )


def _lineup(
    value: object, label: str, number: int, findings: list[Finding]
) -> tuple[PostedPlayer, ...]:
    """A posted lineup typed; () when none is posted or it is not nine readable players."""
    if value is None or value == []:
        return ()
    players = []
    for entry in value if isinstance(value, list) else [None]:
        if not isinstance(entry, Mapping):
            break
        name, mlb_id = entry.get("fullName"), entry.get("id")
        if not _is_int(mlb_id) or not isinstance(name, str) or not name.strip():
            break
        position = entry.get("primaryPosition")
        code = position.get("code") if isinstance(position, Mapping) else None
        players.append(
            PostedPlayer(
                mlb_id,
                " ".join(name.split())[:64],
                int(code) if isinstance(code, str) and code.isdigit() else None,
            )
        )
    if len(players) != LINEUP_SIZE or len(players) != len(value):
        findings.append(
            Finding(
                rules.FEEDS_LINEUP_UNREADABLE,
                f"{label} lineup: {len(value) if isinstance(value, list) else value!r} entries, "
                f"{len(players)} readable",
                (number,),
            )
        )
        return ()
    return tuple(players)


def curate_schedule(
    session: Session, games: list[ScheduledGame], findings: list[Finding], report: FeedReport
) -> dict[int, Game]:
    """Create or update the curated game of each scheduled game; row number -> curated game."""
    by_pk = {
        game.mlb_game_pk: game
        for game in session.scalars(
            select(Game).where(Game.mlb_game_pk.in_([g.game_pk for g in games]))
        )
    }
    wanted_keys = {g.game_key for g in games} | {game.game_key for game in by_pk.values()}
    by_key = {
        game.game_key: game
        for game in session.scalars(select(Game).where(Game.game_key.in_(wanted_keys)))
    }
    curated: dict[int, Game] = {}
    for scheduled in games:
        game = (
            by_pk.get(scheduled.game_pk)
            or by_key.get(scheduled.game_key)
            or _unlisted_game(session, scheduled, wanted_keys)
        )
        if game is None:
            game = _new_game(scheduled)
            session.add(game)
            session.flush()
            by_pk[scheduled.game_pk] = by_key[game.game_key] = game
            report.games_created.append(game.id)
            if scheduled.is_final:
                report.became_final.append(game.id)
            curated[scheduled.row_number] = game
            continue
        if game.mlb_game_pk not in (None, scheduled.game_pk):
            findings.append(
                Finding(
                    rules.FEEDS_GAME_KEY_TAKEN,
                    f"gamePk {scheduled.game_pk}: {scheduled.game_key} is gamePk "
                    f"{game.mlb_game_pk}'s",
                    (scheduled.row_number,),
                )
            )
            continue
        if game.game_key != scheduled.game_key and not _begun(game):
            if scheduled.status in ("postponed", "cancelled"):
                # The listing of a game on its original date after it was moved: stale.
                curated[scheduled.row_number] = game
                continue
            holder = by_key.get(scheduled.game_key)
            if holder is not None and holder is not game:
                findings.append(
                    Finding(
                        rules.FEEDS_GAME_KEY_TAKEN,
                        f"gamePk {scheduled.game_pk} moved to {scheduled.game_key}, which "
                        f"curated game {holder.id} holds",
                        (scheduled.row_number,),
                    )
                )
                continue
            by_key.pop(game.game_key, None)
            by_key[scheduled.game_key] = game
        _update_game(game, scheduled, findings, report)
        curated[scheduled.row_number] = game
    session.flush()
    posted = [(curated[g.row_number], g) for g in games if g.row_number in curated]
    report.lineups_posted = store_lineups(session, posted)
    return curated


def _unlisted_game(
    session: Session, scheduled: ScheduledGame, listed_keys: set[str]
) -> Game | None:
    """A curated game no feed listed yet (from a game log or an archive) that is this one
    although it is numbered differently: the only one of that date and matchup whose key no
    other listing of the response takes, or, for a final, the only one with the same score."""
    found = session.scalars(
        select(Game).where(
            Game.game_date == scheduled.official_date,
            Game.home_team == scheduled.home_team,
            Game.away_team == scheduled.away_team,
            Game.mlb_game_pk.is_(None),
            Game.game_key.not_in(listed_keys),
        )
    ).all()
    if len(found) > 1 and scheduled.is_final:
        found = [
            game
            for game in found
            if (game.home_score, game.away_score) == (scheduled.home_score, scheduled.away_score)
        ]
    return found[0] if len(found) == 1 else None


def _new_game(scheduled: ScheduledGame) -> Game:
    game = Game(
        game_key=scheduled.game_key,
        season=scheduled.official_date.year,
        game_date=scheduled.official_date,
        game_number=scheduled.game_number,
        start_time=scheduled.start_time,
        home_team=scheduled.home_team,
        away_team=scheduled.away_team,
        home_pitcher=scheduled.home_pitcher,
        away_pitcher=scheduled.away_pitcher,
        postseason=scheduled.postseason,
        scheduled_innings=scheduled.scheduled_innings,
        mlb_game_pk=scheduled.game_pk,
        status=scheduled.status,
    )
    if scheduled.is_final:
        game.home_score, game.away_score = scheduled.home_score, scheduled.away_score
    return game


def _update_game(
    game: Game, scheduled: ScheduledGame, findings: list[Finding], report: FeedReport
) -> None:
    """Make ``game`` say what the schedule says; record what changed in ``report``."""
    before = _snapshot(game)
    was_final = game.is_final
    game.mlb_game_pk = scheduled.game_pk
    if not _begun(game):
        game.game_key = scheduled.game_key
        game.game_date = scheduled.official_date
        game.season = scheduled.official_date.year
        game.game_number = scheduled.game_number
        game.start_time = scheduled.start_time
    game.postseason = game.postseason or scheduled.postseason
    game.scheduled_innings = scheduled.scheduled_innings
    # A Retrosheet-confirmed starter (with its player id) is not replaced by a probable one.
    for side in ("home", "away"):
        probable = getattr(scheduled, f"{side}_pitcher")
        confirmed = getattr(game, f"{side}_pitcher_id") is not None
        if probable and not confirmed and getattr(game, f"{side}_pitcher") != probable:
            setattr(game, f"{side}_pitcher", probable)
            setattr(game, f"{side}_pitcher_hand", None)
    status = scheduled.status
    if status == "final" and not scheduled.is_final:
        findings.append(
            Finding(
                rules.FEEDS_FINAL_WITHOUT_SCORE,
                f"gamePk {scheduled.game_pk} is final without both scores "
                f"({scheduled.away_score!r}-{scheduled.home_score!r})",
                (scheduled.row_number,),
            )
        )
        status = game.status or "live"
    # The official scorer's record (Retrosheet), once ingested, is the final that counts.
    official = was_final and game.retrosheet_game_id is not None
    if scheduled.is_final and not official:
        game.home_score, game.away_score = scheduled.home_score, scheduled.away_score
    elif scheduled.is_final and (game.home_score, game.away_score) != (
        scheduled.home_score,
        scheduled.away_score,
    ):
        rule = rules.FINAL_SCORE_SOURCES_DISAGREE
        findings.append(
            Finding(
                rule,
                f"gamePk {scheduled.game_pk}: schedule feed {scheduled.away_score}-"
                f"{scheduled.home_score}, Retrosheet {game.retrosheet_game_id} "
                f"{game.away_score}-{game.home_score}; {rule.description}",
                (scheduled.row_number,),
            )
        )
    if game.status != status:
        report.status_changed.append(game.id)
    game.status = status
    if not was_final and game.is_final:
        report.became_final.append(game.id)
    if _snapshot(game) != before:
        report.games_updated.append(game.id)


def store_lineups(session: Session, posted: list[tuple[Game, ScheduledGame]]) -> list[int]:
    """Store the posted lineups of games without a game-log lineup; the ids of the games not
    begun whose stored lineup arrived or changed."""
    with_lineups = [
        (game, scheduled)
        for game, scheduled in posted
        if scheduled.home_lineup or scheduled.away_lineup
    ]
    if not with_lineups:
        return []
    stored: dict[int, dict[str, tuple[str, tuple[int | None, ...]]]] = defaultdict(dict)
    rows = session.execute(
        select(
            LineupSlot.game_id, LineupSlot.side, LineupSlot.source, LineupSlot.batting_order,
            LineupSlot.mlb_player_id,
        ).where(LineupSlot.game_id.in_([game.id for game, _ in with_lineups]))
        .order_by(LineupSlot.game_id, LineupSlot.side, LineupSlot.batting_order)
    ).all()  # fmt: skip
    by_side: dict[tuple[int, str], list] = defaultdict(list)
    for game_id, side, source, _, mlb_id in rows:
        by_side[(game_id, side)].append((source, mlb_id))
    for (game_id, side), slots in by_side.items():
        sources = {source for source, _ in slots}
        stored[game_id][side] = (
            "retrosheet" if "retrosheet" in sources else "schedule_feed",
            tuple(mlb_id for _, mlb_id in slots),
        )
    names_by_date: dict[date, set[str]] = defaultdict(set)
    for game, scheduled in with_lineups:
        names_by_date[game.game_date] |= {
            p.name for p in (*scheduled.home_lineup, *scheduled.away_lineup)
        }
    ids_by_date = {
        day: player_ids_by_name(session, names, day) for day, names in names_by_date.items()
    }
    changed: list[int] = []
    for game, scheduled in with_lineups:
        retrosheet_ids = ids_by_date[game.game_date]
        wrote = False
        for side in ("home", "away"):
            lineup: tuple[PostedPlayer, ...] = getattr(scheduled, f"{side}_lineup")
            before = stored[game.id].get(side)
            if not lineup or any(
                kept[0] == "retrosheet" for kept in stored[game.id].values()
            ):  # the official record wins
                continue
            if before is not None and before[1] == tuple(p.mlb_id for p in lineup):
                continue
            session.execute(
                delete(LineupSlot).where(LineupSlot.game_id == game.id, LineupSlot.side == side)
            )
            session.add_all(
                LineupSlot(
                    game_id=game.id,
                    side=side,
                    batting_order=order,
                    player_id=retrosheet_ids.get(player.name) or f"m{player.mlb_id}",
                    player_name=player.name,
                    position=player.position,
                    source="schedule_feed",
                    mlb_player_id=player.mlb_id,
                )
                for order, player in enumerate(lineup, start=1)
            )
            wrote = True
        if wrote and not _begun(game):
            changed.append(game.id)
    session.flush()
    return sorted(changed)


def name_key(name: str | None) -> str:
    """A person's name compared across sources: accents dropped, letters only, lower case
    ("Ramón Laureano" and "Ramon Laureano" are one)."""
    text = unicodedata.normalize("NFKD", name or "")
    return "".join(c for c in text if c.isalpha()).lower()


def player_ids_by_name(session: Session, names: Iterable[str], game_date: date) -> dict[str, str]:
    """Each name's Retrosheet id: the one that started under that name in the game-log
    lineups of the game's season and the season before it, on earlier dates, in at least
    :data:`MIN_NAME_SHARE` of those starts; an unknown or ambiguous name is left out."""
    wanted = {name: name_key(name) for name in names}
    keys = set(wanted.values()) - {""}
    if not keys:
        return {}
    starts: dict[str, Counter] = defaultdict(Counter)
    rows = session.execute(
        select(LineupSlot.player_name, LineupSlot.player_id)
        .join(Game, Game.id == LineupSlot.game_id)
        .where(
            LineupSlot.source == "retrosheet",
            Game.season >= game_date.year - 1,
            Game.game_date < game_date,
        )
    )
    for name, player_id in rows:
        key = name_key(name)
        if key in keys and player_id:
            starts[key][player_id] += 1
    resolved = {}
    for name, key in wanted.items():
        counts = starts.get(key)
        if counts:
            player_id, count = counts.most_common(1)[0]
            if count >= MIN_NAME_SHARE * sum(counts.values()):
                resolved[name] = player_id
    return resolved


# A game that has begun belongs to the date and first pitch it began with: a game suspended
# and finished after midnight, or resumed on a later day (listed again on that day, with the
# resumption's time), keeps both, so its slate, its closing line (the last quote before first
# pitch) and its bets stay where they were.
BEGUN = frozenset({"live", "suspended", "final"})


def _begun(game: Game) -> bool:
    return game.status in BEGUN


_TRACKED = (
    "game_key",
    "start_time",
    "home_pitcher",
    "away_pitcher",
    "home_score",
    "away_score",
    "status",
    "scheduled_innings",
    "mlb_game_pk",
    "postseason",
)


def _snapshot(game: Game) -> tuple:
    return tuple(getattr(game, name) for name in _TRACKED)


# --- pure readers -----------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _iso_date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _status(value: object) -> str | None:
    """Our status of a game's ``status`` object, or None when it cannot be read."""
    if not isinstance(value, Mapping):
        return None
    coded = value.get("codedGameState")
    if isinstance(coded, str) and coded in CODED_STATUS:
        return CODED_STATUS[coded]
    detailed = str(value.get("detailedState") or "").lower()
    for word in ("postponed", "cancelled", "suspended"):
        if detailed.startswith(word):
            return word
    abstract = value.get("abstractGameState")
    return ABSTRACT_STATUS.get(abstract.lower()) if isinstance(abstract, str) else None


def _game_number(payload: Mapping[str, Any]) -> int | None:
    """0 for a single game, the ``gameNumber`` (1 or 2) of a doubleheader's game."""
    double_header = payload.get("doubleHeader", "N")
    number = payload.get("gameNumber", 1)
    if double_header == "N":
        return 0
    if double_header in ("Y", "S") and number in (1, 2):
        return number
    return None


def _score(value: object) -> int | None:
    return value if _is_int(value) and value >= 0 else None


def _pitcher(value: object) -> str | None:
    if not isinstance(value, Mapping):
        return None
    name = value.get("fullName")
    return " ".join(name.split())[:64] if isinstance(name, str) and name.strip() else None


class ScheduleSource(FeedSource):
    """Schedule responses: games created or updated, finals, statuses, probable pitchers."""

    name = SOURCE_NAME
    feed = "schedule"

    def payloads(self, document: Any) -> list[Any]:
        return schedule_payloads(document)

    def typed(
        self, payloads: list[Any], file: SourceFile
    ) -> tuple[list[ScheduledGame], list[Finding]]:
        parsed = parse_schedule(payloads)
        return parsed.games, parsed.findings

    def write(
        self,
        session: Session,
        typed: list[ScheduledGame],
        findings: list[Finding],
        report: FeedReport,
    ) -> dict[int, Game]:
        return curate_schedule(session, typed, findings, report)


SOURCE = ScheduleSource()
