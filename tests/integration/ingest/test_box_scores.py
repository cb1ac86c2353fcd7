"""Team box scores, pitcher decisions and length in outs from the Retrosheet game logs."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db.session import get_engine, session_scope
from app.ingest.quality import quality_report
from app.ingest.retrosheet.reconcile import reconcile_seasons
from app.ingest.sources import ingest

pytestmark = pytest.mark.integration

SEASONS = (2018, 2019)


def _rows(url: str, sql: str) -> list:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.text(sql)).all()


def _state(url: str) -> dict[str, list]:
    return {
        "boxes": _rows(url, "SELECT * FROM team_box_scores ORDER BY id"),
        "games": _rows(
            url,
            "SELECT id, updated_at, winning_pitcher_id, losing_pitcher_id, saving_pitcher_id,"
            " length_outs FROM games ORDER BY id",
        ),
        "quarantine": _rows(url, "SELECT id FROM quarantine ORDER BY id"),
    }


def _quality_report(url: str, season: int) -> list[dict]:
    with session_scope(url) as session:
        return quality_report(session, season)


def _ingest(url: str, sample_dir: Path) -> None:
    # Logs first: the box scores must be filled when SBRO's curated games arrive later.
    with session_scope(url) as session:
        ingest(session, "retrosheet", [sample_dir / f"GL{season}.TXT.gz" for season in SEASONS])
    with session_scope(url) as session:
        ingest(session, "sbro", [sample_dir / f"mlb-odds-{season}.xlsx" for season in SEASONS])


def test_matched_games_get_both_box_scores_that_agree_with_the_score(
    clean_database: str, sample_dir: Path
) -> None:
    url = clean_database
    with session_scope(url) as session:
        ingest(session, "retrosheet", [sample_dir / "GL2019.TXT.gz"])
    # The log alone curates its games (results only), box scores included.
    ((boxed,),) = _rows(url, "SELECT count(DISTINCT game_id) FROM team_box_scores")
    assert boxed >= 0.99 * _rows(url, "SELECT count(*) FROM games")[0][0]
    with session_scope(url) as session:
        ingest(session, "retrosheet", [sample_dir / "GL2018.TXT.gz"])
        ingest(session, "sbro", [sample_dir / f"mlb-odds-{season}.xlsx" for season in SEASONS])

    for season in SEASONS:
        ((matched, with_both),) = _rows(
            url,
            "SELECT count(*), count(*) FILTER (WHERE (SELECT count(*) FROM team_box_scores b"
            f" WHERE b.game_id = g.id) = 2) FROM games g WHERE g.season = {season}"
            " AND g.retrosheet_game_id IS NOT NULL",
        )
        assert matched > 2300
        assert with_both / matched >= 0.99
        (report,) = _quality_report(url, season)
        assert report["box_scores"] == {
            "matched_games": matched,
            "games_with_both_sides": with_both,
            "coverage": round(with_both / matched, 6),
        }

    # Runs are the line scores' sums; they agree with the curated (SBRO) final scores.
    disagreeing = _rows(
        url,
        "SELECT count(*) FROM team_box_scores b JOIN games g ON g.id = b.game_id"
        " WHERE b.runs <> CASE b.side WHEN 'home' THEN g.home_score ELSE g.away_score END",
    )
    assert disagreeing == [(0,)]
    # Every box score comes from the raw line of the log row its game matched.
    untraced = _rows(
        url,
        "SELECT count(*) FROM team_box_scores b JOIN games g ON g.id = b.game_id"
        " LEFT JOIN staging_retrosheet_games s"
        "   ON s.game_id = g.id AND s.raw_row_id = b.raw_row_id WHERE s.id IS NULL",
    )
    assert untraced == [(0,)]

    # 2019-03-20 SEA 9 at OAK 7 in Tokyo: the first line of GL2019.
    ((winner, loser, saver, outs),) = _rows(
        url,
        "SELECT winning_pitcher_id, losing_pitcher_id, saving_pitcher_id, length_outs"
        " FROM games WHERE retrosheet_game_id = 'OAK201903200'",
    )
    assert (winner, loser, saver, outs) == ("gonzm005", "fierm001", "strih001", 54)
    boxes = {
        side: (runs, at_bats, hits, home_runs, team_er, putouts, assists)
        for side, runs, at_bats, hits, home_runs, team_er, putouts, assists in _rows(
            url,
            "SELECT side, runs, at_bats, hits, home_runs, team_earned_runs, putouts, assists"
            " FROM team_box_scores b JOIN games g ON g.id = b.game_id"
            " WHERE g.retrosheet_game_id = 'OAK201903200'",
        )
    }
    assert boxes == {"away": (9, 31, 7, 2, 6, 27, 11), "home": (7, 35, 9, 3, 9, 27, 4)}
    # Games with a decision: every one has a winner and a loser.
    assert _rows(
        url,
        "SELECT count(*) FROM games WHERE retrosheet_game_id IS NOT NULL"
        " AND (winning_pitcher_id IS NULL OR losing_pitcher_id IS NULL OR length_outs IS NULL)",
    ) == [(0,)]


def test_a_second_ingest_changes_no_box_score(clean_database: str, sample_dir: Path) -> None:
    url = clean_database
    _ingest(url, sample_dir)
    before = _state(url)
    assert len(before["boxes"]) > 9000
    _ingest(url, sample_dir)  # the same files again: skipped
    assert _state(url) == before
    with session_scope(url) as session:  # a forced re-match rewrites nothing either
        reconcile_seasons(session, SEASONS)
    assert _state(url) == before
