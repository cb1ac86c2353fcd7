"""Parse sportsbookreviewsonline.com MLB odds workbooks into raw rows and typed games.

Two rows a game (visitor then home, paired on consecutive rotation numbers), dates as
MDD/MMDD integers whose year is in the file name, and a column layout that changes by
season (no run line before 2014). Every defect found is a :class:`~app.ingest.rules.Finding`.
"""

import io
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.games.models import ODDS_COLUMNS, Game, Odds
from app.games.retire import Removal, reinstate_games, remove_games
from app.ingest import bulk, headers, reconcile, retrosheet, rules
from app.ingest.curated import CuratedGame, game_key, season_games
from app.ingest.headers import ColumnProfile
from app.ingest.models import IngestedFile, RawSbroRow, StagingSbroGame
from app.ingest.quarantine import count_firings, record_findings
from app.ingest.rules import Finding, Rule
from app.ingest.runner import FileReport, ParsedFile, SourceFile
from app.ingest.teams import canonical_from_sbro, infer_unknown_sbro_codes

_SEASON_IN_NAME = re.compile(r"(?P<season>(?:19|20)\d\d)")
INNING_HEADERS = ("1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th")
# A regular season ends with all 30 teams playing (15 games); no postseason day has more than
# 8 games (the 2020 wild-card round). Used only until the season's Retrosheet log is ingested.
MIN_GAMES_ON_A_REGULAR_SEASON_DAY = 10
# Fewer games than this on either side of a layout test: keep the documented default.
MIN_LAYOUT_EVIDENCE = 30


Note = Callable[[Rule, str], None]
LineCheck = Callable[[float, float], tuple[Rule, str] | None]


class SbroFormatError(ValueError):
    """The workbook does not have the columns an SBRO odds workbook has."""


@dataclass(frozen=True)
class RawRow:
    """One worksheet row: 1-based row number and every cell as verbatim text (None if empty)."""

    row_number: int
    cells: tuple[str | None, ...]


@dataclass(frozen=True)
class Workbook:
    """A worksheet's header row and the non-empty rows below it (``header_row_number`` 0: none)."""

    file_name: str
    header: tuple[str | None, ...]
    rows: list[RawRow]
    header_row_number: int = 1


@dataclass(frozen=True)
class ColumnRole:
    """A column an SBRO workbook has, in its left-to-right place.

    ``kind`` is the content it must hold (see :func:`app.ingest.headers.kind_fit`); a
    ``priced`` column has its price in the column to its right, usually with no header.
    """

    name: str
    label: str
    kind: str
    aliases: frozenset[str]
    required: bool = True
    priced: bool = False

    @property
    def price_name(self) -> str:
        return f"{self.name}_price"


def _names(*spellings: str) -> frozenset[str]:
    return headers.normalised_aliases(spellings)


COLUMN_ROLES: tuple[ColumnRole, ...] = (
    ColumnRole("date", "date", "date", _names("Date", "Day", "Game Date")),
    ColumnRole(
        "rotation",
        "rotation number",
        "rotation",
        _names("Rot", "Rotation", "Rot #", "Rot No", "Rotation Number", "Rotation #"),
    ),
    ColumnRole("side", "VH side", "side", _names("VH", "V/H", "Side", "Home/Away", "H/A")),
    ColumnRole("team", "team", "team", _names("Team", "Teams", "Tm", "Team Code", "Club")),
    ColumnRole(
        "pitcher",
        "pitcher",
        "pitcher",
        _names("Pitcher", "Pitchers", "Starting Pitcher", "Starter", "SP", "Probable Pitcher"),
    ),
    *(
        ColumnRole(
            f"inning_{number}",
            f"{ordinal} inning",
            "inning",
            _names(
                *(ordinal, str(number), f"Inning {number}", f"Inn {number}"),
                *(f"{ordinal} Inning", f"{ordinal} Inn", f"Inning {ordinal}"),
            ),
        )
        for number, ordinal in enumerate(INNING_HEADERS, start=1)
    ),
    ColumnRole("final", "final score", "final", _names("Final", "Final Score", "Score", "Runs")),
    ColumnRole(
        "open",
        "opening moneyline",
        "american_odds",
        _names(
            *("Open", "Opening", "Open ML", "Opening ML", "ML Open", "Open Line", "Opening Line"),
            *("Open Moneyline", "Opening Moneyline", "Moneyline Open"),
        ),
    ),
    ColumnRole(
        "close",
        "closing moneyline",
        "american_odds",
        _names(
            *("Close", "Closing", "Close ML", "Closing ML", "ML Close", "ML"),
            *("Close Moneyline", "Closing Moneyline", "Moneyline Close", "Moneyline"),
            *("Close Line", "Closing Line"),
        ),
    ),
    ColumnRole(
        "run_line",
        "run line",
        "run_line",
        _names(
            *("Run Line", "RL", "Close Run Line", "Closing Run Line", "Run Line Close"),
            *("RL Close", "Close RL", "Runline", "Spread"),
        ),
        required=False,
        priced=True,
    ),
    ColumnRole(
        "open_total",
        "opening total",
        "total",
        _names(
            *("Open OU", "Open O/U", "Open Total", "Opening OU", "Opening O/U", "Opening Total"),
            *("Open Over/Under", "Opening Over/Under", "OU Open", "Total Open"),
        ),
        priced=True,
    ),
    ColumnRole(
        "close_total",
        "closing total",
        "total",
        _names(
            *("Close OU", "Close O/U", "Close Total", "Closing OU", "Closing O/U"),
            *("Closing Total", "Close Over/Under", "Closing Over/Under", "OU Close"),
            *("Total Close", "OU", "O/U", "Total", "Over/Under"),
        ),
        priced=True,
    ),
)
INNING_ROLES = tuple(f"inning_{number}" for number in range(1, 10))
PRICE_WORDS = ("Price", "Odds", "Juice", "Vig")
# A price column's own header, when it has one: "Open OU Odds", "RL Price", or just "Odds".
_PRICE_NAMES: dict[str, str | None] = {
    **{name: None for name in _names(*PRICE_WORDS)},
    **{
        alias + word: role.name
        for role in COLUMN_ROLES
        if role.priced
        for alias in role.aliases
        for word in _names(*PRICE_WORDS)
    },
}
_ROLE_BY_NAME: dict[str, ColumnRole] = {role.name: role for role in COLUMN_ROLES}
_ROLE_OF_NAME: dict[str, str] = {
    alias: role.name for role in COLUMN_ROLES for alias in role.aliases
}
# A header row names at least this many columns (names with a letter: data rows hold digits).
MIN_NAMED_HEADER_CELLS = 3
MAX_ROWS_ABOVE_THE_HEADER = 20
# Content checks: a column fits a kind when this share of its cells reads as that kind.
MIN_CONTENT_FIT = 0.75
# A header is overruled by its column's content only on at least this many cells.
MIN_CELLS_TO_OVERRULE_A_HEADER = 20
# A column without a usable header is recognised by content on at least this many cells.
MIN_CELLS_TO_RECOGNISE = 2
PROFILE_BLOCKS, PROFILE_BLOCK_ROWS = 40, 16
HEADER_WEIGHT = 2.0
PRICE_HEADER_WEIGHT = 0.5
MISSING_REQUIRED_COLUMN = -1000.0


