"""Retrosheet game-log parsing, its rules, and matching to curated games."""

import gzip
from dataclasses import replace
from datetime import date
from pathlib import Path

from app.ingest import rules
from app.ingest.csv_files import CsvRow
from app.ingest.curated import CuratedGame
from app.ingest.retrosheet import parse as retrosheet
from app.ingest.retrosheet.parse import RetrosheetGame


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
    game = retrosheet.parse_game_log_row(CsvRow(7, log_fields()))
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
    game = retrosheet.parse_game_log_row(CsvRow(1, log_fields(home_team="FLO")))
    assert isinstance(game, RetrosheetGame)
    assert (game.home_team, game.home_team_code) == ("MIA", "FLO")
    assert game.retrosheet_game_id.startswith("FLO")


def test_rejection_rules() -> None:
    cases = {
        rules.RETROSHEET_FIELD_COUNT: CsvRow(1, ("20190401", "0")),
        rules.RETROSHEET_UNKNOWN_TEAM: CsvRow(2, log_fields(home_team="XXX")),
        rules.RETROSHEET_UNPARSEABLE: CsvRow(3, log_fields(date="2019-04-01")),
    }
    for rule, row in cases.items():
        finding = retrosheet.parse_game_log_row(row)
        assert isinstance(finding, rules.Finding)
        assert finding.rule is rule
        assert finding.row_numbers == (row.row_number,)


def test_duplicate_game_id_is_rejected() -> None:
    games, rejections = retrosheet.parse_game_log(
        [CsvRow(1, log_fields()), CsvRow(2, log_fields())]
    )
    assert len(games) == 1
    assert [f.rule for f in rejections] == [rules.RETROSHEET_DUPLICATE_GAME]


def test_read_game_log_plain_and_gzip() -> None:
    line = ",".join(f'"{field}"' for field in log_fields()).encode() + b"\r\n"
    for data in (line, gzip.compress(line)):
        (row,) = retrosheet.read_game_log(data)
        assert row.row_number == 1 and len(row.fields) == 161


def _log(game_number: int, away: int, home: int) -> RetrosheetGame:
    row = CsvRow(
        1, log_fields(game_number=str(game_number), away_score=str(away), home_score=str(home))
    )
    parsed = retrosheet.parse_game_log_row(row)
    assert isinstance(parsed, RetrosheetGame)
    return parsed


def _curated(game_id: int, game_number: int, away: int, home: int) -> CuratedGame:
    return CuratedGame(game_id, date(2019, 4, 1), "NYA", "DET", game_number, home, away)


def test_match_on_number_and_score_then_score_alone() -> None:
    logs = [_log(1, 3, 5), _log(2, 0, 1)]
    # SBRO numbered the doubleheader the other way round: matched on score.
    curated = [_curated(10, 1, 0, 1), _curated(11, 2, 3, 5)]
    matches = retrosheet.match_games(curated, logs)
    assert {gid: log.retrosheet_game_id for gid, log in matches.items()} == {
        10: "NYA201904012",
        11: "NYA201904011",
    }


def test_a_score_disagreement_still_matches_the_one_game_of_that_day() -> None:
    matches = retrosheet.match_games([_curated(1, 0, 9, 8)], [_log(0, 3, 5)])
    assert {gid: log.retrosheet_game_id for gid, log in matches.items()} == {1: "NYA201904010"}


def test_a_doubleheader_with_a_disagreeing_score_matches_on_the_game_number() -> None:
    logs = [_log(1, 3, 5), _log(2, 0, 1)]
    curated = [_curated(10, 1, 4, 5), _curated(11, 2, 0, 1)]
    matches = retrosheet.match_games(curated, logs)
    assert {gid: log.retrosheet_game_id for gid, log in matches.items()} == {
        10: "NYA201904011",
        11: "NYA201904012",
    }


def test_two_games_left_of_one_matchup_with_no_score_or_number_to_tell_them_apart() -> None:
    logs = [_log(1, 3, 5), _log(2, 0, 1)]
    curated = [_curated(10, 0, 9, 8), _curated(11, 0, 7, 6)]
    assert retrosheet.match_games(curated, logs) == {}


def test_a_game_dated_a_day_off_matches_the_one_log_row_with_its_score() -> None:
    (log,) = [_log(0, 3, 5)]  # 2019-04-01
    a_day_late = replace(_curated(10, 0, 3, 5), game_date=date(2019, 4, 2))
    assert retrosheet.match_games([a_day_late], [log]) == {10: log}
    other_score = replace(_curated(11, 0, 4, 5), game_date=date(2019, 3, 31))
    two_days = replace(_curated(12, 0, 3, 5), game_date=date(2019, 4, 3))
    assert retrosheet.match_games([other_score, two_days], [log]) == {}


