"""Property: an SBRO workbook parses to identical games whatever its header spelling.

Every shared workbook (and the two sample ones, always) is read once; hypothesis then rewrites
its header row in memory (spacing, case, punctuation, blank or ``Unnamed: N`` price headers,
price headers repeating their line's header, one column's header missing) and the parse must
give the same games, findings and rejections as the original header.
"""

import hashlib
from dataclasses import replace
from functools import cache
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.ingest import sbro
from tests.shared_data import SHARED_SBRO

SAMPLE_DIR = Path(__file__).resolve().parents[3] / "data" / "sample"
# A few hundred examples in all, whichever workbooks are present.
TOTAL_EXAMPLES = 200


def _workbook_paths() -> list[Path]:
    """Shared and sample workbooks, one path per distinct content (the samples are shared too)."""
    paths = sorted(SHARED_SBRO.glob("mlb-odds-*.xlsx")) if SHARED_SBRO.is_dir() else []
    paths += sorted(SAMPLE_DIR.glob("mlb-odds-*.xlsx"))
    by_content: dict[str, Path] = {}
    for path in paths:
        by_content.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), path)
    return sorted(by_content.values(), key=lambda path: path.name)


WORKBOOKS = _workbook_paths()
EXAMPLES_PER_WORKBOOK = max(20, TOTAL_EXAMPLES // len(WORKBOOKS))


def signature(result: sbro.SbroParse) -> tuple[list[dict], list[tuple]]:
    """Every game as a dict (findings as their rule names) and every rejection."""
    games = [
        {
            **{name: value for name, value in vars(game).items() if name != "findings"},
            "findings": [finding.rule.name for finding in game.findings],
        }
        for game in result.games
    ]
    rejections = [(finding.rule.name, finding.row_numbers) for finding in result.rejections]
    return games, rejections


@cache
def original(path: Path) -> tuple[sbro.Workbook, tuple[list[dict], list[tuple]], dict[int, str]]:
    """The workbook as read, its parse's signature and the role of every header column."""
    workbook = sbro.read_workbook(path)
    parsed = sbro.parse_workbook(workbook)
    roles = {
        entry["column"]: role
        for role, entry in parsed.columns.items()
        if entry.get("column") is not None
    }
    return workbook, signature(parsed), roles


SEPARATORS = ("", " ", "  ", "_", "-", ".", "/")
CASES = (str, str.upper, str.lower, str.title, str.swapcase)


@st.composite
def restyled(draw: st.DrawFn, text: str) -> str:
    """The same header written another way: case, separators, O/U, surrounding spaces."""
    words = text.split()
    if draw(st.booleans()):
        words = [word.replace("OU", "O/U") for word in words]
    styled = draw(st.sampled_from(SEPARATORS)).join(words) if len(words) > 1 else text
    styled = draw(st.sampled_from(CASES))(styled)
    return draw(st.sampled_from(("", " ", "  "))) + styled + draw(st.sampled_from(("", " ")))


@st.composite
def header_variant(
    draw: st.DrawFn, header: tuple[str | None, ...], roles: dict[int, str]
) -> tuple[str | None, ...]:
    """A rewritten header row: every name restyled, price headers varied, one name maybe lost."""
    cells: list[str | None] = []
    for column, text in enumerate(header):
        role = roles.get(column, "")
        if role.endswith("_price"):
            line_header = header[column - 1] or ""
            choice = draw(st.sampled_from(("none", "empty", "unnamed", "repeat")))
            cells.append(
                {
                    "none": None,
                    "empty": " ",
                    "unnamed": f"Unnamed: {column}",
                    "repeat": draw(restyled(line_header)) if line_header else None,
                }[choice]
            )
        else:
            cells.append(draw(restyled(text)) if text else text)
    missing = draw(st.none() | st.sampled_from(sorted(roles)))
    if missing is not None:
        cells[missing] = draw(st.sampled_from((None, f"Unnamed: {missing}", "")))
    return tuple(cells)


@pytest.mark.parametrize("path", WORKBOOKS, ids=lambda path: path.name)
@settings(
    max_examples=EXAMPLES_PER_WORKBOOK,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_header_variants_parse_to_identical_games(path: Path, data: st.DataObject) -> None:
    workbook, expected, roles = original(path)
    header = data.draw(header_variant(workbook.header, roles), label="header")
    parsed = sbro.parse_workbook(replace(workbook, header=header))
    assert signature(parsed) == expected
    assert {entry["decided_by"] for entry in parsed.columns.values()} <= {
        "header",
        "content",
        "position",
        "absent",
    }


def test_the_property_runs_on_every_workbook_present() -> None:
    names = {path.name for path in WORKBOOKS}
    assert {"mlb-odds-2018.xlsx", "mlb-odds-2019.xlsx"} <= names
    if SHARED_SBRO.is_dir():
        assert len(names) == len(list(SHARED_SBRO.glob("mlb-odds-*.xlsx")))
    assert EXAMPLES_PER_WORKBOOK * len(WORKBOOKS) >= 200