def _named_header_cells(cells: Sequence[str | None]) -> int:
    names = (headers.normalise_header(cell) for cell in cells)
    return sum(
        1
        for name in names
        if any(ch.isalpha() for ch in name) and (name in _ROLE_OF_NAME or name in _PRICE_NAMES)
    )


@dataclass(frozen=True)
class ColumnLayout:
    """Column indexes of one season's layout; a price sits right of its line column."""

    date: int
    rotation: int
    side: int
    team: int
    pitcher: int
    innings: tuple[int, ...]
    final: int
    open: int
    close: int
    open_total: int
    close_total: int
    run_line: int | None

    @classmethod
    def from_header(cls, header: Sequence[str | None]) -> "ColumnLayout":
        """The layout a header row alone names; raises SbroFormatError when a column is missing."""
        return detect_columns(header, [])[0]


@dataclass(frozen=True)
class _Candidate:
    score: float
    decided_by: str
    fit: float | None


class _ColumnEvidence:
    """Header names and content profiles of every column of one workbook."""

    def __init__(self, header: Sequence[str | None], rows: Sequence[RawRow]) -> None:
        self.header = list(header)
        cells = [row.cells for row in rows]
        self.width = max([len(self.header), *(len(row) for row in cells)])
        self.names = [headers.normalise_header(cell) for cell in self.header]
        self.names += [""] * (self.width - len(self.names))
        self.profiles: list[ColumnProfile] = [
            headers.profile_column(
                headers.adjacent_blocks(cells, column, PROFILE_BLOCKS, PROFILE_BLOCK_ROWS)
            )
            for column in range(self.width)
        ]

    def header_text(self, column: int) -> str | None:
        if column >= len(self.header) or headers.is_blank_header(self.header[column]):
            return None
        return str(self.header[column])

    def named_role(self, column: int) -> str | None:
        """The role the header of ``column`` names, whatever the column holds."""
        return _ROLE_OF_NAME.get(self.names[column])

    def trusted_role(self, column: int) -> str | None:
        """The role the header names, unless enough of the column's cells contradict it."""
        named = self.named_role(column)
        if named is None:
            return None
        fit, cells = self.fit(column, _ROLE_BY_NAME[named].kind)
        if cells >= MIN_CELLS_TO_OVERRULE_A_HEADER and fit < MIN_CONTENT_FIT:
            return None
        return named

    def fit(self, column: int, kind: str) -> tuple[float, int]:
        profile = self.profiles[column]
        return headers.kind_fit(profile, kind), headers.evidence_count(profile, kind)

    def line(self, role: ColumnRole, column: int) -> _Candidate | None:
        """How well ``column`` holds ``role`` by its header and its content (None: it cannot)."""
        fit, cells = self.fit(column, role.kind)
        trusted = self.trusted_role(column)
        if trusted == role.name:
            if cells < MIN_CELLS_TO_OVERRULE_A_HEADER:
                return _Candidate(HEADER_WEIGHT + 1.0, "header", fit if cells else None)
            return _Candidate(HEADER_WEIGHT + fit, "header", fit)
        if cells < MIN_CELLS_TO_RECOGNISE or fit < MIN_CONTENT_FIT:
            return None
        names_other = trusted is not None or self.names[column] in _PRICE_NAMES
        return _Candidate(fit - (HEADER_WEIGHT if names_other else 0.0), "content", fit)

    def price(self, role: ColumnRole, column: int) -> _Candidate | None:
        """How well ``column`` holds the price of ``role`` (right of its line column).

        A price header may be blank, a price word ("Odds", "Open OU Price") or its line's
        header repeated; a header naming another column counts against it.
        """
        if column >= self.width:
            return None
        fit, cells = self.fit(column, "american_odds")
        name = self.names[column]
        says_price = name in _PRICE_NAMES and _PRICE_NAMES[name] in (None, role.name)
        repeats_line = self.named_role(column) == role.name
        trusted = self.trusted_role(column)
        conflicting = (trusted not in (None, role.name)) or (
            name in _PRICE_NAMES and not says_price
        )
        compatible = name == "" or says_price or repeats_line
        decided_by = "header" if says_price or repeats_line else "content"
        if cells < MIN_CELLS_TO_OVERRULE_A_HEADER:
            if not compatible:
                return None
            decided_by = decided_by if decided_by == "header" else "position"
            return _Candidate(PRICE_HEADER_WEIGHT + 1.0, decided_by, fit if cells else None)
        if fit < MIN_CONTENT_FIT:
            return None
        score = fit + (PRICE_HEADER_WEIGHT if compatible else 0.0)
        return _Candidate(score - (HEADER_WEIGHT if conflicting else 0.0), decided_by, fit)

    def record(self, column: int, decided_by: str, fit: float | None) -> dict[str, object]:
        return {
            "column": column,
            "header": self.header_text(column),
            "decided_by": decided_by,
            "fit": None if fit is None else round(fit, 3),
            "content": self.profiles[column].as_dict(),
        }