def test_the_starting_lineups_in_batting_order() -> None:
    fields = list(log_fields())
    for slot in range(9):
        fields[105 + 3 * slot : 108 + 3 * slot] = [f"away{slot}1", f"Away {slot}", str(slot + 1)]
        fields[132 + 3 * slot : 135 + 3 * slot] = [f"home{slot}1", f"Home {slot}", "10"]
    fields[105:108] = ["", "", ""]  # a slot without a player is left out
    entries = retrosheet.parse_lineups(CsvRow(1, tuple(fields)))
    assert len(entries) == 17
    assert entries[0] == retrosheet.LineupEntry("away", 2, "away11", "Away 1", 2)
    assert entries[-1] == retrosheet.LineupEntry("home", 9, "home81", "Home 8", 10)


def test_sample_game_log(sample_dir: Path) -> None:
    rows = retrosheet.read_game_log(sample_dir / "GL2019.TXT.gz")
    games, rejections = retrosheet.parse_game_log(rows)
    assert len(rows) == len(games) == 2429
    assert rejections == []
    assert games[0].retrosheet_game_id == "OAK201903200"  # Tokyo opener, A's at home
    assert max(game.game_date for game in games) == date(2019, 9, 29)


# --- Box scores and pitcher decisions --------------------------------------------------------


def _sample_row(sample_dir: Path, line_number: int) -> CsvRow:
    """The parsed row of a 1-based line of the 2019 sample."""
    rows = retrosheet.read_game_log(sample_dir / "GL2019.TXT.gz")
    return next(row for row in rows if row.row_number == line_number)


def _raw_line(sample_dir: Path, line_number: int) -> str:
    with gzip.open(sample_dir / "GL2019.TXT.gz", "rt", encoding="latin-1") as lines:
        return next(line for number, line in enumerate(lines, start=1) if number == line_number)


def test_box_scores_of_the_tokyo_opener(sample_dir: Path) -> None:
    raw = _raw_line(sample_dir, 1)
    # SEA 9 at OAK 7; the visitors' block starts with 31 AB, 7 H and ends with 27 PO, 11 A.
    assert (
        '"005130000","112000300",31,7,1,0,2,9,1,1,2,6,0,10,2,1,0,0,5,5,6,6,1,0,27,11,1,0,2,0,'
        in raw
    )
    assert ',35,9,3,0,3,7,0,0,0,3,0,8,0,0,2,0,4,7,9,9,2,0,27,4,0,0,0,0,"nelsj901"' in raw
    assert '"gonzm005","Marco Gonzales","fierm001","Michael Fiers","strih001"' in raw
    row = _sample_row(sample_dir, 1)

    game = retrosheet.parse_game_log_row(row)
    assert isinstance(game, RetrosheetGame)
    assert (game.winning_pitcher_id, game.losing_pitcher_id, game.saving_pitcher_id) == (
        "gonzm005",
        "fierm001",
        "strih001",
    )
    assert game.length_outs == 54

    boxes = retrosheet.parse_box_scores(row)
    assert boxes.findings == ()
    away, home = boxes.sides
    assert (away.side, away.runs, away.line_score) == ("away", 9, "005130000")
    assert list(away.stats.values()) == [
        31, 7, 1, 0, 2, 9, 1, 1, 2, 6, 0, 10, 2, 1, 0, 0, 5, 5, 6, 6, 1, 0, 27, 11, 1, 0, 2, 0
    ]  # fmt: skip
    assert (home.side, home.runs) == ("home", 7)
    assert home.stats["at_bats"] == 35
    assert home.stats["home_runs"] == 3
    assert home.stats["left_on_base"] == 4
    assert home.stats["pitchers_used"] == 7
    assert home.stats["team_earned_runs"] == 9  # the nine runs SEA scored were all earned
    assert (home.stats["putouts"], home.stats["assists"], home.stats["triple_plays"]) == (27, 4, 0)


def test_box_scores_with_a_double_digit_inning_and_an_unbatted_ninth(sample_dir: Path) -> None:
    raw = _raw_line(sample_dir, 246)
    assert '"NYN","NL",' in raw
    assert ",3,14,51," in raw
    assert '"011010000","(10)0010300x"' in raw
    away, home = retrosheet.parse_box_scores(_sample_row(sample_dir, 246)).sides
    assert (away.runs, home.runs) == (3, 14)
    assert home.line_score == "(10)0010300x"
    assert away.stats["putouts"] == 24  # PHI did not bat in the ninth


