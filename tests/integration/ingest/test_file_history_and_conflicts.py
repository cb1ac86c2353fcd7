"""The file that counts is the last one ingested; sources that disagree are settled by a named
rule; a corrected final refreshes the features that depend on it."""

import gzip
import uuid
from pathlib import Path

import numpy as np
import pytest
import redis
import sqlalchemy as sa
from openpyxl import load_workbook

from app.db.session import get_engine, session_scope
from app.features.definitions import FEATURE_SET
from app.features.featureset import FeatureSet
from app.features.refresh import refresh_features
from app.features.store import FeatureStore
from app.ingest import sbro
from app.ingest.jobs import refresh_after_changed_results
from app.ingest.quality import quality_report
from app.ingest.runner import ResultsChanged
from app.ingest.sources import ingest

pytestmark = pytest.mark.integration

CURATED_ROWS = (
    "SELECT g.game_key, g.season, g.game_date, g.game_number, g.home_team, g.away_team,"
    " g.home_pitcher, g.away_pitcher, g.home_score, g.away_score, g.postseason, g.neutral_site,"
    " g.scheduled_innings, o.home_ml_open, o.away_ml_open, o.home_ml_close, o.away_ml_close,"
    " o.total_open, o.over_open, o.under_open, o.total_close, o.over_close, o.under_close,"
    " o.home_rl, o.home_rl_price, o.away_rl_price"
    " FROM games g LEFT JOIN odds o ON o.game_id = g.id ORDER BY g.game_key"
)


def _rows(url: str, sql: str, **params: object) -> list:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.text(sql), params).all()


def _corrected_copy(original: Path, folder: Path, *, home_runs: int, drop_last_game: bool) -> Path:
    """The workbook with its first game's home final raised and (optionally) its last game cut."""
    workbook = load_workbook(original)
    sheet = workbook.worksheets[0]
    header = [cell.value for cell in sheet[1]]
    final = header.index("Final") + 1
    sheet.cell(3, final).value = sheet.cell(3, final).value + home_runs  # row 3: first home row
    if drop_last_game:
        sheet.delete_rows(sheet.max_row - 1, 2)
    folder.mkdir(exist_ok=True)
    workbook.save(folder / original.name)
    return folder / original.name


def test_a_correction_can_be_undone(clean_database: str, sample_dir: Path, tmp_path: Path) -> None:
    url = clean_database
    original = sample_dir / "mlb-odds-2019.xlsx"
    corrected = _corrected_copy(original, tmp_path / "b", home_runs=10, drop_last_game=True)

    with session_scope(url) as session:
        (first,) = ingest(session, "sbro", [original])
    rows_a = _rows(url, CURATED_ROWS)
    with session_scope(url) as session:
        (b,) = ingest(session, "sbro", [corrected])
    rows_b = _rows(url, CURATED_ROWS)
    with session_scope(url) as session:
        (again,) = ingest(session, "sbro", [original])
        (unchanged,) = ingest(session, "sbro", [original])
        (forced,) = ingest(session, "sbro", [original], force=True)
        (report,) = quality_report(session, 2019)

    assert not first.reapplied and not b.reapplied
    assert len(rows_b) == len(rows_a) - 1 and rows_b != rows_a
    # the first game's final and the removed last game: two results of 2019 changed
    assert b.results_changed and b.results_changed[0].season == 2019
    assert b.results_changed[0].games == 2
    assert again.reapplied and not again.skipped_unchanged
    assert _rows(url, CURATED_ROWS) == rows_a  # the corrected values are gone
    assert unchanged.skipped_unchanged
    assert forced.reapplied and not forced.results_changed
    assert _rows(url, CURATED_ROWS) == rows_a
    history = [(run["file_name"], run["kind"], run["forced"]) for run in report["file_history"]]
    assert history == [
        ("mlb-odds-2019.xlsx", "new", False),
        ("mlb-odds-2019.xlsx", "new", False),
        ("mlb-odds-2019.xlsx", "reapplied", False),
        ("mlb-odds-2019.xlsx", "reapplied", True),
    ]
    assert [run["current"] for run in report["file_history"]] == [False, False, False, True]
    assert report["file_history"][1]["games_changed"] == 2
    # only the current file's rule firings count, once
    assert report["rules"] == _rule_counts_of_single_ingest(sample_dir)


def _rule_counts_of_single_ingest(sample_dir: Path) -> dict:
    """The rule counts the quality report gives for the 2019 workbook ingested once."""

    workbook = sbro.read_workbook(sample_dir / "mlb-odds-2019.xlsx")
    parsed = sbro.parse_workbook(workbook, 2019)
    counts: dict[str, dict] = {}
    for finding in [*parsed.rejections, *(f for g in parsed.games for f in g.findings)]:
        entry = counts.setdefault(
            finding.rule.name, {"action": finding.rule.action.value, "firings": 0, "rows": 0}
        )
        entry["firings"] += 1
        entry["rows"] += len(finding.row_numbers)
    return dict(sorted(counts.items()))


