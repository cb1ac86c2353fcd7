"""Corrected files update their games; unseen seasons ingest with no code change."""

import gzip
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from app.db.session import get_engine, session_scope
from app.ingest.sources import ingest

pytestmark = pytest.mark.integration


def _rows(url: str, sql: str, **params: object) -> list:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.text(sql), params).all()


def test_a_corrected_workbook_updates_only_the_games_it_changes(
    clean_database: str, sample_dir: Path, tmp_path: Path
) -> None:
    url = clean_database
    original = sample_dir / "mlb-odds-2019.xlsx"
    with session_scope(url) as session:
        ingest(session, "sbro", [original])
    before = {
        key: (game_id, updated, score, close)
        for key, game_id, updated, score, close in _rows(
            url,
            "SELECT g.game_key, g.id, g.updated_at, g.home_score, o.away_ml_close FROM games g"
            " JOIN odds o ON o.game_id = g.id",
        )
    }

    workbook = load_workbook(original)
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    final, close, team = (
        header.index("Final") + 1,
        header.index("Close") + 1,
        header.index("Team") + 1,
    )
    # Rows 2/3 are the first game (visitor, home): add a run to the home side, move a price.
    home_final = sheet.cell(3, final).value
    sheet.cell(3, final).value = home_final + 10
    old_close = int(sheet.cell(2, close).value)
    new_close = old_close + 5 if old_close > 0 else old_close - 5
    sheet.cell(2, close).value = new_close
    corrected_dir = tmp_path / "corrected"
    corrected_dir.mkdir()
    workbook.save(corrected_dir / original.name)
    home_code = sheet.cell(3, team).value

    with session_scope(url) as session:
        (report,) = ingest(session, "sbro", [corrected_dir / original.name])
    assert not report.skipped_unchanged
    after = {
        key: (game_id, updated, score, close)
        for key, game_id, updated, score, close in _rows(
            url,
            "SELECT g.game_key, g.id, g.updated_at, g.home_score, o.away_ml_close FROM games g"
            " JOIN odds o ON o.game_id = g.id",
        )
    }
    assert after.keys() == before.keys()
    changed = {key for key in after if after[key] != before[key]}
    assert len(changed) == 1
    (key,) = changed
    assert after[key][0] == before[key][0]  # same id
    assert after[key][2] == home_final + 10 and after[key][3] == new_close
    assert key.startswith("2019") and home_code  # the first game of the file
    # The corrected file is traceable: its staging rows point to the same curated game.
    files = _rows(
        url,
        "SELECT count(DISTINCT s.file_id) FROM staging_sbro_games s JOIN games g"
        " ON g.id = s.game_id WHERE g.game_key = :key",
        key=key,
    )
    assert files == [(2,)]


def test_a_season_not_in_the_data_ingests_with_the_same_rules(
    clean_database: str, sample_dir: Path, tmp_path: Path
) -> None:
    url = clean_database
    workbook = tmp_path / "mlb-odds-2031.xlsx"
    # Saved again, so that its bytes differ: the same bytes under another name are one file.
    load_workbook(sample_dir / "mlb-odds-2019.xlsx").save(workbook)
    log_lines = gzip.decompress((sample_dir / "GL2019.TXT.gz").read_bytes()).splitlines(True)
    rewritten = [b'"2031' + line[len(b'"2019') :] for line in log_lines]
    assert all(line.startswith(b'"2019') for line in log_lines)
    log = tmp_path / "GL2031.TXT"
    log.write_bytes(b"".join(rewritten))

    with session_scope(url) as session:
        (sbro_report,) = ingest(session, "sbro", [workbook])
        (log_report,) = ingest(session, "retrosheet", [log])
        (original,) = ingest(session, "sbro", [sample_dir / "mlb-odds-2019.xlsx"])
    assert sbro_report.games_curated == original.games_curated
    assert sbro_report.quarantined == original.quarantined
    assert log_report.retrosheet_match_rate is not None
    assert log_report.retrosheet_match_rate >= 0.99
    by_season = dict(
        _rows(url, "SELECT season, count(*) FILTER (WHERE postseason) FROM games GROUP BY season")
    )
    assert by_season[2031] == 37  # the postseason found from the log's last date
