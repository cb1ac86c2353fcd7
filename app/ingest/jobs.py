"""Ingest as a unit of job work."""

import gzip
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict
from typing import Any

from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy.orm import Session

from app.ingest.line_history import LinesOrderError, ingest_lines
from app.ingest.lines import LinesFormatError
from app.ingest.pipeline import FileReport, ingest_retrosheet, ingest_sbro
from app.ingest.sbro import SbroFormatError
from app.ingest.splits import SplitsFormatError, ingest_splits

Ingester = Callable[[Session, Iterable[Any]], list[FileReport]]

INGESTERS: dict[str, Ingester] = {
    "sbro": ingest_sbro,
    "retrosheet": ingest_retrosheet,
    "lines": ingest_lines,
    "splits": ingest_splits,
}

# What a caller did wrong: a file of the wrong format, or ingested in the wrong order.
INGEST_USER_ERRORS: tuple[type[Exception], ...] = (
    SbroFormatError,
    LinesFormatError,
    LinesOrderError,
    SplitsFormatError,
    gzip.BadGzipFile,
    EOFError,
    zipfile.BadZipFile,
    InvalidFileException,
    UnicodeDecodeError,
)


def ingest_for_params(session: Session, params: dict[str, Any]) -> dict:
    """Ingest ``params["paths"]`` as ``params["source"]``; the per-file reports are the result."""
    reports = INGESTERS[params["source"]](session, params["paths"])
    return {"files": [asdict(report) for report in reports]}
