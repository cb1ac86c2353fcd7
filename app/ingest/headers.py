"""Read column headers by meaning and recognise what a column holds from its cells.

Shared by the ingest sources. Headers drift between files ("Open OU", "OpenOU", "open_ou",
" Open  O/U ", pandas' "Unnamed: 18" for an empty cell, "Open OU.1" for a repeated one), so
they are compared in a normalised form. Where a header is missing or says something its
column does not hold, the column's content decides: :func:`profile_column` measures the
cells and :func:`kind_fit` says how well they fit one kind of value (American odds, a
total, a run line, innings, rotation numbers, dates, V/H/N sides, team codes, pitchers).
"""

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from app.ingest.rules import NOT_LISTED_MARKERS, parse_number

_PANDAS_UNNAMED = re.compile(r"^\s*unnamed\s*:\s*\d+(?:_level_\d+)?\s*$", re.IGNORECASE)
# pandas renames a repeated header "Open OU" to "Open OU.1"; the suffix is not part of the name.
_PANDAS_DUPLICATE_SUFFIX = re.compile(r"(?<=[^\d\s.])\.\d+$")
_NOT_ALPHANUMERIC = re.compile(r"[^0-9a-z]+")

KINDS = (
    "date",
    "rotation",
    "side",
    "team",
    "pitcher",
    "inning",
    "final",
    "american_odds",
    "total",
    "run_line",
)
SIDE_MARKERS = frozenset({"V", "H", "N"})
INNING_NOT_PLAYED = frozenset({"X"})
_TEAM_CODE = re.compile(r"^[A-Z]{2,4}$")
_PITCHER = re.compile(r"^[A-Z][A-Z .'\-]*[A-Z](?:-[A-Z])?$")
_HAND_SUFFIX = re.compile(r"-[LR]$")
_ISO_DAY = re.compile(r"^(?P<year>\d{4})-(?P<month>\d{1,2})-(?P<day>\d{1,2})(?:[ T].*)?$")
_SLASH_DAY = re.compile(r"^(?P<month>\d{1,2})/(?P<day>\d{1,2})(?:/(?P<year>\d{2,4}))?$")
# Excel's day 0 for serial dates (the 1900 leap-year bug makes it 30 Dec 1899).
_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_SERIALS = range(20000, 80000)  # 1954-2119: never an MDD/MMDD day (at most 1231)

MAX_AMERICAN_ODDS = 5000
MAX_RUNS_IN_AN_INNING = 30
MAX_RUNS_IN_A_GAME = 50
MIN_TOTAL, MAX_TOTAL = 3.0, 25.0
MAX_RUN_LINE = 5.0
COMMON_RUN_LINE = 1.5
MAX_ROTATION = 99999
# Runs per inning average about 0.5 and runs per game about 4.5: the mean separates them.
MAX_MEAN_RUNS_OF_AN_INNING = 1.6
MIN_MEAN_RUNS_OF_A_FINAL = 2.0
# More distinct values than this in a large column: not a team column (30 teams).
MAX_DISTINCT_TEAM_CODES = 60
MIN_CELLS_FOR_DISTINCT_TEST = 200
# Adjacent-row patterns: a date repeats down a day's rows; a rotation counts up by one
# from visitor to home row. Below this many adjacent pairs the pattern is not tested.
MIN_ADJACENT_PAIRS = 10
MIN_DATE_REPEAT_SHARE = 0.4
MIN_ROTATION_STEP_SHARE = 0.25
MIN_RUN_LINE_AT_ONE_AND_A_HALF = 0.5
# What a structural mismatch does to a fit: halves it (below any usable threshold).
MISMATCH_FACTOR = 0.5


def normalise_header(cell: object) -> str:
    """A header cell compared by meaning: lower case, letters and digits only.

    "Open OU", "OpenOU", "open_ou", "OPEN-OU", " open  o/u " and "Open OU.1" (pandas' name of
    a repeated header) all become "openou"; None, blanks and "Unnamed: 18" become "".
    """
    if cell is None:
        return ""
    text = str(cell).strip()
    if _PANDAS_UNNAMED.match(text):
        return ""
    text = _PANDAS_DUPLICATE_SUFFIX.sub("", text)
    return _NOT_ALPHANUMERIC.sub("", text.casefold())


