"""Parse line-history files (the Pinnacle 2016 layout) into typed games and lines.

A line history is a pair of CSV files: ``<name>_games.csv`` (one row a game, keyed by
``game_idx``) and ``<name>_lines.csv[.gz]`` (one row a timestamped line of a game). Lines join
to games on ``game_idx`` only: the file's own game ids come from the skewed UTC date. Event
times run about three hours late; line timestamps are true UTC (the last line of a game is
taken down at first pitch), so the offset is measured per file from the data itself.
"""

import hashlib
import json
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from app.clock import SCHEDULE_ZONE
from app.db.session import driver_connection
from app.games.models import SNAPSHOT_PRICE_COLUMNS, Game, SnapshotPrices, snapshot_prices
from app.ingest import rules
from app.ingest.csv_files import CsvRow, csv_records, numbered_rows
from app.ingest.curated import CuratedGame, season_games
from app.ingest.headers import find_columns
from app.ingest.models import RawLineRow, StagingLineGame
from app.ingest.quarantine import count_rows, record_findings
from app.ingest.rules import Finding, Rule
from app.ingest.runner import FileReport, FileSource, ParsedFile, SourceFile
from app.ingest.teams import canonical_from_team_name

# Fewer games than this with lines: too little evidence to measure the event-time offset.
MIN_OFFSET_EVIDENCE = 30
OFFSET_GRANULARITY = timedelta(hours=1)

GAME_COLUMNS = {
    "game_idx": ("game_idx",),
    "source_game_id": ("BaseballRefID", "GameID"),
    "event_time": ("EventDateTimeEst", "EventDateTimeUTC"),
    "away_team": ("AwayTeam",),
    "home_team": ("HomeTeam",),
    "doubleheader": ("DoubleHeaderGame",),
    "away_pitcher": ("AwayStartingPitcher",),
    "home_pitcher": ("HomeStartingPicher", "HomeStartingPitcher"),
    "away_score": ("FinalScoreAway",),
    "home_score": ("FinalScoreHome",),
}
LINE_COLUMNS = {
    "game_idx": ("game_idx",),
    "entered": ("EnteredDateTime", "EnteredDateTimeUTC"),
    "away_spread": ("SpreadTeam1",),
    "away_spread_price": ("SpreadUS1",),
    "home_spread_price": ("SpreadUS2",),
    "away_ml": ("MoneyUS1",),
    "home_ml": ("MoneyUS2",),
    "total": ("TotalPoints",),
    "over": ("TotalUSOver",),
    "under": ("TotalUSUnder",),
}


class LinesFormatError(ValueError):
    """A file that is not a line-history games or lines file, or a pair that does not pair."""


@dataclass(frozen=True)
class CsvTable:
    header: tuple[str, ...]
    rows: list[CsvRow]


@dataclass(frozen=True)
class LineGame:
    """A typed game row (teams canonical, times aware)."""

    row_number: int
    game_idx: int
    source_game_id: str | None
    event_time: datetime
    away_team: str
    home_team: str
    doubleheader_game: int
    away_pitcher: str | None
    home_pitcher: str | None
    away_score: int
    home_score: int


@dataclass
class Line(SnapshotPrices):
    """A typed line: prices American, totals in runs, run line from the home side."""

    row_number: int
    game_idx: int
    captured_at: datetime
    findings: list[tuple[Rule, str]] = field(default_factory=list)


@dataclass(frozen=True)
class EventTimeOffset:
    """How much later than the true first pitch the file's event times are, with evidence."""

    shift: timedelta
    median_hours_event_after_last_line: float | None
    games_measured: int


def pair_paths(paths: Iterable[Path]) -> list[tuple[Path, Path]]:
    """(games file, lines file) pairs from files and directories, in name order.

    A directory contributes every ``*_games.csv`` in it; a ``*_lines.csv[.gz]`` needs its
    ``*_games.csv`` (given or next to it) and vice versa.
    """
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*_games.csv*")))
        else:
            files.append(path)
    pairs: dict[str, tuple[Path, Path]] = {}
    for path in files:
        prefix, kind = _split_name(path)
        if kind == "games":
            partner = _find_partner(path.parent, prefix, "lines")
            pairs[prefix] = (path, partner)
        else:
            partner = _find_partner(path.parent, prefix, "games")
            pairs[prefix] = (partner, path)
    return [pairs[prefix] for prefix in sorted(pairs)]


