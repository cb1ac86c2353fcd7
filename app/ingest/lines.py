"""Parse line-history files (the Pinnacle 2016 layout) into typed games and lines.

A line history is a pair of CSV files: ``<name>_games.csv`` (one row a game, keyed by
``game_idx``) and ``<name>_lines.csv[.gz]`` (one row a timestamped line of a game). Lines join
to games on ``game_idx`` only: the file's own game ids come from the skewed UTC date. Event
times run about three hours late; line timestamps are true UTC (the last line of a game is
taken down at first pitch), so the offset is measured per file from the data itself.
"""

import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from app.ingest import rules
from app.ingest.csv_files import CsvRow, csv_records, numbered_rows
from app.ingest.curated import CuratedGame
from app.ingest.headers import find_columns
from app.ingest.rules import Finding, Rule
from app.ingest.teams import canonical_from_team_name

# MLB's schedule is kept in US Eastern time: the local date of every game is its Eastern date
# (the latest starts, 10:10 pm Eastern on the west coast, stay on the same day).
SCHEDULE_ZONE = ZoneInfo("America/New_York")
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
class Line:
    """A typed line: prices American, totals in runs, run line from the home side."""

    row_number: int
    game_idx: int
    captured_at: datetime
    away_ml: int | None = None
    home_ml: int | None = None
    total: float | None = None
    over_price: int | None = None
    under_price: int | None = None
    home_rl: float | None = None
    home_rl_price: int | None = None
    away_rl_price: int | None = None
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
