"""Line histories, betting splits and the quality report against a real PostgreSQL."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db.session import get_engine, session_scope
from app.ingest.lines import LinesOrderError
from app.ingest.quality import quality_report
from app.ingest.sources import ingest
from tests.shared_data import SHARED_DATA, needs_shared_data

pytestmark = pytest.mark.integration

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "splits" / "splits-2019-sample.csv"


def _rows(url: str, sql: str, **params: object) -> list:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.text(sql), params).all()


@needs_shared_data
def test_the_2016_line_history_joins_and_every_line_is_accounted_for(clean_database: str) -> None:
    url = clean_database
    with session_scope(url) as session, pytest.raises(LinesOrderError, match="sbro"):
        ingest(session, "lines", [SHARED_DATA / "pinnacle"])
    with session_scope(url) as session:
        ingest(session, "sbro", [SHARED_DATA / "sbro" / "mlb-odds-2016.xlsx"])
        ingest(session, "retrosheet", [SHARED_DATA / "retrosheet" / "GL2016.TXT.gz"])
    with session_scope(url) as session:
        (report,) = ingest(session, "lines", [SHARED_DATA / "pinnacle" / "MLB2016_lines.csv.gz"])

    assert report.line_join_rate is not None and report.line_join_rate >= 0.99
    assert report.quarantined["lines_not_a_team"] == 1  # the All-Star game
    assert report.corrections["lines_event_time_shifted"] == 2461
    ((lines, snapshots),) = _rows(
        url, "SELECT count(*), count(snapshot_id) FROM raw_line_rows WHERE part = 'lines'"
    )
    assert lines == 241_099 and snapshots == report.snapshots
    assert _rows(url, "SELECT count(*) FROM odds_snapshots")[0][0] == report.snapshots
    # A line without a snapshot is in a rejecting quarantine entry, and only then.
    ((unaccounted,),) = _rows(
        url,
        "SELECT count(*) FROM raw_line_rows r WHERE r.part = 'lines' AND r.snapshot_id IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM quarantine q WHERE q.file_id = r.file_id"
        " AND q.source = 'lines' AND q.action = 'rejected' AND r.row_number = ANY(q.row_numbers))",
    )
    assert unaccounted == 0
    game_rules = {"lines_not_a_team", "lines_game_unmatched"}
    rejected_lines = sum(n for rule, n in report.quarantined.items() if rule not in game_rules)
    assert rejected_lines == lines - report.snapshots

    # World Series game 7: first pitch 00:02 UTC on 2016-11-03; its last line just before.
    ((start, last_line),) = _rows(
        url,
        "SELECT g.start_time, max(s.captured_at) FROM games g JOIN odds_snapshots s"
        " ON s.game_id = g.id WHERE g.game_key = '20161102-CLE-CHN-0' GROUP BY g.start_time",
    )
    assert start.isoformat() == "2016-11-03T00:03:00+00:00"
    assert 0 < (start - last_line).total_seconds() < 600
    # No snapshot is taken at or after its game's first pitch.
    assert _rows(
        url,
        "SELECT count(*) FROM odds_snapshots s JOIN games g ON g.id = s.game_id"
        " WHERE s.captured_at >= g.start_time",
    ) == [(0,)]

    with session_scope(url) as session:
        (season,) = quality_report(session, 2016)
    history = season["line_history"]
    assert history["join_rate"] >= 0.99 and history["curated_coverage"] >= 0.99
    assert season["retrosheet_match_rate"] >= 0.99
    assert season["rules"]["lines_after_first_pitch"]["action"] == "rejected"

    before = _rows(url, "SELECT id, game_id, captured_at, home_ml FROM odds_snapshots ORDER BY id")
    with session_scope(url) as session:
        (again,) = ingest(session, "lines", [SHARED_DATA / "pinnacle"])
    assert again.skipped_unchanged
    assert (
        _rows(url, "SELECT id, game_id, captured_at, home_ml FROM odds_snapshots ORDER BY id")
        == before
    )


def test_betting_splits_fixture_is_curated_or_quarantined_by_rule(
    clean_database: str, sample_dir: Path
) -> None:
    url = clean_database
    with session_scope(url) as session:
        ingest(session, "sbro", [sample_dir / "mlb-odds-2019.xlsx"])
        (report,) = ingest(session, "splits", [FIXTURE])
    assert report.raw_rows == 12 and report.splits == 5 and report.games_curated == 1
    assert report.quarantined == {
        "splits_bad_captured_at": 1,
        "splits_bad_market": 1,
        "splits_bad_percent": 1,
        "splits_bad_side": 1,
        "splits_duplicate_row": 1,
        "splits_unknown_game": 1,
        "splits_unknown_team": 1,
    }
    rows = _rows(
        url,
        "SELECT s.market, s.side, s.bets_pct, s.money_pct, g.game_key FROM betting_splits s"
        " JOIN games g ON g.id = s.game_id ORDER BY s.captured_at, s.market, s.side",
    )
    assert ("total", "over", 55.0, 61.0, "20190615-CHA-NYA-0") in rows
    assert ("run_line", "home", 60.0, None, "20190615-CHA-NYA-0") in rows
    # Every raw row is a split or a quarantined row.
    assert _rows(
        url,
        "SELECT count(*) FROM raw_split_rows r WHERE r.split_id IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM quarantine q WHERE q.file_id = r.file_id"
        " AND r.row_number = ANY(q.row_numbers))",
    ) == [(0,)]
    with session_scope(url) as session:
        assert ingest(session, "splits", [FIXTURE])[0].skipped_unchanged
        (season,) = quality_report(session, 2019)
    assert season["betting_splits"] == 5