def is_blank_header(cell: object) -> bool:
    """True for a header cell that names nothing: None, blank or pandas' "Unnamed: N"."""
    return normalise_header(cell) == ""


def normalised_aliases(aliases: Iterable[str]) -> frozenset[str]:
    """The normalised forms of a set of header spellings."""
    return frozenset(name for name in map(normalise_header, aliases) if name)


def find_columns(
    header: Sequence[object], columns: Mapping[str, Sequence[str]]
) -> tuple[dict[str, int], list[str]]:
    """({our name: column index}, [our names not found]) by normalised alias.

    The first column whose normalised header is one of a name's aliases wins; a column is
    given to one name only.
    """
    normalised = [normalise_header(cell) for cell in header]
    found: dict[str, int] = {}
    missing: list[str] = []
    taken: set[int] = set()
    for ours, aliases in columns.items():
        wanted = normalised_aliases(aliases)
        index = next(
            (i for i, name in enumerate(normalised) if name in wanted and i not in taken), None
        )
        if index is None:
            missing.append(ours)
        else:
            found[ours] = index
            taken.add(index)
    return found, missing


def describe_header(header: Sequence[object]) -> str:
    """A header row on one line for an error message ("<blank>" for empty cells)."""
    cells = [
        " ".join(str(cell).split()) if not is_blank_header(cell) else "<blank>" for cell in header
    ]
    while cells and cells[-1] == "<blank>":
        cells.pop()
    return ", ".join(cells) if cells else "no header row"


# --- Cell readers --------------------------------------------------------------------------
def read_number(text: str | None) -> float | None:
    """The number a cell holds ("8½" is 8.5), or None."""
    return parse_number(text).value


def is_not_listed(text: str | None) -> bool:
    """True for a cell that says a number is not listed: blank, NL, pk, N/L or '-'."""
    return (text or "").strip().upper() in NOT_LISTED_MARKERS


def read_day(text: str | None, season: int | None = None) -> date | None:
    """The day a date cell names, or None.

    Accepts an MDD/MMDD integer (the year is ``season``), an Excel date written as ISO text
    ("2020-07-23" or "2020-07-23 00:00:00"), "7/23" or "7/23/2020", and an Excel serial day
    number. A day of another year than ``season`` (when given) is None.
    """
    cleaned = (text or "").strip()
    if not cleaned:
        return None
    year, month, day = season, None, None
    if match := _ISO_DAY.match(cleaned):
        year, month, day = int(match["year"]), int(match["month"]), int(match["day"])
    elif match := _SLASH_DAY.match(cleaned):
        month, day = int(match["month"]), int(match["day"])
        if match["year"]:
            year = int(match["year"]) + (2000 if len(match["year"]) == 2 else 0)
    else:
        number = read_number(cleaned)
        if number is None or not number.is_integer() or number <= 0:
            return None
        whole = int(number)
        if whole in _EXCEL_SERIALS:
            found = _EXCEL_EPOCH + timedelta(days=whole)
            return found if season is None or found.year == season else None
        month, day = divmod(whole, 100)
    if season is not None and year != season:
        return None
    try:
        return date(year or 2000, month, day)  # 2000: a leap year, so 229 is a day
    except (TypeError, ValueError):
        return None


def is_american_odds(text: str | None) -> bool:
    """True for an American price: a whole number with 100 <= |price| <= 5000."""
    number = read_number(text)
    return number is not None and number.is_integer() and 100 <= abs(number) <= MAX_AMERICAN_ODDS


def is_total(text: str | None) -> bool:
    """True for a runs total: 3 to 25 in half runs ("8", "8.5", "8½")."""
    number = read_number(text)
    return number is not None and MIN_TOTAL <= number <= MAX_TOTAL and (2 * number).is_integer()


def is_run_line(text: str | None) -> bool:
    """True for a run line: a non-zero half-run handicap of at most 5 runs."""
    number = read_number(text)
    return number is not None and 0 < abs(number) <= MAX_RUN_LINE and (2 * number).is_integer()


def is_inning_runs(text: str | None) -> bool:
    """True for an inning's runs: a small whole number, or 'x' (not played)."""
    cleaned = (text or "").strip().upper()
    if cleaned in INNING_NOT_PLAYED:
        return True
    number = read_number(cleaned)
    return number is not None and number.is_integer() and 0 <= number <= MAX_RUNS_IN_AN_INNING