def _place_roles(evidence: _ColumnEvidence) -> tuple[dict[str, int], dict[str, dict], list[str]]:
    """Give each role a column, left to right, maximising header and content agreement.

    Returns (role name -> column, evidence per role and price, labels of required roles that
    no column can hold). Dynamic programming over (role, first free column).
    """
    roles = COLUMN_ROLES
    width = evidence.width
    # best[r][c]: best score of placing roles r.. in columns c..; choice[r][c]: how.
    best = [[0.0] * (width + 2) for _ in range(len(roles) + 1)]
    choice: list[list[tuple | None]] = [[None] * (width + 2) for _ in range(len(roles) + 1)]
    for r in range(len(roles) - 1, -1, -1):
        role = roles[r]
        span = 2 if role.priced else 1
        for c in range(width, -1, -1):
            skip = 0.0 if not role.required else MISSING_REQUIRED_COLUMN
            best[r][c], choice[r][c] = skip + best[r + 1][c], None
            for column in range(c, width - span + 1):
                line = evidence.line(role, column)
                if line is None:
                    continue
                price = evidence.price(role, column + 1) if role.priced else None
                if role.priced and price is None:
                    continue
                score = line.score + (price.score if price else 0.0)
                score += best[r + 1][column + span]
                if score > best[r][c]:
                    best[r][c], choice[r][c] = score, (column, line, price)
    placed: dict[str, int] = {}
    records: dict[str, dict] = {}
    missing: list[str] = []
    c = 0
    for r, role in enumerate(roles):
        chosen = choice[r][c]
        if chosen is None:
            if role.required:
                missing.append(role.label)
            records[role.name] = {"column": None, "decided_by": "absent"}
            continue
        column, line, price = chosen
        placed[role.name] = column
        records[role.name] = evidence.record(column, line.decided_by, line.fit)
        if price is not None:
            records[role.price_name] = evidence.record(column + 1, price.decided_by, price.fit)
        c = column + (2 if role.priced else 1)
    for column in range(width):
        named = evidence.named_role(column)
        if named is not None and placed.get(named) != column:
            fit, _ = evidence.fit(column, _ROLE_BY_NAME[named].kind)
            records[named].setdefault("overruled_headers", []).append(
                {"column": column, "header": evidence.header_text(column), "fit": round(fit, 3)}
            )
    return placed, records, missing


def detect_columns(
    header: Sequence[str | None], rows: Sequence[RawRow], file_name: str | None = None
) -> tuple[ColumnLayout, dict[str, dict]]:
    """The column layout of a workbook by header meaning and column content, with evidence.

    Every column is read left to right in the SBRO order (Date, Rot, VH, Team, Pitcher,
    1st..9th, Final, Open, Close, [Run Line, price], Open OU, price, Close OU, price); a header
    decides a column when its content agrees, content decides where the header is missing,
    blank or contradicted. Raises SbroFormatError naming the columns no column can hold.
    """
    evidence = _ColumnEvidence(header, rows)
    placed, records, missing = _place_roles(evidence)
    if missing:
        where = f"of {Path(file_name).name}" if file_name else "of the header"
        raise SbroFormatError(
            f"cannot recognise the columns {where}: no {', no '.join(missing)}"
            f" (found header: {headers.describe_header(header)})"
        )
    layout = ColumnLayout(
        date=placed["date"],
        rotation=placed["rotation"],
        side=placed["side"],
        team=placed["team"],
        pitcher=placed["pitcher"],
        innings=tuple(placed[name] for name in INNING_ROLES),
        final=placed["final"],
        open=placed["open"],
        close=placed["close"],
        open_total=placed["open_total"],
        close_total=placed["close_total"],
        run_line=placed.get("run_line"),
    )
    return layout, records


@dataclass
class SbroGame:
    """A typed game from one visitor/home row pair (staging)."""

    season: int
    game_date: date
    visitor_row_number: int
    home_row_number: int
    visitor_rotation: int | None
    home_rotation: int | None
    away_sbro_code: str
    home_sbro_code: str
    away_team: str
    home_team: str
    away_score: int
    home_score: int
    neutral_site: bool
    away_pitcher: str | None = None
    away_pitcher_hand: str | None = None
    home_pitcher: str | None = None
    home_pitcher_hand: str | None = None
    away_line_score: tuple[int | None, ...] = ()
    home_line_score: tuple[int | None, ...] = ()
    away_ml_open: int | None = None
    home_ml_open: int | None = None
    away_ml_close: int | None = None
    home_ml_close: int | None = None
    total_open: float | None = None
    over_open: int | None = None
    under_open: int | None = None
    total_close: float | None = None
    over_close: int | None = None
    under_close: int | None = None
    home_rl: float | None = None
    home_rl_price: int | None = None
    away_rl_price: int | None = None
    game_number: int = 0
    postseason: bool = False
    findings: list[Finding] = field(default_factory=list)

    @property
    def row_numbers(self) -> tuple[int, int]:
        return (self.visitor_row_number, self.home_row_number)

    @property
    def game_key(self) -> str:
        """The curated natural key "YYYYMMDD-HOME-AWAY-N"."""
        return game_key(self.game_date, self.home_team, self.away_team, self.game_number)


