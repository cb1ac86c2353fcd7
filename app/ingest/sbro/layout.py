"""An SBRO workbook read: its rows as text and the column layout, found by header and content.

The layout changes by season (no run line before 2014; columns renamed, moved or unnamed),
so each column's role is decided by its header where it names one and by what its cells
hold otherwise (:func:`detect_columns`)."""

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from openpyxl import load_workbook

from app.ingest import headers
from app.ingest.headers import ColumnProfile

_SEASON_IN_NAME = re.compile(r"(?P<season>(?:19|20)\d\d)")
INNING_HEADERS = ("1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th")


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
