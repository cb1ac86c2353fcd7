"""Every ingest source by name, and the one call that ingests files of any of them."""

from collections.abc import Callable, Iterable
from os import PathLike
from types import MappingProxyType

from sqlalchemy.orm import Session

from app.ingest import lines, splits
from app.ingest.retrosheet import source as retrosheet
from app.ingest.runner import FileReport, IngestSource, run_ingest
from app.ingest.sbro import source as sbro

SOURCES: MappingProxyType[str, IngestSource] = MappingProxyType(
    {
        sbro.SOURCE.name: sbro.SOURCE,
        retrosheet.SOURCE.name: retrosheet.SOURCE,
        lines.SOURCE.name: lines.SOURCE,
        splits.SOURCE.name: splits.SOURCE,
    }
)


def ingest(
    session: Session,
    source: str,
    paths: Iterable[str | PathLike[str]],
    *,
    force: bool = False,
    checkpoint: Callable[[], None] = lambda: None,
) -> list[FileReport]:
    """Ingest ``paths`` as ``source`` (sbro, retrosheet, lines, splits); one report per file.

    ``checkpoint`` is called before each file (it raises to stop)."""
    return run_ingest(session, SOURCES[source], paths, force=force, checkpoint=checkpoint)
