"""A season with results but no odds archive is a season: its game log curates the games, a
workbook ingested later prices those same games, and a second source's disagreeing final is
named by the same rule."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from app.db.session import get_engine, session_scope
from app.ingest.quality import format_report, quality_report
from app.ingest.sources import ingest
from tests.conftest import fresh_database
from tests.gamelogs import shifted_game_log
from tests.integration.ingest.test_file_history_and_conflicts import _corrected_copy

pytestmark = pytest.mark.integration

LOG_GAMES_2019 = 2429  # lines of the shipped GL2019 (regular season)
CONFLICT = "sources_final_score_disagree"


def _rows(url: str, sql: str, **params: object) -> list:
    with get_engine(url).connect() as connection:
        return connection.execute(sa.text(sql), params).all()


def _count(url: str, sql: str) -> int:
    return _rows(url, sql)[0][0]


def test_a_game_log_alone_curates_its_season(clean_database: str, sample_dir: Path) -> None:
    url = clean_database
    with session_scope(url) as session:
        (report,) = ingest(session, "retrosheet", [sample_dir / "GL2019.TXT.gz"])
        (quality,) = quality_report(session, 2019)

    assert report.raw_rows == report.games_curated == LOG_GAMES_2019
    assert report.results_only == LOG_GAMES_2019
    assert f"{LOG_GAMES_2019} games curated ({LOG_GAMES_2019} results only" in report.summary()
    assert _count(url, "SELECT count(*) FROM games WHERE season = 2019") == LOG_GAMES_2019
    assert _count(url, "SELECT count(*) FROM odds") == 0
    # Every field the issue lists, from the log: teams, date, number, score, starters, park,
    # day/night; and the box scores and decisions the features read.
    incomplete = _count(
        url,
        "SELECT count(*) FROM games WHERE home_score IS NULL OR away_score IS NULL"
        " OR home_pitcher_id IS NULL OR away_pitcher_id IS NULL OR home_pitcher IS NULL"
        " OR park_id IS NULL OR day_night IS NULL OR retrosheet_game_id IS NULL"
        " OR winning_pitcher_id IS NULL",
    )
    assert incomplete == 0
    assert _count(url, "SELECT count(DISTINCT game_id) FROM team_box_scores") > 0.99 * (
        LOG_GAMES_2019
    )
    # Both starting lineups, nine a side, in batting order, with the scorer's positions.
    lineups = _rows(
        url,
        "SELECT l.side, l.batting_order, l.player_id, l.player_name, l.position FROM game_lineups l"
        " JOIN games g ON g.id = l.game_id WHERE g.retrosheet_game_id = 'OAK201903200'"
        " ORDER BY l.side DESC, l.batting_order",
    )
    assert len(lineups) == 18
    assert lineups[0] == ("home", 1, "laurr001", "Ramon Laureano", 8)
    assert lineups[9] == ("away", 1, "gordd002", "Dee Gordon", 4)
    assert _count(url, "SELECT count(*) FROM game_lineups") == 18 * LOG_GAMES_2019
    doubleheaders = _count(url, "SELECT count(*) FROM games WHERE game_number > 0")
    assert doubleheaders > 0
    # The season's first game (Tokyo): the log's own number, score and starter's name.
    (game,) = _rows(
        url,
        "SELECT g.game_key, g.home_score, g.away_score, g.home_pitcher, s.home_pitcher_name"
        " FROM games g JOIN staging_retrosheet_games s ON s.game_id = g.id"
        " WHERE s.retrosheet_game_id = 'OAK201903200'",
    )
    assert game[0] == "20190320-OAK-SEA-0" and (game[1], game[2]) == (7, 9)
    assert game[3] == game[4]
    assert quality["games_curated"] == LOG_GAMES_2019
    assert quality["games_by_source"] == {"retrosheet": LOG_GAMES_2019}
    assert quality["games_with_prices"] == 0
    assert "Games by source: retrosheet " in format_report(quality)

    # The same log again changes nothing.
    with session_scope(url) as session:
        (again,) = ingest(session, "retrosheet", [sample_dir / "GL2019.TXT.gz"])
    assert again.skipped_unchanged
    assert _count(url, "SELECT count(*) FROM games") == LOG_GAMES_2019


def test_a_later_workbook_prices_the_same_games(
    clean_database: str, sample_dir: Path, service_urls: dict[str, str]
) -> None:
    url = clean_database
    with session_scope(url) as session:
        ingest(session, "retrosheet", [sample_dir / "GL2019.TXT.gz"])
    before = dict(_rows(url, "SELECT retrosheet_game_id, id FROM games"))

    with session_scope(url) as session:
        (priced,) = ingest(session, "sbro", [sample_dir / "mlb-odds-2019.xlsx"])
        (quality,) = quality_report(session, 2019)
    # Every game of the log is still the same game (same id), now most with prices.
    logged = "SELECT retrosheet_game_id, id FROM games WHERE retrosheet_game_id IS NOT NULL"
    after = dict(_rows(url, logged))
    assert after == before
    assert priced.games_curated == _count(url, "SELECT count(*) FROM odds WHERE book = 'sbro'")
    assert priced.retrosheet_match_rate is not None and priced.retrosheet_match_rate >= 0.99
    regular = _count(url, "SELECT count(*) FROM games WHERE season = 2019 AND NOT postseason")
    priced_logs = _count(
        url,
        "SELECT count(*) FROM games g JOIN odds o ON o.game_id = g.id AND o.book = 'sbro'"
        " WHERE g.retrosheet_game_id IS NOT NULL",
    )
    assert priced_logs >= 0.99 * LOG_GAMES_2019
    assert not _rows(
        url,
        "SELECT game_date, home_team, away_team, game_number FROM games"
        " GROUP BY 1, 2, 3, 4 HAVING count(*) > 1",
    )
    assert quality["games_with_prices"] == priced.games_curated
    assert sum(quality["games_by_source"].values()) == quality["games_curated"]
    assert quality["games_by_source"]["retrosheet+sbro"] == priced_logs

    # Either order gives the same games: odds first, then the log, on a database of its own.
    # (Only the number of a doubleheader game the workbook lists out of order may differ: the
    # log's number when the log came first.)
    with fresh_database(service_urls["BULLPEN_DATABASE_URL"]) as other:
        with session_scope(other) as session:
            ingest(session, "sbro", [sample_dir / "mlb-odds-2019.xlsx"])
            ingest(session, "retrosheet", [sample_dir / "GL2019.TXT.gz"])
        games = (
            "SELECT g.game_date, g.home_team, g.away_team, g.home_score, g.away_score,"
            " g.retrosheet_game_id, o.home_ml_open, o.total_close FROM games g"
            " LEFT JOIN odds o ON o.game_id = g.id ORDER BY 1, 2, 3, 6, 4, 5"
        )
        assert _rows(other, games) == _rows(url, games)
        assert _count(other, "SELECT count(*) FROM games WHERE NOT postseason") == regular


def test_a_disagreeing_final_of_a_later_workbook_is_named(
    clean_database: str, sample_dir: Path, tmp_path: Path
) -> None:
    url = clean_database
    with session_scope(url) as session:
        (log,) = ingest(session, "retrosheet", [sample_dir / "GL2019.TXT.gz"])
    official = _rows(url, "SELECT id, home_score, away_score FROM games ORDER BY id")
    assert not log.conflicts

    original = sample_dir / "mlb-odds-2019.xlsx"
    with session_scope(url) as session:
        (clean,) = ingest(session, "sbro", [original])
    baseline = clean.conflicts.get(CONFLICT, 0)  # the real files disagree about a few
    corrected = _corrected_copy(original, tmp_path / "b", home_runs=10, drop_last_game=False)
    with session_scope(url) as session:
        (report,) = ingest(session, "sbro", [corrected])
        (quality,) = quality_report(session, 2019)
    assert report.conflicts == {CONFLICT: baseline + 1}
    assert quality["source_conflicts"] == {CONFLICT: baseline + 1}
    # The official scorer's final stands for every game the log curated.
    logged = {game_id for game_id, *_ in official}
    now = [row for row in _rows(url, "SELECT id, home_score, away_score FROM games ORDER BY id")]
    assert [row for row in now if row[0] in logged] == official


def test_a_log_of_a_season_never_seen_curates_it(
    clean_database: str, sample_dir: Path, tmp_path: Path
) -> None:
    url = clean_database
    path = shifted_game_log(sample_dir / "GL2019.TXT.gz", 3, tmp_path)  # a "2022" log
    with session_scope(url) as session:
        (report,) = ingest(session, "retrosheet", [path])
    assert report.games_curated == LOG_GAMES_2019
    assert _count(url, "SELECT count(*) FROM games WHERE season = 2022") == LOG_GAMES_2019


def test_a_log_that_curates_nothing_says_why(clean_database: str, tmp_path: Path) -> None:
    url = clean_database
    path = tmp_path / "GL2023.TXT"
    # Two lines of the right shape whose teams no code table knows, one line cut short.
    fields = ['"20230401"', '"0"', '"Sat"', '"XXA"', '"AL"', "1", '"XXB"', '"AL"', "1", "3", "2"]
    fields += ['""'] * (161 - len(fields))
    line = ",".join(fields)
    path.write_text(f'{line}\n{line.replace("20230401", "20230402")}\n"20230403","0"\n')
    with session_scope(url) as session:
        (report,) = ingest(session, "retrosheet", [path])
    assert (report.raw_rows, report.games_curated) == (3, 0)
    summary = report.summary()
    assert summary.startswith("GL2023.TXT: 3 raw rows; 0 games curated")
    assert summary.endswith(
        "no games curated: retrosheet_unknown_team_code 2, retrosheet_wrong_field_count 1"
    ), summary
    assert _count(url, "SELECT count(*) FROM raw_retrosheet_rows") == 3
