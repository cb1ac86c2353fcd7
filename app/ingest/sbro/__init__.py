"""SBRO odds workbooks: the workbook and its column layout (layout.py), typed games
(parse.py), and the ingest source that stages and curates them (source.py)."""

from app.ingest.sbro.layout import (
    COLUMN_ROLES,
    ColumnLayout,
    RawRow,
    SbroFormatError,
    Workbook,
    read_workbook,
    season_from_file_name,
)
from app.ingest.sbro.parse import (
    SbroGame,
    SbroParse,
    apply_total_layout,
    detect_total_layout,
    mark_postseason,
    parse_workbook,
    regular_season_end,
)
from app.ingest.sbro.source import SOURCE

__all__ = [
    "COLUMN_ROLES",
    "SOURCE",
    "ColumnLayout",
    "RawRow",
    "SbroFormatError",
    "SbroGame",
    "SbroParse",
    "Workbook",
    "apply_total_layout",
    "detect_total_layout",
    "mark_postseason",
    "parse_workbook",
    "read_workbook",
    "regular_season_end",
    "season_from_file_name",
]
