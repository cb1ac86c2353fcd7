"""Parse Retrosheet game logs and match them to curated games.

Field indexes (0-based) follow the retrosheet.org "Game Logs" guide and were checked
against GL2010-GL2019: 161 quoted, comma-separated fields, no header.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar

from app.games.line_scores import LINE_SCORE_TOKEN
from app.ingest import rules
from app.ingest.csv_files import CsvRow, csv_records, numbered_rows
from app.ingest.curated import CuratedGame
from app.ingest.rules import Finding
from app.ingest.teams import canonical_from_retrosheet

FIELD_COUNT = 161
DATE, GAME_NUMBER = 0, 1
AWAY_TEAM, HOME_TEAM = 3, 6
AWAY_SCORE, HOME_SCORE = 9, 10
LENGTH_OUTS, DAY_NIGHT = 11, 12
PARK_ID, ATTENDANCE, DURATION_MINUTES = 16, 17, 18
AWAY_LINE_SCORE, HOME_LINE_SCORE = 19, 20
# Each team's box-score block: 17 offense, 5 pitching and 6 defense counts, in this order.
AWAY_BOX_START, HOME_BOX_START = 21, 49
BOX_SCORE_STATS = (
    "at_bats",
    "hits",
    "doubles",
    "triples",
    "home_runs",
    "rbi",
    "sacrifice_hits",
    "sacrifice_flies",
    "hit_by_pitch",
    "walks",
    "intentional_walks",
    "strikeouts",
    "stolen_bases",
    "caught_stealing",
    "grounded_into_double_plays",
    "catcher_interference",
    "left_on_base",
    "pitchers_used",
    "individual_earned_runs",
    "team_earned_runs",
    "wild_pitches",
    "balks",
    "putouts",
    "assists",
    "errors",
    "passed_balls",
    "double_plays",
    "triple_plays",
)
WINNING_PITCHER_ID, LOSING_PITCHER_ID, SAVING_PITCHER_ID = 93, 95, 97
AWAY_PITCHER_ID, AWAY_PITCHER_NAME = 101, 102
HOME_PITCHER_ID, HOME_PITCHER_NAME = 103, 104
# Starting lineups: nine (player id, name, defensive position) triples a team, batting order.
AWAY_LINEUP_START, HOME_LINEUP_START = 105, 132
LINEUP_SLOTS = 9


@dataclass(frozen=True)
class RetrosheetGame:
    """The typed fields of one game-log line that the curated tables use."""

    row_number: int
    retrosheet_game_id: str
    season: int
    game_date: date
    game_number: int
    away_team: str  # canonical code
    home_team: str
    away_team_code: str  # as in the log (FLO before 2012)
    home_team_code: str
    away_score: int
    home_score: int
    length_outs: int | None
    day_night: str | None
    park_id: str | None
    attendance: int | None
    duration_minutes: int | None
    away_pitcher_id: str | None
    away_pitcher_name: str | None
    home_pitcher_id: str | None
    home_pitcher_name: str | None
    winning_pitcher_id: str | None = None
    losing_pitcher_id: str | None = None
    saving_pitcher_id: str | None = None


@dataclass(frozen=True)
class TeamBoxScore:
    """One team's box-score totals of a game; a value a rule nulled is None.

    ``runs`` is the sum of the team's line score (the box score's R).
    """

    side: str  # "away" or "home"
    runs: int
    line_score: str
    stats: dict[str, int | None]


@dataclass(frozen=True)
class BoxScores:
    """The box scores of one game-log line (a side a rule dropped is absent) and the findings."""

    sides: tuple[TeamBoxScore, ...]
    findings: tuple[Finding, ...]


class LoggedGame(Protocol):
    """What matching needs of a game-log game (a RetrosheetGame or its staging row), or of
    any game matched the same way (a curated game an odds workbook attaches to)."""

    @property
    def game_date(self) -> date: ...
    @property
    def game_number(self) -> int: ...
    @property
    def home_team(self) -> str: ...
    @property
    def away_team(self) -> str: ...
    @property
    def home_score(self) -> int: ...
    @property
    def away_score(self) -> int: ...


Log = TypeVar("Log", bound=LoggedGame)


def read_game_log(source: Path | bytes) -> list[CsvRow]:
    """Every line of a game log (plain or gzip-compressed) split into its fields."""
    data = source.read_bytes() if isinstance(source, Path) else source
    return numbered_rows(csv_records(data, "latin-1"))  # the logs are not UTF-8 throughout


def _optional_int(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None


def _optional_text(text: str) -> str | None:
    return text.strip() or None


def parse_game_log_row(row: CsvRow) -> RetrosheetGame | Finding:
    """The typed game of one line, or the finding that rejects it."""
    fields = row.fields
    if len(fields) != FIELD_COUNT:
        return Finding(rules.RETROSHEET_FIELD_COUNT, f"{len(fields)} fields", (row.row_number,))
    away_team = canonical_from_retrosheet(fields[AWAY_TEAM])
    home_team = canonical_from_retrosheet(fields[HOME_TEAM])
    if away_team is None or home_team is None:
        return Finding(
            rules.RETROSHEET_UNKNOWN_TEAM,
            f"teams {fields[AWAY_TEAM]!r}@{fields[HOME_TEAM]!r}",
            (row.row_number,),
        )
    try:
        game_date = datetime.strptime(fields[DATE], "%Y%m%d").date()
        game_number = int(fields[GAME_NUMBER])
        away_score, home_score = int(fields[AWAY_SCORE]), int(fields[HOME_SCORE])
    except ValueError as error:
        return Finding(rules.RETROSHEET_UNPARSEABLE, str(error), (row.row_number,))
    home_code = fields[HOME_TEAM].strip().upper()
    return RetrosheetGame(
        row_number=row.row_number,
        retrosheet_game_id=f"{home_code}{fields[DATE]}{game_number}",
        season=game_date.year,
        game_date=game_date,
        game_number=game_number,
        away_team=away_team,
        home_team=home_team,
        away_team_code=fields[AWAY_TEAM].strip().upper(),
        home_team_code=home_code,
        away_score=away_score,
        home_score=home_score,
        length_outs=_optional_int(fields[LENGTH_OUTS]),
        day_night=_optional_text(fields[DAY_NIGHT]),
        park_id=_optional_text(fields[PARK_ID]),
        attendance=_optional_int(fields[ATTENDANCE]),
        duration_minutes=_optional_int(fields[DURATION_MINUTES]),
        away_pitcher_id=_optional_text(fields[AWAY_PITCHER_ID]),
        away_pitcher_name=_optional_text(fields[AWAY_PITCHER_NAME]),
        home_pitcher_id=_optional_text(fields[HOME_PITCHER_ID]),
        home_pitcher_name=_optional_text(fields[HOME_PITCHER_NAME]),
        winning_pitcher_id=_optional_text(fields[WINNING_PITCHER_ID]),
        losing_pitcher_id=_optional_text(fields[LOSING_PITCHER_ID]),
        saving_pitcher_id=_optional_text(fields[SAVING_PITCHER_ID]),
    )


def line_score_runs(line_score: str) -> int | None:
    """The runs of a line score like "005130000" or "1(10)0x" ("x": inning not batted)."""
    text = line_score.strip()
    position, runs = 0, 0
    while position < len(text):
        token = LINE_SCORE_TOKEN.match(text, position)
        if token is None:
            return None
        runs += int(token[1] or token[2] or 0)
        position = token.end()
    return runs if text else None


def parse_box_scores(row: CsvRow) -> BoxScores:
    """Both teams' box scores of a well-formed game-log line, with the rules they broke.

    A blank, unreadable or negative count is nulled; hits fewer than extra-base hits null
    the four hit counts; a side whose line score does not add up to its final score is
    dropped (its box score is not stored).
    """
    fields, number = row.fields, row.row_number
    sides: list[TeamBoxScore] = []
    findings: list[Finding] = []
    teams = (
        ("away", AWAY_BOX_START, AWAY_LINE_SCORE, AWAY_SCORE),
        ("home", HOME_BOX_START, HOME_LINE_SCORE, HOME_SCORE),
    )
    for side, start, line_index, score_index in teams:
        final = _optional_int(fields[score_index])
        runs = line_score_runs(fields[line_index])
        if runs is None or runs != final:
            findings.append(
                Finding(
                    rules.RETROSHEET_BOX_RUNS_DISAGREE,
                    f"{side} line score {fields[line_index]!r} vs final {fields[score_index]!r}",
                    (number,),
                )
            )
            continue
        stats: dict[str, int | None] = {}
        for offset, name in enumerate(BOX_SCORE_STATS):
            text = fields[start + offset]
            value = _optional_int(text)
            if value is None:
                findings.append(
                    Finding(rules.RETROSHEET_BOX_UNREADABLE, f"{side} {name} {text!r}", (number,))
                )
            elif value < 0:
                findings.append(
                    Finding(rules.RETROSHEET_BOX_NEGATIVE, f"{side} {name} {value}", (number,))
                )
                value = None
            stats[name] = value
        hit_counts = ("hits", "doubles", "triples", "home_runs")
        known = [count for name in hit_counts if (count := stats[name]) is not None]
        if len(known) == len(hit_counts) and known[0] < sum(known[1:]):
            findings.append(
                Finding(
                    rules.RETROSHEET_BOX_HITS_INCONSISTENT,
                    f"{side} hits {known[0]} < 2B+3B+HR {sum(known[1:])}",
                    (number,),
                )
            )
            stats.update(dict.fromkeys(hit_counts))
        sides.append(TeamBoxScore(side, runs, fields[line_index].strip(), stats))
    return BoxScores(tuple(sides), tuple(findings))


@dataclass(frozen=True)
class LineupEntry:
    """One starting player of a game-log line: side, batting order (1-9), id, name, position."""

    side: str
    batting_order: int
    player_id: str | None
    player_name: str | None
    position: int | None


def parse_lineups(row: CsvRow) -> list[LineupEntry]:
    """Both starting lineups of a well-formed game-log line (a slot with no player is left out)."""
    entries = []
    for side, start in (("away", AWAY_LINEUP_START), ("home", HOME_LINEUP_START)):
        for slot in range(LINEUP_SLOTS):
            player_id, name, position = row.fields[start + 3 * slot : start + 3 * slot + 3]
            if _optional_text(player_id) is None and _optional_text(name) is None:
                continue
            entries.append(
                LineupEntry(
                    side,
                    slot + 1,
                    _optional_text(player_id),
                    _optional_text(name),
                    _optional_int(position),
                )
            )
    return entries


def parse_game_log(rows: Iterable[CsvRow]) -> tuple[list[RetrosheetGame], list[Finding]]:
    """Typed games and rejections of a whole game log."""
    games: list[RetrosheetGame] = []
    rejections: list[Finding] = []
    seen: set[str] = set()
    for row in rows:
        parsed = parse_game_log_row(row)
        if isinstance(parsed, Finding):
            rejections.append(parsed)
        elif parsed.retrosheet_game_id in seen:
            rejections.append(
                Finding(
                    rules.RETROSHEET_DUPLICATE_GAME,
                    f"game id {parsed.retrosheet_game_id} seen before",
                    (row.row_number,),
                )
            )
        else:
            seen.add(parsed.retrosheet_game_id)
            games.append(parsed)
    return games, rejections


def match_games(curated: Sequence[CuratedGame], logs: Sequence[Log]) -> dict[int, Log]:
    """Curated game id -> its game-log row, matched on date, home and away team.

    The score identifies a game but does not decide whether it matches: the sources may
    disagree about a final (reconcile names that conflict). Passes, each on what is left:
    1. same game number and same score;
    2. the one log row of that date and matchup with the same score (an SBRO single game
       that Retrosheet numbers as a doubleheader game, doubleheaders listed out of order);
    3. the one log row left of that date, matchup and game number, whatever its score;
    4. the one log row left of that date and matchup, when the curated game is the only
       one left there too;
    5. the one log row left of that matchup with the same score a day before or after (a
       source that dates a game a day off: the odds archive's typos, a game abroad).
    """
    logs_by_matchup: dict[tuple[date, str, str], list[Log]] = defaultdict(list)
    for log in logs:
        logs_by_matchup[(log.game_date, log.home_team, log.away_team)].append(log)
    matches: dict[int, Log] = {}
    used: set[int] = set()  # id() of the logs matched so far

    def left(game: CuratedGame) -> list[Log]:
        key = (game.game_date, game.home_team, game.away_team)
        return [log for log in logs_by_matchup.get(key, []) if id(log) not in used]

    def match_where(games: Sequence[CuratedGame], fits) -> list[CuratedGame]:
        pending = []
        for game in games:
            found = [log for log in left(game) if fits(game, log)]
            if len(found) == 1:
                matches[game.game_id] = found[0]
                used.add(id(found[0]))
            else:
                pending.append(game)
        return pending

    pending = match_where(
        curated, lambda game, log: log.game_number == game.game_number and _same_score(game, log)
    )
    pending = match_where(pending, _same_score)
    pending = match_where(pending, lambda game, log: log.game_number == game.game_number)
    unmatched_by_matchup: dict[tuple[date, str, str], int] = defaultdict(int)
    for game in pending:
        unmatched_by_matchup[(game.game_date, game.home_team, game.away_team)] += 1
    pending = match_where(
        pending,
        lambda game, log: (
            unmatched_by_matchup[(game.game_date, game.home_team, game.away_team)] == 1
        ),
    )
    for game in pending:
        found = [
            log
            for day in (game.game_date - timedelta(days=1), game.game_date + timedelta(days=1))
            for log in logs_by_matchup.get((day, game.home_team, game.away_team), [])
            if id(log) not in used and _same_score(game, log)
        ]
        if len(found) == 1:
            matches[game.game_id] = found[0]
            used.add(id(found[0]))
    return matches


def _same_score(game: CuratedGame, log: LoggedGame) -> bool:
    return game.home_score == log.home_score and game.away_score == log.away_score