def is_final_score(text: str | None) -> bool:
    """True for a game's runs: a whole number from 0 to 50."""
    number = read_number(text)
    return number is not None and number.is_integer() and 0 <= number <= MAX_RUNS_IN_A_GAME


def is_rotation_number(text: str | None) -> bool:
    """True for a rotation number: a positive whole number."""
    number = read_number(text)
    return number is not None and number.is_integer() and 0 < number <= MAX_ROTATION


def is_side_marker(text: str | None) -> bool:
    """True for V (visitor), H (home) or N (neutral site)."""
    return (text or "").strip().upper() in SIDE_MARKERS


def is_team_code(text: str | None) -> bool:
    """True for a team code: two to four letters."""
    return bool(_TEAM_CODE.match((text or "").strip().upper()))


def is_pitcher_name(text: str | None) -> bool:
    """True for a pitcher cell: a name in letters, with or without a hand suffix ('-R')."""
    cleaned = (text or "").strip().upper()
    return bool(_PITCHER.match(cleaned)) and cleaned not in SIDE_MARKERS


_CELL_TESTS = {
    "date": read_day,
    "rotation": is_rotation_number,
    "side": is_side_marker,
    "team": is_team_code,
    "pitcher": is_pitcher_name,
    "inning": is_inning_runs,
    "final": is_final_score,
    "american_odds": is_american_odds,
    "total": is_total,
    "run_line": is_run_line,
}


# --- Column profiles -----------------------------------------------------------------------
@dataclass(frozen=True)
class ColumnProfile:
    """What a column's cells hold: counts and shares, JSON-serialisable via :meth:`as_dict`.

    ``shares`` is, per kind, the share of the counted cells that read as that kind (cells
    saying "not listed" are not counted for the numeric kinds).
    """

    cells: int
    filled: int
    not_listed: int
    distinct: int
    shares: dict[str, float]
    mean: float | None
    adjacent_pairs: int
    repeat_share: float
    step_share: float
    hand_suffix_share: float
    run_line_at_one_and_a_half: float
    examples: tuple[str, ...] = field(default=())

    def as_dict(self) -> dict[str, object]:
        """The profile as plain JSON values (shares rounded to 3 places)."""
        return {
            "cells": self.cells,
            "filled": self.filled,
            "not_listed": self.not_listed,
            "distinct": self.distinct,
            "shares": {kind: round(share, 3) for kind, share in self.shares.items()},
            "mean": None if self.mean is None else round(self.mean, 3),
            "adjacent_pairs": self.adjacent_pairs,
            "repeat_share": round(self.repeat_share, 3),
            "step_share": round(self.step_share, 3),
            "hand_suffix_share": round(self.hand_suffix_share, 3),
            "run_line_at_1.5": round(self.run_line_at_one_and_a_half, 3),
            "examples": list(self.examples),
        }


_NUMERIC_KINDS = frozenset({"american_odds", "total", "run_line"})


def profile_column(blocks: Sequence[Sequence[str | None]]) -> ColumnProfile:
    """Profile one column from blocks of adjacent cells (adjacent-row patterns stay in a block)."""
    values = [cell.strip() for block in blocks for cell in block if cell and cell.strip()]
    counts = Counter(values)  # each distinct value is read once
    listed = Counter({value: n for value, n in counts.items() if not is_not_listed(value)})
    shares: dict[str, float] = {}
    for kind, test in _CELL_TESTS.items():
        counted = listed if kind in _NUMERIC_KINDS else counts
        hits = sum(n for value, n in counted.items() if test(value))
        total = counted.total()
        shares[kind] = hits / total if total else 0.0
    numbers: Counter[float] = Counter()
    for value, n in listed.items():
        if (number := read_number(value)) is not None:
            numbers[number] += n
    run_lines: Counter[float] = Counter()
    for number, n in numbers.items():
        if 0 < abs(number) <= MAX_RUN_LINE:
            run_lines[abs(number)] += n
    pairs = repeats = steps = 0
    for block in blocks:
        for first, second in itertools.pairwise(block):
            if not (first and first.strip() and second and second.strip()):
                continue
            pairs += 1
            repeats += first.strip() == second.strip()
            first_number, second_number = read_number(first), read_number(second)
            steps += (
                first_number is not None
                and second_number is not None
                and second_number == first_number + 1
            )
    return ColumnProfile(
        cells=sum(len(block) for block in blocks),
        filled=len(values),
        not_listed=len(values) - listed.total(),
        distinct=len(counts),
        shares=shares,
        mean=(
            sum(number * n for number, n in numbers.items()) / numbers.total()
            if numbers.total()
            else None
        ),
        adjacent_pairs=pairs,
        repeat_share=repeats / pairs if pairs else 0.0,
        step_share=steps / pairs if pairs else 0.0,
        hand_suffix_share=(
            sum(n for value, n in counts.items() if _HAND_SUFFIX.search(value.upper()))
            / len(values)
            if values
            else 0.0
        ),
        run_line_at_one_and_a_half=(
            run_lines[COMMON_RUN_LINE] / run_lines.total() if run_lines.total() else 0.0
        ),
        examples=tuple(counts)[:3],
    )