def _split_name(path: Path) -> tuple[str, str]:
    name = path.name
    for suffix in (".csv.gz", ".csv"):
        if name.lower().endswith(suffix):
            stem = name[: -len(suffix)]
            for kind in ("games", "lines"):
                if stem.lower().endswith(f"_{kind}"):
                    return stem[: -len(kind) - 1], kind
    raise LinesFormatError(f"{name}: a line-history file is named NAME_games.csv or NAME_lines.csv")


def _find_partner(folder: Path, prefix: str, kind: str) -> Path:
    for suffix in (".csv", ".csv.gz"):
        candidate = folder / f"{prefix}_{kind}{suffix}"
        if candidate.is_file():
            return candidate
    raise LinesFormatError(f"{prefix}_{kind}.csv(.gz) is missing next to the other file")


def season_of(games: Sequence[LineGame]) -> int | None:
    """The season most games of the file belong to."""
    years = [game.event_time.year for game in games]
    return statistics.mode(years) if years else None


def read_csv(data: bytes) -> CsvTable:
    """A UTF-8 CSV file (plain or gzip-compressed) with a header row."""
    records = csv_records(data, "utf-8-sig")
    header = tuple(next(records, ()))
    return CsvTable(header, numbered_rows(records))


def column_indexes(header: Sequence[str], columns: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Our name -> column index, headers compared by meaning (case, spacing, punctuation and
    pandas' "Unnamed: N" ignored); raises LinesFormatError naming a missing column."""
    indexes, missing = find_columns(header, columns)
    if missing:
        raise LinesFormatError(
            f"column {columns[missing[0]][0]!r} missing from header {list(header)}"
        )
    return indexes


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; naive times are UTC (the files write +00:00 throughout)."""
    value = datetime.fromisoformat(text.strip())
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _int(text: str) -> int:
    return int(float(text))


def _optional_text(text: str) -> str | None:
    return " ".join(text.split()) or None


def parse_games(table: CsvTable) -> tuple[list[LineGame], list[Finding]]:
    """Typed games and the game rows rejected by rule."""
    index = column_indexes(table.header, GAME_COLUMNS)
    games: list[LineGame] = []
    rejected: list[Finding] = []
    seen: set[int] = set()
    for row in table.rows:

        def cell(name: str, row: CsvRow = row) -> str:
            position = index[name]
            return row.fields[position] if position < len(row.fields) else ""

        try:
            game_idx = _int(cell("game_idx"))
            event_time = parse_time(cell("event_time"))
            away_score, home_score = _int(cell("away_score")), _int(cell("home_score"))
            doubleheader = _int(cell("doubleheader") or "0")
        except ValueError as error:
            rejected.append(Finding(rules.LINES_UNPARSEABLE_GAME, str(error), (row.row_number,)))
            continue
        away, home = (
            canonical_from_team_name(cell("away_team")),
            canonical_from_team_name(cell("home_team")),
        )
        if away is None or home is None or away == home:
            message = f"teams {cell('away_team')!r} at {cell('home_team')!r}"
            rejected.append(Finding(rules.LINES_NOT_A_TEAM, message, (row.row_number,)))
            continue
        if game_idx in seen:
            message = f"game_idx {game_idx} seen before"
            rejected.append(Finding(rules.LINES_DUPLICATE_GAME_IDX, message, (row.row_number,)))
            continue
        seen.add(game_idx)
        games.append(
            LineGame(
                row_number=row.row_number,
                game_idx=game_idx,
                source_game_id=_optional_text(cell("source_game_id")),
                event_time=event_time,
                away_team=away,
                home_team=home,
                doubleheader_game=doubleheader,
                away_pitcher=_optional_text(cell("away_pitcher")),
                home_pitcher=_optional_text(cell("home_pitcher")),
                away_score=away_score,
                home_score=home_score,
            )
        )
    return games, rejected


def _market(line: Line, cells: Sequence[str], market: str) -> list[float] | None:
    """The numbers of one market's cells; None (after noting why) when it is not usable."""
    if all(not cell.strip() for cell in cells):
        line.findings.append((rules.LINES_MARKET_NOT_OFFERED, f"{market} blank"))
        return None
    try:
        return [float(cell) for cell in cells]
    except ValueError:
        line.findings.append((rules.LINES_MARKET_NOT_OFFERED, f"{market} {list(cells)!r}"))
        return None


_LINE_RULE_BY_SBRO_RULE = {
    rules.SBRO_PRICE_OUT_OF_RANGE: rules.LINES_PRICE_OUT_OF_RANGE,
    rules.SBRO_IMPLAUSIBLE_MARGIN: rules.LINES_IMPLAUSIBLE_MARGIN,
}


def _checked_prices(line: Line, first: float, second: float, market: str) -> bool:
    broken = rules.check_price_pair(first, second)
    if broken is not None:
        line.findings.append((_LINE_RULE_BY_SBRO_RULE[broken[0]], f"{market}: {broken[1]}"))
        return False
    return True


def parse_line_row(row: CsvRow, index: dict[str, int]) -> Line | Finding:
    """The typed line of one row (market rules noted on it), or the finding rejecting it."""

    def cell(name: str) -> str:
        position = index[name]
        return row.fields[position] if position < len(row.fields) else ""

    try:
        line = Line(row.row_number, _int(cell("game_idx")), parse_time(cell("entered")))
    except ValueError as error:
        return Finding(rules.LINES_UNPARSEABLE_LINE, str(error), (row.row_number,))
    moneyline = _market(line, (cell("away_ml"), cell("home_ml")), "moneyline")
    if moneyline and _checked_prices(line, moneyline[0], moneyline[1], "moneyline"):
        line.away_ml, line.home_ml = int(moneyline[0]), int(moneyline[1])
    total = _market(line, (cell("total"), cell("over"), cell("under")), "total")
    if total:
        if not rules.MIN_TOTAL <= total[0] <= rules.MAX_TOTAL:
            line.findings.append((rules.LINES_TOTAL_OUT_OF_RANGE, f"total {total[0]:g}"))
        elif _checked_prices(line, total[1], total[2], "total"):
            line.total, line.over_price, line.under_price = total[0], int(total[1]), int(total[2])
    spread_cells = (cell("away_spread"), cell("away_spread_price"), cell("home_spread_price"))
    spread = _market(line, spread_cells, "run_line")
    if spread:
        if spread[0] == 0 or abs(spread[0]) > rules.MAX_RUN_LINE:
            line.findings.append((rules.LINES_RUN_LINE_OUT_OF_RANGE, f"run line {spread[0]:g}"))
        elif _checked_prices(line, spread[1], spread[2], "run_line"):
            line.home_rl = -spread[0]
            line.away_rl_price, line.home_rl_price = int(spread[1]), int(spread[2])
    return line


def parse_lines(table: CsvTable) -> tuple[list[Line], list[Finding]]:
    """Typed lines and the line rows rejected as unreadable."""
    index = column_indexes(table.header, LINE_COLUMNS)
    lines: list[Line] = []
    rejected: list[Finding] = []
    for row in table.rows:
        parsed = parse_line_row(row, index)
        if isinstance(parsed, Finding):
            rejected.append(parsed)
        else:
            lines.append(parsed)
    return lines, rejected


def measure_event_time_offset(games: Sequence[LineGame], lines: Sequence[Line]) -> EventTimeOffset:
    """The file's event-time lateness: the median gap from a game's last line to its event time.

    Pre-game lines come down at first pitch, so in a file whose event times were right that
    gap would be close to zero; in the 2016 file it is 3.02 h. Rounded to whole hours.
    """
    last_line: dict[int, datetime] = {}
    for line in lines:
        if line.game_idx not in last_line or line.captured_at > last_line[line.game_idx]:
            last_line[line.game_idx] = line.captured_at
    gaps = [
        (game.event_time - last_line[game.game_idx]).total_seconds() / 3600
        for game in games
        if game.game_idx in last_line
    ]
    if len(gaps) < MIN_OFFSET_EVIDENCE:
        return EventTimeOffset(timedelta(0), None, len(gaps))
    median = statistics.median(gaps)
    hours = round(median * 3600 / OFFSET_GRANULARITY.total_seconds())
    return EventTimeOffset(max(hours, 0) * OFFSET_GRANULARITY, round(median, 3), len(gaps))


def local_date(start_time: datetime) -> date:
    """The schedule (US Eastern) date of a first pitch."""
    return start_time.astimezone(SCHEDULE_ZONE).date()


def match_games(
    games: Sequence[LineGame], offset: timedelta, curated: Sequence[CuratedGame]
) -> tuple[dict[int, int], list[Finding]]:
    """game_idx -> curated game id, and findings: unjoined games, joins despite a score.

    First pass, on the local date of the corrected start: the one game of these teams with
    this score (a doubleheader's games told apart by the file's game number when scores tie),
    then the same a day either side (postponements). Second pass, for what is left: the one
    game of these teams on that local date whatever the score (the sources disagree on a few
    scores; the curated score is kept). A curated game joins at most one line-history game.
    """
    by_matchup: dict[tuple[date, str, str], list[CuratedGame]] = defaultdict(list)
    for game in curated:
        by_matchup[(game.game_date, game.home_team, game.away_team)].append(game)
    joined: dict[int, int] = {}
    used: set[int] = set()

    def pick(game: LineGame, day: date, same_score: bool) -> CuratedGame | None:
        options = [
            c
            for c in by_matchup.get((day, game.home_team, game.away_team), [])
            if c.game_id not in used
            and (
                not same_score or (c.home_score, c.away_score) == (game.home_score, game.away_score)
            )
        ]
        if len(options) > 1:
            options = [c for c in options if c.game_number == game.doubleheader_game]
        return options[0] if len(options) == 1 else None

    pending: list[LineGame] = []
    for game in games:
        day = local_date(game.event_time - offset)
        found = None
        for candidate_day in (day, day - timedelta(days=1), day + timedelta(days=1)):
            found = pick(game, candidate_day, same_score=True)
            if found is not None:
                break
        if found is None:
            pending.append(game)
        else:
            joined[game.game_idx] = found.game_id
            used.add(found.game_id)
    findings: list[Finding] = []
    for game in pending:
        day = local_date(game.event_time - offset)
        described = (
            f"{game.away_team}@{game.home_team} {day} "
            f"{game.away_score}-{game.home_score} (game_idx {game.game_idx})"
        )
        found = pick(game, day, same_score=False)
        if found is None:
            findings.append(Finding(rules.LINES_GAME_UNMATCHED, described, (game.row_number,)))
            continue
        joined[game.game_idx] = found.game_id
        used.add(found.game_id)
        message = (
            f"{described} joined game {found.game_id} scored {found.away_score}-{found.home_score}"
        )
        findings.append(Finding(rules.LINES_SCORE_DISAGREES, message, (game.row_number,)))
    return joined, findings


def group_findings(
    findings: Iterable[tuple[int, Rule, str, int]],
) -> list[tuple[int, Finding]]:
    """One finding per (game_idx, rule) from (game_idx, rule, message, row number) firings.

    A game's 100-odd lines firing the same rule become one quarantine entry listing their rows.
    """
    grouped: dict[tuple[int, str], tuple[Rule, list[str], list[int]]] = {}
    for game_idx, rule, message, row_number in findings:
        _, messages, rows = grouped.setdefault((game_idx, rule.name), (rule, [], []))
        messages.append(message)
        rows.append(row_number)
    result = []
    for (game_idx, _), (rule, messages, rows) in grouped.items():
        first = messages[0]
        text = first if len(rows) == 1 else f"{first} (and {len(rows) - 1} more lines)"
        result.append((game_idx, Finding(rule, text, tuple(rows))))
    return result


# --- The line-history source: stage and curate ----------------------------------------------
# Raw rows -> staged games joined to curated games -> odds_snapshots. The unit of ingest is a
# pair of files (``NAME_games.csv`` + ``NAME_lines.csv[.gz]``) under the hash of both contents.
# Every line row is kept verbatim in ``raw_line_rows`` and points to the snapshot it became;
# every line that did not become one is in quarantine.

SOURCE_NAME = "lines"
QUARANTINE_GAMES = "line_games"
BOOK = "pinnacle"


class LinesOrderError(ValueError):
    """Line histories join to curated games: the season's odds workbook must come first."""


@dataclass(frozen=True)
class LineHistory:
    """A parsed pair: both tables, typed games and lines, the offset, the joins, findings."""

    game_table: CsvTable
    line_table: CsvTable
    games: list[LineGame]
    lines: list[Line]
    offset: EventTimeOffset
    joined: dict[int, int]  # game_idx -> curated game id
    game_findings: list[Finding]
    line_rejections: list[Finding]


class LinesSource(FileSource):
    """Line histories (the Pinnacle 2016 layout): timestamped snapshots of one book."""

    name = SOURCE_NAME

    def files(self, paths: Sequence[Path]) -> list[SourceFile]:
        """One unit per games/lines pair; raises LinesFormatError when there is none."""
        pairs = pair_paths(paths)
        if not pairs:
            raise LinesFormatError("no NAME_games.csv / NAME_lines.csv pair found")
        return [SourceFile.read(lines_path, games_path) for games_path, lines_path in pairs]

    def read(self, file: SourceFile) -> tuple[CsvTable, CsvTable]:
        """The games table and the lines table."""
        games_bytes, lines_bytes = (data for _, data in file.parts)
        return read_csv(games_bytes), read_csv(lines_bytes)

    def parse(
        self, session: Session, file: SourceFile, raw: tuple[CsvTable, CsvTable]
    ) -> ParsedFile:
        """Typed games and lines joined to the season's curated games."""
        game_table, line_table = raw
        games, game_rejections = parse_games(game_table)
        lines, line_rejections = parse_lines(line_table)
        season = season_of(games)
        offset = measure_event_time_offset(games, lines)
        curated = season_games(session, season)
        if not curated:
            raise LinesOrderError(
                f"{file.path.name}: no curated games of {season}; ingest that season's odds "
                "workbook (bullpen ingest sbro) before its line history"
            )
        joined, join_findings = match_games(games, offset.shift, curated)
        game_findings: list[Finding] = [*game_rejections, *join_findings]
        if offset.shift:
            game_findings.append(
                Finding(
                    rules.LINES_EVENT_TIME_SHIFTED,
                    f"event times moved {offset.shift} earlier (median gap from last line to "
                    f"event {offset.median_hours_event_after_last_line} h over "
                    f"{offset.games_measured} games)",
                    tuple(game.row_number for game in games),
                )
            )
        (games_path, games_bytes), (lines_path, lines_bytes) = file.parts
        details = {
            "season": season,
            "seasons": [season] if season is not None else [],
            "book": BOOK,
            "games_file": games_path.name,
            "games_sha256": hashlib.sha256(games_bytes).hexdigest(),
            "games_rows": len(game_table.rows),
            "lines_file": lines_path.name,
            "lines_sha256": hashlib.sha256(lines_bytes).hexdigest(),
            "lines_rows": len(line_table.rows),
            "event_time_offset": {
                "shift_hours": offset.shift.total_seconds() / 3600,
                "median_hours_event_after_last_line": offset.median_hours_event_after_last_line,
                "games_measured": offset.games_measured,
                "line_timestamps": "true UTC, not shifted (the last line comes at first pitch)",
            },
        }
        content = LineHistory(
            game_table, line_table, games, lines, offset, joined, game_findings, line_rejections
        )
        return ParsedFile(
            details["seasons"], len(game_table.rows) + len(line_table.rows), details, content
        )

    def stage(
        self, session: Session, file_id: int, raw: tuple[CsvTable, CsvTable], parsed: ParsedFile
    ) -> None:
        """Raw game rows verbatim, staged games with their joins, the games' findings."""
        history: LineHistory = parsed.content
        season = parsed.seasons[0] if parsed.seasons else None
        game_raw_ids = _insert_game_rows(session, file_id, history.game_table)
        _stage_games(
            session,
            file_id,
            history.games,
            history.offset.shift,
            season,
            history.joined,
            game_raw_ids,
            history.lines,
        )
        record_findings(
            session,
            QUARANTINE_GAMES,
            file_id,
            ((finding, None) for finding in history.game_findings),
            {row.row_number: row.fields for row in history.game_table.rows},
        )

    def curate(self, session: Session, file_id: int, parsed: ParsedFile) -> FileReport:
        """True first pitches on joined games; the accepted lines become the book's snapshots."""
        history: LineHistory = parsed.content
        season = parsed.seasons[0] if parsed.seasons else None
        shift = history.offset.shift
        _set_start_times(session, history.games, shift, history.joined)
        accepted, line_findings = _screen_lines(
            history.games, shift, history.joined, history.lines, history.game_table
        )
        snapshots = _write_snapshots_and_raw_lines(
            session, file_id, season, history.line_table, accepted, history.joined
        )
        all_line_findings = [*history.line_rejections, *line_findings]
        record_findings(
            session,
            SOURCE_NAME,
            file_id,
            ((finding, None) for finding in all_line_findings),
            {row.row_number: row.fields for row in history.line_table.rows},
        )
        findings = [*history.game_findings, *all_line_findings]
        games_in_file = len(history.game_table.rows)
        return FileReport(
            path="",  # the runner names the file
            raw_rows=parsed.raw_rows,
            games_curated=len(history.joined),
            quarantined=count_rows(findings, rejected=True),
            corrections=count_rows(findings, rejected=False),
            line_join_rate=len(history.joined) / games_in_file if games_in_file else None,
            snapshots=snapshots,
        )


def _insert_game_rows(session: Session, file_id: int, table: CsvTable) -> dict[int, int]:
    payload = [
        {"file_id": file_id, "part": "games", "row_number": row.row_number, "fields": row.fields}
        for row in table.rows
    ]
    if payload:
        session.execute(RawLineRow.__table__.insert(), payload)
    found = session.execute(
        select(RawLineRow.row_number, RawLineRow.id).where(
            RawLineRow.file_id == file_id, RawLineRow.part == "games"
        )
    )
    return {number: raw_id for number, raw_id in found}


def _stage_games(
    session: Session,
    file_id: int,
    games: list[LineGame],
    shift: Any,
    season: int | None,
    joined: dict[int, int],
    raw_ids: dict[int, int],
    lines: list[Line],
) -> None:
    line_counts = Counter(line.game_idx for line in lines)
    payload = []
    for game in games:
        start = game.event_time - shift
        payload.append(
            {
                "file_id": file_id,
                "raw_row_id": raw_ids[game.row_number],
                "game_id": joined.get(game.game_idx),
                "book": BOOK,
                "season": season,
                "game_idx": game.game_idx,
                "source_game_id": game.source_game_id,
                "event_time": game.event_time,
                "start_time": start,
                "game_date": local_date(start),
                "doubleheader_game": game.doubleheader_game,
                "away_team": game.away_team,
                "home_team": game.home_team,
                "away_pitcher": game.away_pitcher,
                "home_pitcher": game.home_pitcher,
                "away_score": game.away_score,
                "home_score": game.home_score,
                "lines": line_counts.get(game.game_idx, 0),
            }
        )
    if payload:
        session.execute(StagingLineGame.__table__.insert(), payload)


def _set_start_times(
    session: Session, games: list[LineGame], shift: Any, joined: dict[int, int]
) -> None:
    """Set the true first pitch on joined games whose start time differs."""
    wanted = {joined[g.game_idx]: g.event_time - shift for g in games if g.game_idx in joined}
    if not wanted:
        return
    current = dict(
        session.execute(select(Game.id, Game.start_time).where(Game.id.in_(list(wanted)))).all()
    )
    changes = [
        {"b_id": game_id, "v_start": start}
        for game_id, start in wanted.items()
        if current.get(game_id) != start
    ]
    if changes:
        table = Game.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(start_time=bindparam("v_start"), updated_at=func.now()),
            changes,
        )


def _screen_lines(
    games: list[LineGame],
    shift: Any,
    joined: dict[int, int],
    lines: list[Line],
    game_table: CsvTable,
) -> tuple[list[Line], list[Finding]]:
    """The lines that become snapshots, and the rule firings of all lines grouped by game."""
    start_by_idx = {g.game_idx: g.event_time - shift for g in games}
    known_idx = _game_idx_values(game_table)
    accepted: list[Line] = []
    firings: list[tuple[int, rules.Rule, str, int]] = []
    seen: set[tuple[int, datetime]] = set()
    for line in lines:
        idx = line.game_idx

        def reject(rule: rules.Rule, message: str, line: Line = line) -> None:
            firings.append((line.game_idx, rule, message, line.row_number))

        if idx not in known_idx:
            reject(rules.LINES_UNKNOWN_GAME_IDX, f"game_idx {idx}")
        elif idx not in joined:
            reject(rules.LINES_OF_REJECTED_GAME, f"game_idx {idx} was rejected or not joined")
        elif line.captured_at >= start_by_idx[idx]:
            late = line.captured_at - start_by_idx[idx]
            reject(rules.LINES_AFTER_FIRST_PITCH, f"entered {late} after first pitch")
        elif (idx, line.captured_at) in seen:
            reject(rules.LINES_DUPLICATE_TIMESTAMP, f"second line at {line.captured_at}")
        else:
            seen.add((idx, line.captured_at))
            accepted.append(line)
            for rule, message in line.findings:
                firings.append((idx, rule, message, line.row_number))
    grouped = [finding for _, finding in group_findings(firings)]
    return accepted, grouped


def _game_idx_values(table: CsvTable) -> set[int]:
    index = column_indexes(table.header, GAME_COLUMNS)["game_idx"]
    values: set[int] = set()
    for row in table.rows:
        try:
            values.add(int(float(row.fields[index])))
        except (ValueError, IndexError):
            continue
    return values


def _write_snapshots_and_raw_lines(
    session: Session,
    file_id: int,
    season: int | None,
    line_table: CsvTable,
    accepted: list[Line],
    joined: dict[int, int],
) -> int:
    """Upsert the accepted lines as snapshots and keep every line row verbatim, linked to its
    snapshot. COPY into a temporary table, then two set-based statements: 240k lines in seconds.
    """
    by_row = {line.row_number: line for line in accepted}
    connection = session.connection()
    connection.execute(
        text(
            "CREATE TEMPORARY TABLE tmp_lines (row_number integer, fields jsonb, game_id integer,"
            " captured_at timestamptz, home_ml integer, away_ml integer, total double precision,"
            " over_price integer, under_price integer, home_rl double precision,"
            " home_rl_price integer, away_rl_price integer) ON COMMIT DROP"
        )
    )
    columns = ", ".join(["row_number", "fields", "game_id", "captured_at", *SNAPSHOT_PRICE_COLUMNS])
    with (
        driver_connection(session) as driver,
        driver.cursor() as cursor,
        cursor.copy(f"COPY tmp_lines ({columns}) FROM STDIN") as copy,
    ):
        for row in line_table.rows:
            line = by_row.get(row.row_number)
            if line is None:
                copy.write_row((row.row_number, json.dumps(row.fields)) + (None,) * 10)
            else:
                prices = tuple(snapshot_prices(line).values())
                game_id = joined[line.game_idx]
                copy.write_row(
                    (row.row_number, json.dumps(row.fields), game_id, line.captured_at, *prices)
                )
    changed = ", ".join(f"{name} = excluded.{name}" for name in SNAPSHOT_PRICE_COLUMNS)
    differs = " OR ".join(
        f"odds_snapshots.{name} IS DISTINCT FROM excluded.{name}" for name in SNAPSHOT_PRICE_COLUMNS
    )
    prices = ", ".join(SNAPSHOT_PRICE_COLUMNS)
    connection.execute(
        text(
            f"INSERT INTO odds_snapshots (game_id, book, captured_at, {prices})"
            f" SELECT game_id, :book, captured_at, {prices} FROM tmp_lines"
            " WHERE game_id IS NOT NULL"
            f" ON CONFLICT (game_id, book, captured_at) DO UPDATE SET {changed} WHERE {differs}"
        ),
        {"book": BOOK},
    )
    # The current pair is the season's line history: drop the book's snapshots it lacks.
    connection.execute(
        text(
            "DELETE FROM odds_snapshots s USING games g WHERE g.id = s.game_id"
            " AND g.season = :season AND s.book = :book AND NOT EXISTS (SELECT 1 FROM tmp_lines t"
            " WHERE t.game_id = s.game_id AND t.captured_at = s.captured_at)"
        ),
        {"season": season, "book": BOOK},
    )
    connection.execute(
        text(
            "INSERT INTO raw_line_rows (file_id, part, row_number, fields, snapshot_id)"
            " SELECT :file_id, 'lines', t.row_number, t.fields, s.id FROM tmp_lines t"
            " LEFT JOIN odds_snapshots s ON s.game_id = t.game_id AND s.book = :book"
            " AND s.captured_at = t.captured_at"
        ),
        {"file_id": file_id, "book": BOOK},
    )
    connection.execute(text("DROP TABLE tmp_lines"))
    return len(accepted)


SOURCE = LinesSource()
