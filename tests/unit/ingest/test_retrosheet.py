"""Retrosheet game-log parsing, its rules, and matching to curated games."""

import gzip
from datetime import date
from pathlib import Path

from app.ingest import retrosheet, rules
from app.ingest.retrosheet import CuratedGameView, RawLogRow, RetrosheetGame


def log_fields(**changes: str) -> tuple[str, ...]:
    fields = [""] * retrosheet.FIELD_COUNT
    values = {
        retrosheet.DATE: "20190401",
        retrosheet.GAME_NUMBER: "0",
        retrosheet.AWAY_TEAM: "DET",
        retrosheet.HOME_TEAM: "NYA",
        retrosheet.AWAY_SCORE: "3",
        retrosheet.HOME_SCORE: "5",
        retrosheet.LENGTH_OUTS: "51",
        retrosheet.DAY_NIGHT: "N",
        retrosheet.PARK_ID: "NYC21",
        retrosheet.ATTENDANCE: "40000",
        retrosheet.DURATION_MINUTES: "180",
        retrosheet.AWAY_PITCHER_ID: "verlj001",
        retrosheet.AWAY_PITCHER_NAME: "Justin Verlander",
        retrosheet.HOME_PITCHER_ID: "tanam001",
        retrosheet.HOME_PITCHER_NAME: "Masahiro Tanaka",
    }
    for index, value in values.items():
        fields[index] = value
    for name, value in changes.items():
        fields[getattr(retrosheet, name.upper())] = value
    return tuple(fields)


def test_a_line_becomes_a_typed_game() -> None:
    game = retrosheet.parse_game_log_row(RawLogRow(7, log_fields()))
    assert isinstance(game, RetrosheetGame)
    assert game.retrosheet_game_id == "NYA201904010"
    assert (game.game_date, game.game_number, game.season) == (date(2019, 4, 1), 0, 2019)
    assert (game.away_team, game.home_team, game.away_score, game.home_score) == (
        "DET",
        "NYA",
        3,
        5,
    )
    assert (game.day_night, game.park_id) == ("N", "NYC21")
    assert (game.away_pitcher_id, game.home_pitcher_id) == ("verlj001", "tanam001")
    assert game.row_number == 7


def test_florida_code_maps_to_miami_but_the_game_id_keeps_it() -> None:
    game = retrosheet.parse_game_log_row(RawLogRow(1, log_fields(home_team="FLO")))
    assert isinstance(game, RetrosheetGame)
    assert (game.home_team, game.home_team_code) == ("MIA", "FLO")
    assert game.retrosheet_game_id.startswith("FLO")


def test_rejection_rules() -> None:
    cases = {
        rules.RETROSHEET_FIELD_COUNT: RawLogRow(1, ("20190401", "0")),
        rules.RETROSHEET_UNKNOWN_TEAM: RawLogRow(2, log_fields(home_team="XXX")),
        rules.RETROSHEET_UNPARSEABLE: RawLogRow(3, log_fields(date="2019-04-01")),
    }
    for rule, row in cases.items():
        finding = retrosheet.parse_game_log_row(row)
        assert isinstance(finding, rules.Finding)
        assert finding.rule is rule
        assert finding.row_numbers == (row.row_number,)


def test_duplicate_game_id_is_rejected() -> None:
    games, rejections = retrosheet.parse_game_log(
        [RawLogRow(1, log_fields()), RawLogRow(2, log_fields())]
    )
    assert len(games) == 1
    assert [f.rule for f in rejections] == [rules.RETROSHEET_DUPLICATE_GAME]


def test_read_game_log_plain_and_gzip() -> None:
    line = ",".join(f'"{field}"' for field in log_fields()).encode() + b"\r\n"
    for data in (line, gzip.compress(line)):
        (row,) = retrosheet.read_game_log(data)
        assert row.row_number == 1 and len(row.fields) == 161


def _log(game_number: int, away: int, home: int) -> RetrosheetGame:
    row = RawLogRow(
        1, log_fields(game_number=str(game_number), away_score=str(away), home_score=str(home))
    )
    parsed = retrosheet.parse_game_log_row(row)
    assert isinstance(parsed, RetrosheetGame)
    return parsed


def _curated(game_id: int, game_number: int, away: int, home: int) -> CuratedGameView:
    return CuratedGameView(game_id, date(2019, 4, 1), "NYA", "DET", game_number, home, away)


def test_match_on_number_and_score_then_score_alone() -> None:
    logs = [_log(1, 3, 5), _log(2, 0, 1)]
    # SBRO numbered the doubleheader the other way round: matched on score.
    curated = [_curated(10, 1, 0, 1), _curated(11, 2, 3, 5)]
    matches = retrosheet.match_games(curated, logs)
    assert {gid: log.retrosheet_game_id for gid, log in matches.items()} == {
        10: "NYA201904012",
        11: "NYA201904011",
    }


def test_score_disagreement_leaves_the_game_unmatched() -> None:
    assert retrosheet.match_games([_curated(1, 0, 9, 9)], [_log(0, 3, 5)]) == {}


def test_sample_game_log(sample_dir: Path) -> None:
    rows = retrosheet.read_game_log(sample_dir / "GL2019.TXT.gz")
    games, rejections = retrosheet.parse_game_log(rows)
    assert len(rows) == len(games) == 2429
    assert rejections == []
    assert games[0].retrosheet_game_id == "OAK201903200"  # Tokyo opener, A's at home
    assert max(game.game_date for game in games) == date(2019, 9, 29)