def evidence_count(profile: ColumnProfile, kind: str) -> int:
    """How many cells the fit of ``kind`` was measured on."""
    return profile.filled - profile.not_listed if kind in _NUMERIC_KINDS else profile.filled


def kind_fit(profile: ColumnProfile, kind: str) -> float:
    """How well a column holds values of ``kind``: 0 (not at all) to 1 (every cell).

    The share of cells that read as the kind, halved where the column's pattern contradicts
    it (see :func:`pattern_contradicts`).
    """
    fit = profile.shares.get(kind, 0.0)
    return fit * MISMATCH_FACTOR if pattern_contradicts(profile, kind) else fit


def pattern_contradicts(profile: ColumnProfile, kind: str) -> bool:
    """True when the column as a whole does not behave like a column of ``kind``.

    A date repeats down a day's rows; a rotation counts up by one from visitor to home row
    and does not repeat; innings average under 1.6 runs and finals over 2; run lines are
    mostly 1.5; a team column has few distinct codes; a pitcher column has hand suffixes or
    names that do not look like team codes.
    """
    enough_pairs = profile.adjacent_pairs >= MIN_ADJACENT_PAIRS
    mean = profile.mean
    many_cells = profile.filled >= MIN_CELLS_FOR_DISTINCT_TEST
    if kind == "date":
        return enough_pairs and profile.repeat_share < MIN_DATE_REPEAT_SHARE
    if kind == "rotation":
        return enough_pairs and (
            profile.step_share < MIN_ROTATION_STEP_SHARE
            or profile.repeat_share >= MIN_DATE_REPEAT_SHARE
        )
    if kind == "inning":
        return mean is not None and mean > MAX_MEAN_RUNS_OF_AN_INNING
    if kind == "final":
        return mean is not None and mean < MIN_MEAN_RUNS_OF_A_FINAL
    if kind == "run_line":
        return profile.run_line_at_one_and_a_half < MIN_RUN_LINE_AT_ONE_AND_A_HALF
    if kind == "team":
        return many_cells and profile.distinct > MAX_DISTINCT_TEAM_CODES
    if kind == "pitcher":
        few_names = many_cells and profile.distinct <= MAX_DISTINCT_TEAM_CODES
        team_like = profile.shares.get("team", 0.0) >= 0.5
        return profile.hand_suffix_share < 0.5 and (team_like or few_names)
    return False


def adjacent_blocks(
    rows: Sequence[Sequence[str | None]], column: int, block_count: int, block_size: int
) -> list[list[str | None]]:
    """Up to ``block_count`` evenly spread blocks of ``block_size`` adjacent cells of a column."""

    def cell(row: Sequence[str | None]) -> str | None:
        return row[column] if column < len(row) else None

    if len(rows) <= block_count * block_size:
        return [[cell(row) for row in rows]]
    stride = len(rows) // block_count
    return [
        [cell(row) for row in rows[start : start + block_size]]
        for start in range(0, stride * block_count, stride)
    ]


def read_datetime_cell(value: object) -> str | None:
    """An Excel date cell as ISO text (a time of midnight dropped); other values as None."""
    if isinstance(value, datetime):
        return (
            value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat()
        )
    if isinstance(value, date):
        return value.isoformat()
    return None
