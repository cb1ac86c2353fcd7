"""Retrosheet game logs of seasons we do not have, made from one we do: every date moved.

Parsed and written by field meaning (the retrosheet.org "Game Logs" layout, the indexes of
``app.ingest.retrosheet``), never by the text of a shipped file: the date field is moved by
whole years (month and day kept), the day-of-week field recomputed, every field re-quoted.
"""

import csv
import gzip
import io
from datetime import date, datetime
from pathlib import Path

from app.ingest.retrosheet import DATE, read_game_log

DAY_OF_WEEK = 2  # "Mon".."Sun", the field after the game number


def shifted_game_log(source: Path, years: int, folder: Path, *, keep: int | None = None) -> Path:
    """``source``'s games ``years`` later, as ``folder/GLYYYY.TXT.gz`` (its first ``keep``
    games only, when given)."""
    rows = read_game_log(source)[:keep]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    season = None
    for row in rows:
        fields = list(row.fields)
        day = datetime.strptime(fields[DATE], "%Y%m%d").date()
        moved = _same_day_of_year(day, day.year + years)
        season = moved.year
        fields[DATE] = moved.strftime("%Y%m%d")
        fields[DAY_OF_WEEK] = moved.strftime("%a")
        writer.writerow(fields)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"GL{season}.TXT.gz"
    path.write_bytes(gzip.compress(out.getvalue().encode("latin-1")))
    return path


def _same_day_of_year(day: date, year: int) -> date:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February into a common year
        return day.replace(year=year, day=28)
