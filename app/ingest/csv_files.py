"""Read the CSV sources of the ingest, plain or gzip-compressed, into numbered rows."""

import csv
import gzip
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

GZIP_MAGIC = b"\x1f\x8b"


@dataclass(frozen=True)
class CsvRow:
    """One data row: its 1-based number (a header row not counted) and its fields verbatim."""

    row_number: int
    fields: tuple[str, ...]


def csv_records(data: bytes, encoding: str) -> Iterator[list[str]]:
    """The records of a CSV file, gzip-compressed or not; undecodable bytes are replaced."""
    if data[:2] == GZIP_MAGIC:
        data = gzip.decompress(data)
    return csv.reader(io.StringIO(data.decode(encoding, errors="replace"), newline=""))


def numbered_rows(records: Iterable[list[str]]) -> list[CsvRow]:
    """The records that are not blank, numbered from 1 (a blank record keeps its number)."""
    return [
        CsvRow(number, tuple(fields))
        for number, fields in enumerate(records, start=1)
        if any(field.strip() for field in fields)
    ]
