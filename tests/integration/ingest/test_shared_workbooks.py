"""Every shared SBRO workbook through the real pipeline, ingested once for the module: each game
row is curated or quarantined (checked by a separate parser), and each workbook re-saved by
openpyxl under a generated header variant (fixed seed) ingests to the same curated games and
odds as the original."""

import hashlib
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from app.db.session import get_engine, session_scope
from app.ingest.runner import FileReport
from app.ingest.sources import ingest
from tests.conftest import fresh_database
from tests.shared_data import SHARED_SBRO, needs_shared_data

pytestmark = pytest.mark.integration

SAMPLE_DIR = Path(__file__).resolve().parents[3] / "data" / "sample"
SEED = 2020
SEPARATORS = ("", " ", "  ", "_", "-", ".", "/")
# Curated rows without their ids and timestamps, odds keyed by their game's natural key.
GAMES_SQL = "SELECT to_jsonb(g) - 'id' - 'updated_at' FROM games g ORDER BY g.game_key"
ODDS_SQL = (
    "SELECT g.game_key, to_jsonb(o) - 'id' - 'game_id' - 'updated_at' FROM odds o"
    " JOIN games g ON g.id = o.game_id ORDER BY g.game_key, o.book"
)


def _workbook_paths() -> list[Path]:
    paths = sorted(SHARED_SBRO.glob("mlb-odds-*.xlsx")) if SHARED_SBRO.is_dir() else []
    paths += sorted(SAMPLE_DIR.glob("mlb-odds-*.xlsx"))
    by_content: dict[str, Path] = {}
    for path in paths:
        by_content.setdefault(hashlib.sha256(path.read_bytes()).hexdigest(), path)
    return sorted(by_content.values(), key=lambda path: path.name)


def restyle(text: str, rng: random.Random) -> str:
    """The same header written another way: separators, case, O/U, surrounding spaces."""
    words = text.split()
    if rng.random() < 0.5:
        words = [word.replace("OU", "O/U") for word in words]
    styled = rng.choice(SEPARATORS).join(words)
    styled = rng.choice((str, str.upper, str.lower, str.title, str.swapcase))(styled)
    return rng.choice(("", " ")) + styled + rng.choice(("", "  "))


def header_variant(header: list[str | None], rng: random.Random) -> list[str | None]:
    """Names restyled; price headers blank, unnamed or repeating their line; one name lost."""
    cells: list[str | None] = []
    for column, text in enumerate(header):
        if text is None:  # a price column: the archives leave its header empty
            line = header[column - 1] or ""
            cells.append(rng.choice([None, f"Unnamed: {column}", " ", restyle(line, rng)]))
        else:
            cells.append(restyle(text, rng))
    lost = rng.randrange(len(header))
    cells[lost] = rng.choice([None, f"Unnamed: {lost}"])
    return cells


def _resave_with_variant(path: Path, folder: Path, rng: random.Random) -> list[str | None]:
    """Copy the workbook's values with openpyxl (streamed both ways), header row rewritten."""
    source = load_workbook(path, read_only=True)
    try:
        rows = list(source.worksheets[0].iter_rows(values_only=True))
    finally:
        source.close()
    variant = header_variant(list(rows[0]), rng)
    copy = Workbook(write_only=True)
    sheet = copy.create_sheet()
    sheet.append(variant)
    for row in rows[1:]:
        sheet.append(row)
    folder.mkdir(parents=True, exist_ok=True)
    copy.save(folder / path.name)
    return variant


def _curated(url: str) -> tuple[list, list]:
    with get_engine(url).connect() as connection:
        games = [row[0] for row in connection.execute(sa.text(GAMES_SQL))]
        odds = [tuple(row) for row in connection.execute(sa.text(ODDS_SQL))]
    return games, odds


def _ingest(url: str, paths: list[Path]) -> tuple[list[FileReport], tuple[list, list]]:
    with session_scope(url) as session:
        reports = ingest(session, "sbro", paths)
    return reports, _curated(url)


@dataclass(frozen=True)
class Ingested:
    database_url: str
    paths: list[Path]
    reports: list[FileReport]
    rows: tuple[list, list]


@pytest.fixture(scope="module")
def originals(service_urls: dict[str, str]) -> Iterator[Ingested]:
    """Every distinct shared (and sample) workbook ingested once, in a database of its own."""
    with fresh_database(service_urls["BULLPEN_DATABASE_URL"]) as url:
        paths = _workbook_paths()
        reports, rows = _ingest(url, paths)
        yield Ingested(url, paths, reports, rows)


def _shared_rows(url: str, sql: str, **params: object) -> list:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.text(sql), params).all()


@needs_shared_data
def test_every_sbro_game_row_of_every_shared_workbook_is_curated_or_quarantined(
    originals: Ingested,
) -> None:
    url = originals.database_url
    shared = {path.name for path in SHARED_SBRO.glob("mlb-odds-20*.xlsx")}
    assert len(shared) == 10
    for path, report in zip(originals.paths, originals.reports, strict=True):
        # A deliberately simple, separate reading: every row whose VH cell is V, H or N.
        sheet = load_workbook(path, read_only=True).worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        side = [str(name).strip() for name in next(rows)].index("VH")
        game_rows = {
            number
            for number, values in enumerate(rows, start=2)
            if str(values[side]).strip().upper() in {"V", "H", "N"}
        }
        homes = sum(1 for _ in game_rows)  # two rows a game
        accounted = {
            number
            for (number,) in _shared_rows(
                url,
                "SELECT r.row_number FROM raw_sbro_rows r JOIN ingested_files f ON f.id = r.file_id"
                " WHERE f.file_name = :name AND (r.id IN (SELECT visitor_row_id FROM"
                " staging_sbro_games UNION ALL SELECT home_row_id FROM staging_sbro_games)"
                " OR EXISTS (SELECT 1 FROM"
                " quarantine q WHERE q.file_id = f.id AND q.action = 'rejected'"
                " AND r.row_number = ANY(q.row_numbers)))",
                name=path.name,
            )
        }
        assert game_rows <= accounted, f"{path.name}: rows {sorted(game_rows - accounted)[:5]}"
        rejected_rows = sum(
            n
            for (n,) in _shared_rows(
                url,
                "SELECT cardinality(q.row_numbers) FROM quarantine q JOIN ingested_files f"
                " ON f.id = q.file_id WHERE f.file_name = :name AND q.action = 'rejected'",
                name=path.name,
            )
        )
        assert homes == 2 * report.games_curated + rejected_rows, path.name
    assert shared <= {path.name for path in originals.paths}


def test_header_variants_ingest_to_the_same_curated_rows(
    originals: Ingested, clean_database: str, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    variants = {
        path.name: _resave_with_variant(path, tmp_path / "variants", rng)
        for path in originals.paths
    }
    resaved = [tmp_path / "variants" / path.name for path in originals.paths]
    original_reports, original_rows = originals.reports, originals.rows
    variant_reports, variant_rows = _ingest(clean_database, resaved)

    assert len(original_rows[0]) > 2400 * len(originals.paths)
    for before, after in zip(original_reports, variant_reports, strict=True):
        name = Path(before.path).name
        assert not after.skipped_unchanged, name
        assert (after.games_curated, after.quarantined, after.corrections) == (
            before.games_curated,
            before.quarantined,
            before.corrections,
        ), f"{name} with header {variants[name]}"
    assert variant_rows[0] == original_rows[0]
    assert variant_rows[1] == original_rows[1]