@dataclass(frozen=True)
class TotalLayout:
    """Which row of a pair carries the over price, decided per file from the data itself."""

    visitor_row_is_over_open: bool
    visitor_row_is_over_close: bool
    evidence: dict[str, float | int]


@dataclass
class SbroParse:
    """Games, rejections, the over/under row layout and, per column role, how it was found.

    ``columns`` maps each role (``date``, ``rotation``, ..., ``close_total_price``) to its
    column index, header text, ``decided_by`` ("header", "content", "position" or "absent"),
    content fit and content statistics: JSON, stored with the file.
    """

    games: list[SbroGame]
    rejections: list[Finding]
    total_layout: TotalLayout
    columns: dict[str, dict] = field(default_factory=dict)


def season_from_file_name(file_name: str) -> int:
    """The season in a file name such as 'mlb-odds-2019.xlsx'."""
    match = _SEASON_IN_NAME.search(Path(file_name).name)
    if match is None:
        raise SbroFormatError(f"no season in file name {file_name!r}")
    return int(match["season"])


def _cell_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return headers.read_datetime_cell(value) or str(value)


def read_workbook(source: Path | bytes, file_name: str | None = None) -> Workbook:
    """The header row and every non-empty row below it of the first worksheet, as text.

    The header row is the first of the top rows that names at least three SBRO columns (a
    title row above it is skipped); with none, every row is data and the content decides.
    """
    if isinstance(source, Path):
        file_name = file_name or source.name
        source = source.read_bytes()
    workbook = load_workbook(io.BytesIO(source), read_only=True, data_only=True)
    try:
        sheet = workbook.worksheets[0]
        top: list[RawRow] = []
        header_row: RawRow | None = None
        rows: list[RawRow] = []
        for row_number, values in enumerate(sheet.iter_rows(values_only=True), start=1):
            cells = tuple(_cell_text(value) for value in values)
            if not any(cell is not None and cell.strip() for cell in cells):
                continue
            row = RawRow(row_number, cells)
            if header_row is not None or len(top) >= MAX_ROWS_ABOVE_THE_HEADER:
                rows.append(row)
            elif _named_header_cells(cells) >= MIN_NAMED_HEADER_CELLS:
                header_row = row
                top.clear()
            else:
                top.append(row)
    finally:
        workbook.close()
    if header_row is None:  # no header: the rows looked at for one are data too
        return Workbook(file_name or "workbook.xlsx", (), [*top, *rows], header_row_number=0)
    return Workbook(file_name or "workbook.xlsx", header_row.cells, rows, header_row.row_number)


def _cell(row: RawRow, index: int | None) -> str | None:
    if index is None or index >= len(row.cells):
        return None
    return row.cells[index]


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(float((text or "").strip()))
    except ValueError:
        return None


def _side(row: RawRow, layout: ColumnLayout) -> str:
    return (_cell(row, layout.side) or "").strip().upper()


def pair_rows(
    rows: Sequence[RawRow], layout: ColumnLayout
) -> tuple[list[tuple[RawRow, RawRow, list[Finding]]], list[Finding]]:
    """Visitor/home row pairs in file order, and the rows that have no partner."""
    pairs: list[tuple[RawRow, RawRow, list[Finding]]] = []
    unpaired: list[Finding] = []
    index = 0
    while index < len(rows):
        first = rows[index]
        second = rows[index + 1] if index + 1 < len(rows) else None
        paired = second is not None and _pairs_with(first, second, layout)
        if not paired or second is None:
            unpaired.append(
                Finding(
                    rules.SBRO_UNPAIRED_ROW,
                    f"VH={_side(first, layout)!r} Rot={_cell(first, layout.rotation)!r} "
                    f"Team={_cell(first, layout.team)!r} has no partner row",
                    (first.row_number,),
                )
            )
            index += 1
            continue
        findings: list[Finding] = []
        visitor_rotation = _int_or_none(_cell(first, layout.rotation))
        home_rotation = _int_or_none(_cell(second, layout.rotation))
        if visitor_rotation is not None and home_rotation != visitor_rotation + 1:
            findings.append(
                Finding(
                    rules.SBRO_ROTATION_FIXED,
                    f"home rotation {home_rotation} read as {visitor_rotation + 1}",
                    (first.row_number, second.row_number),
                )
            )
        pairs.append((first, second, findings))
        index += 2
    return pairs, unpaired


def _pairs_with(first: RawRow, second: RawRow, layout: ColumnLayout) -> bool:
    first_side, second_side = _side(first, layout), _side(second, layout)
    first_rotation = _int_or_none(_cell(first, layout.rotation))
    second_rotation = _int_or_none(_cell(second, layout.rotation))
    if first_rotation is None or second_rotation is None:
        return False
    consecutive = first_rotation % 2 == 1 and second_rotation == first_rotation + 1
    if first_side == "N" and second_side == "N":
        return consecutive
    if (first_side, second_side) != ("V", "H"):
        return False
    if consecutive:
        return True
    # A mistyped home rotation (2018-05-18: CUB 907 then CIN 907): same day, off by at most one.
    same_day = _cell(first, layout.date) == _cell(second, layout.date)
    return same_day and abs(second_rotation - (first_rotation + 1)) <= 1


def _parse_day(text: str | None, season: int) -> date | None:
    return headers.read_day(text, season)