def test_no_decision_save_is_null() -> None:
    game = retrosheet.parse_game_log_row(CsvRow(1, log_fields(saving_pitcher_id="")))
    assert isinstance(game, RetrosheetGame)
    assert game.saving_pitcher_id is None


def test_line_score_runs() -> None:
    assert retrosheet.line_score_runs("005130000") == 9
    assert retrosheet.line_score_runs("1(10)0x") == 11
    assert retrosheet.line_score_runs("") is None
    assert retrosheet.line_score_runs("00a") is None


# A plausible team block (the 2019 Tokyo opener's visitors), in BOX_SCORE_STATS order.
PLAUSIBLE_BLOCK = (
    31, 7, 1, 0, 2, 9, 1, 1, 2, 6, 0, 10, 2, 1, 0, 0, 5,  # offense
    5, 6, 6, 1, 0,  # pitching
    27, 11, 1, 0, 2, 0,  # defense
)  # fmt: skip


def _box_fields(**stats: int | str) -> tuple[str, ...]:
    """A well-formed line (DET 3 at NYA 5) whose away block holds ``stats``."""
    fields = list(log_fields(away_line_score="000300000", home_line_score="01040000x"))
    for offset, name in enumerate(retrosheet.BOX_SCORE_STATS):
        fields[retrosheet.AWAY_BOX_START + offset] = str(stats.get(name, PLAUSIBLE_BLOCK[offset]))
        fields[retrosheet.HOME_BOX_START + offset] = str(PLAUSIBLE_BLOCK[offset])
    return tuple(fields)


def test_clean_box_scores_fire_no_rule() -> None:
    boxes = retrosheet.parse_box_scores(CsvRow(4, _box_fields()))
    assert boxes.findings == ()
    assert [(box.side, box.runs) for box in boxes.sides] == [("away", 3), ("home", 5)]


def test_negative_count_is_nulled() -> None:
    boxes = retrosheet.parse_box_scores(CsvRow(4, _box_fields(walks=-2)))
    assert [f.rule for f in boxes.findings] == [rules.RETROSHEET_BOX_NEGATIVE]
    assert boxes.findings[0].row_numbers == (4,)
    assert boxes.sides[0].stats["walks"] is None
    assert boxes.sides[0].stats["hits"] == 7


def test_unreadable_count_is_nulled() -> None:
    boxes = retrosheet.parse_box_scores(CsvRow(4, _box_fields(errors="")))
    assert [f.rule for f in boxes.findings] == [rules.RETROSHEET_BOX_UNREADABLE]
    assert boxes.sides[0].stats["errors"] is None


def test_fewer_hits_than_home_runs_nulls_the_hit_counts() -> None:
    boxes = retrosheet.parse_box_scores(CsvRow(4, _box_fields(hits=2, home_runs=3)))
    assert [f.rule for f in boxes.findings] == [rules.RETROSHEET_BOX_HITS_INCONSISTENT]
    stats = boxes.sides[0].stats
    assert [stats[name] for name in ("hits", "doubles", "triples", "home_runs")] == [None] * 4
    assert stats["at_bats"] == 31


def test_line_score_disagreeing_with_the_final_drops_that_side() -> None:
    fields = list(_box_fields())
    fields[retrosheet.HOME_LINE_SCORE] = "01040001x"  # 6 runs, final says 5
    boxes = retrosheet.parse_box_scores(CsvRow(4, tuple(fields)))
    assert [f.rule for f in boxes.findings] == [rules.RETROSHEET_BOX_RUNS_DISAGREE]
    assert [box.side for box in boxes.sides] == ["away"]


def test_every_2019_sample_game_has_clean_box_scores(sample_dir: Path) -> None:
    rows = retrosheet.read_game_log(sample_dir / "GL2019.TXT.gz")
    parsed = [retrosheet.parse_box_scores(row) for row in rows]
    assert [finding for boxes in parsed for finding in boxes.findings] == []
    for row, boxes in zip(rows, parsed, strict=True):
        away, home = boxes.sides
        assert (away.runs, home.runs) == (int(row.fields[9]), int(row.fields[10]))
        # Each team's putouts are the outs its pitchers recorded; together, the game's length.
        assert away.stats["putouts"] + home.stats["putouts"] == int(row.fields[11])  # type: ignore[operator]
