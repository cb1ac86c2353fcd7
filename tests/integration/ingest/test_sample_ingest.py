"""Ingest the shipped sample (SBRO 2018-2019, Retrosheet 2018-2019) into PostgreSQL."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db.session import get_engine, session_scope
from app.ingest.runner import FileReport
from app.ingest.sources import ingest

pytestmark = pytest.mark.integration

SEASONS = (2018, 2019)
# Postseason games of 2019: 2 wild-card, 18 division-series, 10 LCS, 7 World Series.
POSTSEASON_2019 = 37


def _sbro_paths(sample_dir: Path) -> list[Path]:
    return [sample_dir / f"mlb-odds-{season}.xlsx" for season in SEASONS]


def _log_paths(sample_dir: Path) -> list[Path]:
    return [sample_dir / f"GL{season}.TXT.gz" for season in SEASONS]


def _ingest_all(url: str, sample_dir: Path) -> tuple[list[FileReport], list[FileReport]]:
    with session_scope(url) as session:
        return ingest(session, "sbro", _sbro_paths(sample_dir)), ingest(
            session, "retrosheet", _log_paths(sample_dir)
        )


def _scalar(url: str, sql: str, **params: object) -> object:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.text(sql), params).scalar_one()


def _snapshot(url: str) -> dict[str, object]:
    with get_engine(url).connect() as connection:
        games = connection.execute(
            sa.text(
                "SELECT id, game_key, updated_at, retrosheet_game_id, postseason "
                "FROM games ORDER BY id"
            )
        ).all()
        odds = connection.execute(sa.text("SELECT id, game_id FROM odds ORDER BY id")).all()
        counts = {
            table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()
            for table in (
                "ingested_files",
                "raw_sbro_rows",
                "raw_retrosheet_rows",
                "staging_sbro_games",
                "staging_retrosheet_games",
                "quarantine",
            )
        }
    return {"games": games, "odds": odds, "counts": counts}


def test_sample_ingest_accounts_for_every_row_and_is_idempotent(
    clean_database: str, sample_dir: Path
) -> None:
    url = clean_database
    sbro_reports, log_reports = _ingest_all(url, sample_dir)

    for report in sbro_reports:
        rejected_rows = _scalar(
            url,
            "SELECT coalesce(sum(cardinality(q.row_numbers)), 0) FROM quarantine q "
            "JOIN ingested_files f ON f.id = q.file_id "
            "WHERE f.path = :path AND q.action = 'rejected'",
            path=report.path,
        )
        # Every SBRO row is in a curated game or a rejected quarantine entry with its rule.
        assert report.raw_rows == 2 * report.games_curated + rejected_rows
        assert not report.skipped_unchanged
    assert sbro_reports[0].quarantined == {"sbro_tie_final_score": 2}
    assert sbro_reports[1].quarantined == {}
    assert sbro_reports[0].corrections["sbro_rotation_number_fixed"] == 1

    curated = sum(report.games_curated for report in sbro_reports)
    assert _scalar(url, "SELECT count(*) FROM odds WHERE book = 'sbro'") == curated
    # The other games are the logs' games the workbooks lack (results only, no prices).
    results_only = _scalar(
        url,
        "SELECT count(*) FROM games g"
        " WHERE NOT EXISTS (SELECT 1 FROM odds o WHERE o.game_id = g.id)",
    )
    assert _scalar(url, "SELECT count(*) FROM games") == curated + results_only
    assert results_only == _scalar(
        url,
        "SELECT count(*) FROM games g JOIN staging_retrosheet_games s ON s.game_id = g.id"
        " WHERE NOT EXISTS (SELECT 1 FROM staging_sbro_games b WHERE b.game_id = g.id)",
    )
    assert results_only <= 0.01 * curated

    for report in log_reports:
        assert report.retrosheet_match_rate is not None
        assert report.retrosheet_match_rate >= 0.99
    regular_2019 = "FROM games WHERE season = 2019 AND NOT postseason"
    matched = _scalar(url, f"SELECT count(*) {regular_2019} AND retrosheet_game_id IS NOT NULL")
    assert matched / _scalar(url, f"SELECT count(*) {regular_2019}") >= 0.99
    assert (
        _scalar(url, "SELECT count(*) FROM games WHERE season = 2019 AND postseason")
        == POSTSEASON_2019
    )

    before = _snapshot(url)
    again_sbro, again_logs = _ingest_all(url, sample_dir)
    assert all(report.skipped_unchanged for report in again_sbro + again_logs)
    assert _snapshot(url) == before


def test_curated_games_trace_back_to_raw_rows(clean_database: str, sample_dir: Path) -> None:
    url = clean_database
    _ingest_all(url, sample_dir)

    untraced = _scalar(
        url,
        "SELECT count(*) FROM games g WHERE NOT EXISTS ("
        " SELECT 1 FROM staging_sbro_games s"
        " JOIN raw_sbro_rows v ON v.id = s.visitor_row_id"
        " JOIN raw_sbro_rows h ON h.id = s.home_row_id"
        " WHERE s.game_id = g.id) AND NOT EXISTS ("
        " SELECT 1 FROM staging_retrosheet_games s"
        " JOIN raw_retrosheet_rows r ON r.id = s.raw_row_id WHERE s.game_id = g.id)",
    )
    assert untraced == 0

    # 2018-05-18 CUB at CIN: the home row's rotation 907 was repaired to 908.
    with get_engine(url).connect() as connection:
        visitor_cells, home_cells, file_name = connection.execute(
            sa.text(
                "SELECT v.cells, h.cells, f.file_name FROM games g"
                " JOIN staging_sbro_games s ON s.game_id = g.id"
                " JOIN raw_sbro_rows v ON v.id = s.visitor_row_id"
                " JOIN raw_sbro_rows h ON h.id = s.home_row_id"
                " JOIN ingested_files f ON f.id = s.file_id"
                " WHERE g.game_key = '20180518-CIN-CHN-0'"
            )
        ).one()
        assert file_name == "mlb-odds-2018.xlsx"
        assert visitor_cells[1:4] == ["907", "V", "CUB"]
        assert home_cells[1:4] == ["907", "H", "CIN"]
        rule, rows = connection.execute(
            sa.text(
                "SELECT rule, row_numbers FROM quarantine WHERE game_key = '20180518-CIN-CHN-0'"
            )
        ).one()
        assert (rule, rows) == ("sbro_rotation_number_fixed", [1288, 1289])

        # Retrosheet enrichment traces to its game-log line too.
        log_fields, pitcher_id, game_id_text = connection.execute(
            sa.text(
                "SELECT r.fields, g.home_pitcher_id, g.retrosheet_game_id FROM games g"
                " JOIN staging_retrosheet_games s ON s.game_id = g.id"
                " JOIN raw_retrosheet_rows r ON r.id = s.raw_row_id"
                " WHERE g.game_key = '20180518-CIN-CHN-0'"
            )
        ).one()
        assert game_id_text == "CIN201805180"
        assert log_fields[0] == "20180518" and log_fields[103] == pitcher_id

        tie = connection.execute(
            sa.text("SELECT raw FROM quarantine WHERE rule = 'sbro_tie_final_score' LIMIT 1")
        ).scalar_one()
        assert len(tie) == 2 and tie[0]["cells"][2] == "V"


def test_retrosheet_before_sbro_matches_when_the_games_arrive(
    clean_database: str, sample_dir: Path
) -> None:
    url = clean_database
    with session_scope(url) as session:
        (log_report,) = ingest(session, "retrosheet", [sample_dir / "GL2019.TXT.gz"])
    # The log alone curates its season (results only); the workbook then prices those games.
    assert log_report.games_curated == log_report.results_only == 2429
    assert _scalar(url, "SELECT count(*) FROM staging_retrosheet_games") == 2429

    with session_scope(url) as session:
        (sbro_report,) = ingest(session, "sbro", [sample_dir / "mlb-odds-2019.xlsx"])
    assert sbro_report.retrosheet_match_rate is not None
    assert sbro_report.retrosheet_match_rate >= 0.99
    assert (
        _scalar(url, "SELECT count(*) FROM games WHERE season = 2019 AND postseason")
        == POSTSEASON_2019
    )