def test_finals_that_disagree_are_named_and_the_official_record_wins(
    clean_database: str, sample_dir: Path, tmp_path: Path
) -> None:
    url = clean_database
    original = sample_dir / "mlb-odds-2019.xlsx"
    conflict = "sources_final_score_disagree"
    with session_scope(url) as session:
        ingest(session, "sbro", [original])
        (log,) = ingest(session, "retrosheet", [sample_dir / "GL2019.TXT.gz"])
    official = _rows(url, "SELECT game_key, home_score, away_score FROM games ORDER BY game_key")
    # The real 2019 files disagree about a few finals already: each is named, the log's used.
    baseline = log.conflicts.get(conflict, 0)
    assert baseline == _rows(url, "SELECT count(*) FROM source_conflicts")[0][0]

    corrected = _corrected_copy(original, tmp_path / "b", home_runs=10, drop_last_game=False)
    with session_scope(url) as session:
        (report,) = ingest(session, "sbro", [corrected])
        (quality,) = quality_report(session, 2019)
    assert report.conflicts == {conflict: baseline + 1}
    assert report.retrosheet_match_rate == log.retrosheet_match_rate  # still matched
    assert not report.results_changed  # the official final did not change
    assert _rows(url, "SELECT game_key, home_score, away_score FROM games ORDER BY game_key") == (
        official
    )
    assert quality["source_conflicts"] == {conflict: baseline + 1}
    corrected_game = _rows(
        url,
        "SELECT c.values, c.winner FROM source_conflicts c JOIN games g ON g.id = c.game_id"
        " ORDER BY g.game_date, g.game_number, g.id LIMIT 1",
    )
    ((values, winner),) = corrected_game
    assert winner == "retrosheet"
    assert values["sbro"]["home"] == values["retrosheet"]["home"] + 10

    # Undone and redone: the conflict follows whichever workbook is current.
    with session_scope(url) as session:
        (undone,) = ingest(session, "sbro", [original])
        (redone,) = ingest(session, "sbro", [corrected])
        (undone_again,) = ingest(session, "sbro", [original])
    assert undone.conflicts.get(conflict, 0) == baseline
    assert redone.conflicts == {conflict: baseline + 1}
    assert undone_again.conflicts.get(conflict, 0) == baseline
    assert _rows(url, "SELECT count(*) FROM source_conflicts")[0][0] == baseline


def test_seven_inning_doubleheaders_of_2020(
    clean_database: str, sample_dir: Path, tmp_path: Path
) -> None:
    url = clean_database
    workbook = tmp_path / "mlb-odds-2020.xlsx"
    load_workbook(sample_dir / "mlb-odds-2019.xlsx").save(workbook)
    lines = gzip.decompress((sample_dir / "GL2019.TXT.gz").read_bytes()).splitlines(True)
    log = tmp_path / "GL2020.TXT"
    log.write_bytes(b"".join(b'"2020' + line[len(b'"2019') :] for line in lines))
    with session_scope(url) as session:
        ingest(session, "sbro", [workbook])
        ingest(session, "retrosheet", [log])
        (report,) = quality_report(session, 2020)
    by_number = dict(
        _rows(
            url,
            "SELECT game_number > 0 OR coalesce(right(retrosheet_game_id, 1), '0') <> '0',"
            " array_agg(DISTINCT scheduled_innings) FROM games GROUP BY 1",
        )
    )
    assert by_number == {False: [9], True: [7]}
    doubleheader_games = _rows(
        url,
        "SELECT count(*) FROM games WHERE game_number > 0"
        " OR coalesce(right(retrosheet_game_id, 1), '0') <> '0'",
    )[0][0]
    assert doubleheader_games > 0
    assert report["scheduled_innings"]["7"] == doubleheader_games


def test_a_corrected_final_refreshes_the_features_of_later_games(
    clean_database: str, sample_dir: Path, tmp_path: Path, service_urls: dict[str, str]
) -> None:
    url = clean_database
    client = redis.Redis.from_url(service_urls["BULLPEN_FEATURE_STORE_URL"])
    store = FeatureStore(
        client, FeatureSet(f"test-{uuid.uuid4().hex[:8]}", 1, FEATURE_SET.features)
    )
    original = sample_dir / "mlb-odds-2019.xlsx"
    with session_scope(url) as session:
        ingest(session, "sbro", [original])
        refresh_features(session, store, season=2019)
    ((first_date, home),) = _rows(
        url,
        "SELECT game_date, home_team FROM games WHERE season = 2019"
        " ORDER BY game_date, game_number, id LIMIT 1",
    )
    later = [
        game_id
        for (game_id,) in _rows(
            url,
            "SELECT id FROM games WHERE season = 2019 AND game_date > :day"
            " AND (home_team = :team OR away_team = :team) ORDER BY game_date LIMIT 5",
            day=first_date,
            team=home,
        )
    ]
    before = store.get_many(later).values.copy()

    corrected = _corrected_copy(original, tmp_path / "b", home_runs=10, drop_last_game=False)
    with session_scope(url) as session:
        (report,) = ingest(session, "sbro", [corrected])
        refreshed = refresh_after_changed_results(session, store, [report])
    assert report.results_changed == [ResultsChanged(2019, first_date, 1)]
    games_from_then = _rows(
        url, "SELECT count(*) FROM games WHERE season = 2019 AND game_date >= :day", day=first_date
    )[0][0]
    assert refreshed == games_from_then
    after = store.get_many(later).values
    assert not np.allclose(before, after, equal_nan=True)  # the later games' features moved
    with session_scope(url) as session:
        refresh_features(session, store, game_ids=later)
    np.testing.assert_array_equal(store.get_many(later).values, after)  # and they are current
    client.close()