class _Rejected(Exception):
    def __init__(self, rule: Rule, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class _FileKnowledge:
    """What the whole file says about values one row leaves open."""

    inferred_teams: Mapping[str, str]
    pitcher_hands: Mapping[str, str]


def _build_game(
    visitor: RawRow,
    home: RawRow,
    findings: list[Finding],
    layout: ColumnLayout,
    season: int,
    known: _FileKnowledge,
) -> SbroGame:
    rows = (visitor.row_number, home.row_number)

    def note(rule: Rule, message: str) -> None:
        findings.append(Finding(rule, message, rows))

    visitor_day = _parse_day(_cell(visitor, layout.date), season)
    home_day = _parse_day(_cell(home, layout.date), season)
    if visitor_day is None or home_day is None:
        raise _Rejected(
            rules.SBRO_INVALID_DATE,
            f"dates {_cell(visitor, layout.date)!r}/{_cell(home, layout.date)!r} in {season}",
        )
    if visitor_day != home_day:
        if abs(visitor_day - home_day) > timedelta(days=1):
            raise _Rejected(rules.SBRO_PAIR_DATE_MISMATCH, f"dates {visitor_day}/{home_day}")
        note(rules.SBRO_PAIR_DATE_FIXED, f"visitor date {visitor_day} read as {home_day}")

    away_code = (_cell(visitor, layout.team) or "").strip()
    home_code = (_cell(home, layout.team) or "").strip()
    away_team = _team(away_code, known, note)
    home_team = _team(home_code, known, note)
    if away_team == home_team:
        raise _Rejected(rules.SBRO_SAME_TEAM, f"{away_code} plays {home_code}")

    away_score = _int_or_none(_cell(visitor, layout.final))
    home_score = _int_or_none(_cell(home, layout.final))
    if away_score is None or home_score is None:
        raise _Rejected(
            rules.SBRO_MISSING_FINAL,
            f"finals {_cell(visitor, layout.final)!r}/{_cell(home, layout.final)!r}",
        )
    if away_score == home_score:
        raise _Rejected(rules.SBRO_TIE_FINAL, f"final {away_score}-{home_score}")

    game = SbroGame(
        season=season,
        game_date=home_day,
        visitor_row_number=visitor.row_number,
        home_row_number=home.row_number,
        visitor_rotation=_int_or_none(_cell(visitor, layout.rotation)),
        home_rotation=_int_or_none(_cell(home, layout.rotation)),
        away_sbro_code=away_code,
        home_sbro_code=home_code,
        away_team=away_team,
        home_team=home_team,
        away_score=away_score,
        home_score=home_score,
        neutral_site=_side(visitor, layout) == "N",
        findings=findings,
    )
    game.away_line_score = _line_score(visitor, layout, away_score, "away", note)
    game.home_line_score = _line_score(home, layout, home_score, "home", note)
    game.away_pitcher, game.away_pitcher_hand = _pitcher(visitor, layout, "away", known, note)
    game.home_pitcher, game.home_pitcher_hand = _pitcher(home, layout, "home", known, note)

    game.away_ml_open, game.home_ml_open = _moneyline(visitor, home, layout.open, "ml_open", note)
    game.away_ml_close, game.home_ml_close = _moneyline(
        visitor, home, layout.close, "ml_close", note
    )
    game.total_open, game.over_open, game.under_open = _total(
        visitor, home, layout.open_total, "total_open", note
    )
    game.total_close, game.over_close, game.under_close = _total(
        visitor, home, layout.close_total, "total_close", note
    )
    if layout.run_line is not None:
        game.home_rl, game.home_rl_price, game.away_rl_price = _run_line(
            visitor, home, layout.run_line, note
        )
    return game


def _line_score(row: RawRow, layout: ColumnLayout, final: int, side: str, note: Note) -> tuple:
    innings = tuple(_int_or_none(_cell(row, index)) for index in layout.innings)
    scored = sum(runs for runs in innings if runs is not None)
    if scored > final:
        note(rules.SBRO_LINE_SCORE_INCONSISTENT, f"{side} innings sum {scored} > final {final}")
        return ()
    return innings


def _team(code: str, known: _FileKnowledge, note: Note) -> str:
    team = canonical_from_sbro(code)
    if team is not None:
        return team
    inferred = known.inferred_teams.get(code.upper())
    if inferred is None:
        raise _Rejected(rules.SBRO_UNKNOWN_TEAM, f"unknown SBRO team code {code!r}")
    note(
        rules.SBRO_TEAM_CODE_INFERRED,
        f"team code {code!r} read as {inferred}, the one team no known code of the file covers",
    )
    return inferred


def _pitcher(
    row: RawRow, layout: ColumnLayout, side: str, known: _FileKnowledge, note: Note
) -> tuple:
    cell = _cell(row, layout.pitcher)
    name, hand, rule = rules.split_pitcher(cell)
    if rule is rules.SBRO_PITCHER_HAND_UNKNOWN and name in known.pitcher_hands:
        hand = known.pitcher_hands[name]
        rule = rules.SBRO_PITCHER_HAND_INFERRED
        note(rule, f"{side} pitcher {cell!r}: hand {hand} as elsewhere in the file")
    elif rule is not None:
        note(rule, f"{side} pitcher {cell!r}")
    return name, hand


def _numbers(cells: Iterable[str | None], market: str, note: Note) -> list[float] | None:
    """Parsed numbers of one market's cells, or None (after noting why) when one is unusable."""
    values: list[float] = []
    for cell in cells:
        parsed = rules.parse_number(cell)
        if parsed.rule is not None:
            note(parsed.rule, f"{market}: {parsed.detail}")
        if parsed.value is None:
            return None
        values.append(parsed.value)
    return values


def _moneyline(visitor: RawRow, home: RawRow, column: int, market: str, note: Note) -> tuple:
    values = _numbers((_cell(visitor, column), _cell(home, column)), market, note)
    if values is None:
        return None, None
    broken = rules.check_price_pair(values[0], values[1])
    if broken is not None:
        note(broken[0], f"{market}: {broken[1]}")
        return None, None
    return int(values[0]), int(values[1])


def _line_and_prices(
    visitor: RawRow, home: RawRow, column: int, market: str, check_line: LineCheck, note: Note
) -> tuple[float, float, int, int] | None:
    """Both rows' line and price (the price right of the line), or None (after noting why)."""
    cells = (
        _cell(visitor, column),
        _cell(home, column),
        _cell(visitor, column + 1),
        _cell(home, column + 1),
    )
    values = _numbers(cells, market, note)
    if values is None:
        return None
    visitor_line, home_line, visitor_price, home_price = values
    broken = check_line(visitor_line, home_line) or rules.check_price_pair(
        visitor_price, home_price
    )
    if broken is not None:
        note(broken[0], f"{market}: {broken[1]}")
        return None
    return visitor_line, home_line, int(visitor_price), int(home_price)


def _total(visitor: RawRow, home: RawRow, column: int, market: str, note: Note) -> tuple:
    checked = _line_and_prices(visitor, home, column, market, rules.check_total, note)
    if checked is None:
        return None, None, None
    visitor_total, _, visitor_price, home_price = checked
    # Visitor row = over until detect_total_layout says otherwise for this file.
    return visitor_total, visitor_price, home_price


def _run_line(visitor: RawRow, home: RawRow, column: int, note: Note) -> tuple:
    checked = _line_and_prices(visitor, home, column, "run_line", rules.check_run_line, note)
    if checked is None:
        return None, None, None
    _, home_line, visitor_price, home_price = checked
    return home_line, home_price, visitor_price


def _share(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def detect_total_layout(games: Sequence[SbroGame]) -> TotalLayout:
    """Decide from line movement which row carries the over price, for open and close.

    Opening: when the over is the juiced side at the open, bettors are on the over and the
    total tends to move up by the close. Closing: after a total moves down the over is
    usually the juiced side at the new number, and after it moves up the under is.
    Reads ``over_*`` as the visitor row's price and ``under_*`` as the home row's.
    """
    up_after = Counter[str]()
    seen = Counter[str]()
    close_juiced = Counter[str]()
    moved = Counter[str]()
    for game in games:
        if game.total_open is None or game.total_close is None:
            continue
        if game.total_open == game.total_close:
            continue
        went_up = game.total_close > game.total_open
        if None not in (game.over_open, game.under_open) and game.over_open != game.under_open:
            juiced = "visitor" if game.over_open < game.under_open else "home"
            seen[juiced] += 1
            up_after[juiced] += went_up
        if None not in (game.over_close, game.under_close) and game.over_close != game.under_close:
            direction = "up" if went_up else "down"
            moved[direction] += 1
            close_juiced[direction] += game.over_close < game.under_close
    evidence: dict[str, float | int] = {
        "open_up_share_visitor_juiced": round(_share(up_after["visitor"], seen["visitor"]), 3),
        "open_up_share_home_juiced": round(_share(up_after["home"], seen["home"]), 3),
        "open_games": seen.total(),
        "close_visitor_juiced_after_down": round(_share(close_juiced["down"], moved["down"]), 3),
        "close_visitor_juiced_after_up": round(_share(close_juiced["up"], moved["up"]), 3),
        "close_games": moved.total(),
    }
    visitor_over_open = True
    if min(seen["visitor"], seen["home"]) >= MIN_LAYOUT_EVIDENCE:
        visitor_over_open = (
            evidence["open_up_share_visitor_juiced"] >= evidence["open_up_share_home_juiced"]
        )
    visitor_over_close = True
    if min(moved["up"], moved["down"]) >= MIN_LAYOUT_EVIDENCE:
        visitor_over_close = (
            evidence["close_visitor_juiced_after_down"] >= evidence["close_visitor_juiced_after_up"]
        )
    return TotalLayout(visitor_over_open, visitor_over_close, evidence)


def apply_total_layout(games: Iterable[SbroGame], layout: TotalLayout) -> None:
    """Swap over and under prices where the home row carries the over."""
    for game in games:
        if not layout.visitor_row_is_over_open:
            game.over_open, game.under_open = game.under_open, game.over_open
        if not layout.visitor_row_is_over_close:
            game.over_close, game.under_close = game.under_close, game.over_close


def number_doubleheaders(games: Sequence[SbroGame]) -> tuple[list[SbroGame], list[Finding]]:
    """Game numbers: 0 for a single game, 1 and 2 in file order for a doubleheader."""
    by_matchup: dict[tuple[date, str, str], list[SbroGame]] = defaultdict(list)
    for game in games:
        by_matchup[(game.game_date, game.home_team, game.away_team)].append(game)
    rejected: list[Finding] = []
    kept: set[int] = set()
    for same_day in by_matchup.values():
        if len(same_day) == 1:
            same_day[0].game_number = 0
            kept.add(id(same_day[0]))
            continue
        for number, game in enumerate(same_day, start=1):
            if number <= 2:
                game.game_number = number
                kept.add(id(game))
            else:
                rejected.append(
                    Finding(
                        rules.SBRO_DUPLICATE_GAME,
                        f"game {number} of {game.away_team}@{game.home_team} on {game.game_date}",
                        game.row_numbers,
                    )
                )
    return [game for game in games if id(game) in kept], rejected


def regular_season_end(games: Iterable[SbroGame]) -> date | None:
    """Fallback end of the regular season: the last day with a full slate of games.

    Retrosheet's log of the season, when ingested, overrides this (its last date is
    authoritative and also counts tiebreaker games as regular season).
    """
    per_day = Counter(game.game_date for game in games)
    full_days = [
        day for day, count in per_day.items() if count >= MIN_GAMES_ON_A_REGULAR_SEASON_DAY
    ]
    return max(full_days, default=None)


def mark_postseason(games: Iterable[SbroGame], season_end: date | None) -> None:
    """Flag the games played after the regular season's last day."""
    for game in games:
        game.postseason = season_end is not None and game.game_date > season_end


def parse_workbook(workbook: Workbook, season: int | None = None) -> SbroParse:
    """Typed games and rejections of one workbook (postseason is left to the caller)."""
    season = season or season_from_file_name(workbook.file_name)
    layout, columns = detect_columns(workbook.header, workbook.rows, workbook.file_name)
    known = _FileKnowledge(
        inferred_teams=infer_unknown_sbro_codes(
            _cell(row, layout.team) or "" for row in workbook.rows
        ),
        pitcher_hands=rules.pitcher_hands_by_name(
            _cell(row, layout.pitcher) for row in workbook.rows
        ),
    )
    pairs, rejections = pair_rows(workbook.rows, layout)
    games: list[SbroGame] = []
    for visitor, home, findings in pairs:
        try:
            games.append(_build_game(visitor, home, findings, layout, season, known))
        except _Rejected as rejected:
            rejections.append(
                Finding(rejected.rule, rejected.message, (visitor.row_number, home.row_number))
            )
    games, duplicates = number_doubleheaders(games)
    rejections.extend(duplicates)
    total_layout = detect_total_layout(games)
    apply_total_layout(games, total_layout)
    return SbroParse(games, rejections, total_layout, columns)


# --- The SBRO source: stage and curate ------------------------------------------------------

SOURCE_NAME = "sbro"
BOOK = "sbro"
# Columns of ``games`` that SBRO owns; app/ingest/reconcile.py owns the Retrosheet ones.
CURATED_GAME_COLUMNS = (
    "season",
    "game_date",
    "game_number",
    "home_team",
    "away_team",
    "home_pitcher",
    "away_pitcher",
    "home_pitcher_hand",
    "away_pitcher_hand",
    "home_score",
    "away_score",
    "neutral_site",
    "postseason",
)


class SbroSource:
    """SBRO odds workbooks: one file a season; its games and opening/closing odds are curated."""

    name = SOURCE_NAME

    def files(self, paths: Sequence[Path]) -> list[SourceFile]:
        """One unit per workbook."""
        return [SourceFile.read(path) for path in paths]

    def read(self, file: SourceFile) -> Workbook:
        """The workbook's rows, cells verbatim."""
        return read_workbook(file.data, file.path.name)

    def parse(self, session: Session, file: SourceFile, raw: Workbook) -> ParsedFile:
        """Typed games; postseason from the season's Retrosheet log when one is staged."""
        season = season_from_file_name(file.path.name)
        parsed = parse_workbook(raw, season)
        season_end = reconcile.retrosheet_season_ends(session, [season]).get(season)
        mark_postseason(parsed.games, season_end or regular_season_end(parsed.games))
        parsed.games, taken = attach_to_curated_games(session, season, parsed.games)
        parsed.rejections.extend(taken)
        details = {
            "season": season,
            "seasons": [season],
            "total_price_layout": {
                "visitor_row_is_over_open": parsed.total_layout.visitor_row_is_over_open,
                "visitor_row_is_over_close": parsed.total_layout.visitor_row_is_over_close,
                "evidence": parsed.total_layout.evidence,
            },
            "columns": parsed.columns,
        }
        return ParsedFile([season], len(raw.rows), details, parsed)

    def stage(self, session: Session, file_id: int, raw: Workbook, parsed: ParsedFile) -> None:
        """Raw rows verbatim, the typed games (curated first, for their ids) and findings."""
        content: SbroParse = parsed.content
        raw_ids = _insert_raw_rows(session, file_id, raw)
        game_ids = _curate_games(session, content.games)
        _insert_staging(session, file_id, content.games, raw_ids, game_ids)
        findings = [(finding, None) for finding in content.rejections]
        findings += [
            (finding, game.game_key) for game in content.games for finding in game.findings
        ]
        record_findings(
            session, SOURCE_NAME, file_id, findings, {row.row_number: row.cells for row in raw.rows}
        )

    def curate(self, session: Session, file_id: int, parsed: ParsedFile) -> FileReport:
        """Drop the season's games the file no longer has; match the season to Retrosheet."""
        content: SbroParse = parsed.content
        (season,) = parsed.seasons
        removed = _remove_games_not_in(
            session, season, file_id, {game.game_key for game in content.games}
        )
        reconciled = reconcile.reconcile_seasons(session, [season])
        return FileReport(
            path="",  # the runner names the file
            raw_rows=parsed.raw_rows,
            games_curated=len(content.games),
            quarantined=count_firings(content.rejections, rejected=True),
            retrosheet_match_rate=reconciled.match_rates.get(season),
            corrections=count_firings(
                (f for g in content.games for f in g.findings), rejected=False
            ),
            conflicts=reconciled.conflicts.get(season, {}),
            games_retired=len(removed.retired),
            bets_voided=removed.bets_voided,
        )


def attach_to_curated_games(
    session: Session, season: int, games: list[SbroGame]
) -> tuple[list[SbroGame], list[Finding]]:
    """Make each workbook game the curated game it is, so that its prices attach to it.

    A season may hold games before its workbook does: from its game log or the schedule
    feed (results only), or from an earlier version of the workbook. Workbook games are
    matched to the season's curated games on date, teams, game number and score like
    game-log lines (``retrosheet.match_games``; a priced game's score is its workbook's
    final), and a matched game takes the curated game's number and date (a date a day off
    fires ``sources_date_disagree``), hence its key: a
    doubleheader the two sources number differently is one game, never two, and stays the
    same game when the workbook is ingested again. A game left unmatched whose key a
    matched game took is rejected (``sources_game_key_taken``).
    """
    if not games:
        return games, []
    archive = reconcile.archive_finals(session, [season])
    existing = [
        replace(game, home_score=final[0], away_score=final[1])
        if (final := archive.get(game.game_id))
        else game
        for game in season_games(session, season)
    ]
    views = [
        CuratedGame(
            index,
            game.game_date,
            game.home_team,
            game.away_team,
            game.game_number,
            game.home_score,
            game.away_score,
        )
        for index, game in enumerate(games)
    ]
    matches = retrosheet.match_games(views, existing)
    for index, curated in matches.items():
        game = games[index]
        if game.game_date != curated.game_date:
            game.findings.append(
                Finding(
                    rules.SOURCES_DATE_DISAGREE,
                    f"{game.game_key}: the curated game is dated {curated.game_date}",
                    game.row_numbers,
                )
            )
        game.game_date, game.game_number = curated.game_date, curated.game_number
    counts = Counter(game.game_key for game in games)
    kept, taken = [], []
    for index, game in enumerate(games):
        if counts[game.game_key] > 1 and index not in matches:
            taken.append(
                Finding(
                    rules.GAME_KEY_TAKEN,
                    f"{game.game_key}: another game of the file is that curated game",
                    game.row_numbers,
                )
            )
        else:
            kept.append(game)
    return kept, taken


def _insert_raw_rows(session: Session, file_id: int, workbook: Workbook) -> dict[int, int]:
    """Insert the rows verbatim; returns row number -> raw row id."""
    payload = [
        {"file_id": file_id, "row_number": row.row_number, "cells": list(row.cells)}
        for row in workbook.rows
    ]
    if payload:
        session.execute(RawSbroRow.__table__.insert(), payload)
    found = session.execute(
        select(RawSbroRow.row_number, RawSbroRow.id).where(RawSbroRow.file_id == file_id)
    )
    return {number: raw_id for number, raw_id in found}


def _curate_games(session: Session, games: Sequence[SbroGame]) -> dict[str, int]:
    """Upsert curated games and their SBRO odds; returns game key -> game id."""
    game_rows = [
        {"game_key": game.game_key, **{name: getattr(game, name) for name in CURATED_GAME_COLUMNS}}
        for game in games
    ]
    bulk.upsert(session, Game.__table__, game_rows, ["game_key"], CURATED_GAME_COLUMNS)
    keys = [game.game_key for game in games]
    found = session.execute(select(Game.game_key, Game.id).where(Game.game_key.in_(keys)))
    game_ids = {game_key: game_id for game_key, game_id in found}
    reinstate_games(session, list(game_ids.values()))
    odds_rows = [
        {
            "game_id": game_ids[game.game_key],
            "book": BOOK,
            **{name: getattr(game, name) for name in ODDS_COLUMNS},
        }
        for game in games
    ]
    bulk.upsert(session, Odds.__table__, odds_rows, ["game_id", "book"], ODDS_COLUMNS)
    return game_ids


def _insert_staging(
    session: Session,
    file_id: int,
    games: Sequence[SbroGame],
    raw_ids: dict[int, int],
    game_ids: dict[str, int],
) -> None:
    typed_columns = [
        column.name
        for column in StagingSbroGame.__table__.columns
        if column.name not in {"id", "file_id", "visitor_row_id", "home_row_id", "game_id"}
        and column.name not in {"game_key", "away_line_score", "home_line_score"}
    ]
    payload = [
        {
            "file_id": file_id,
            "visitor_row_id": raw_ids[game.visitor_row_number],
            "home_row_id": raw_ids[game.home_row_number],
            "game_id": game_ids[game.game_key],
            "game_key": game.game_key,
            "away_line_score": list(game.away_line_score),
            "home_line_score": list(game.home_line_score),
            **{name: getattr(game, name) for name in typed_columns},
        }
        for game in games
    ]
    if payload:
        session.execute(StagingSbroGame.__table__.insert(), payload)


def _remove_games_not_in(
    session: Session, season: int, file_id: int, game_keys: set[str]
) -> Removal:
    """Remove what the current file no longer has of the season's games curated from SBRO.

    A game a Retrosheet log still lists stays, a results-only game: only this archive's prices
    of it go. Any other game is removed; one a bet or a prediction refers to is retired, not
    deleted (app/games/retire.py)."""
    stale = [
        (game_id, retrosheet_game_id)
        for game_id, game_key, retrosheet_game_id in session.execute(
            select(Game.id, Game.game_key, Game.retrosheet_game_id)
            .join(Odds, (Odds.game_id == Game.id) & (Odds.book == BOOK))
            .where(Game.season == season, Game.retired_at.is_(None))
        )
        if game_key not in game_keys
    ]
    logged = [game_id for game_id, retrosheet_game_id in stale if retrosheet_game_id]
    if logged:
        session.execute(delete(Odds).where(Odds.game_id.in_(logged), Odds.book == BOOK))
    file_name = session.scalar(select(IngestedFile.file_name).where(IngestedFile.id == file_id))
    return remove_games(
        session,
        [game_id for game_id, retrosheet_game_id in stale if not retrosheet_game_id],
        f"not in {file_name}, the current SBRO file of {season}",
    )


SOURCE = SbroSource()
