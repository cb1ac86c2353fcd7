"""Header normalisation and content recognition shared by the ingest sources."""

from datetime import date

import pytest

from app.ingest import headers, lines, splits
from app.ingest.headers import kind_fit, normalise_header, profile_column


@pytest.mark.parametrize(
    "cell", ["Open OU", "OpenOU", "open_ou", "OPEN-OU", " open  o/u ", "Open.OU", "Open OU.1"]
)
def test_spellings_of_one_header_normalise_alike(cell: str) -> None:
    assert normalise_header(cell) == "openou"


@pytest.mark.parametrize(
    "cell", [None, "", "   ", "Unnamed: 18", "unnamed:3", "Unnamed: 0_level_1"]
)
def test_empty_and_pandas_unnamed_cells_name_nothing(cell: str | None) -> None:
    assert normalise_header(cell) == ""
    assert headers.is_blank_header(cell)


def test_digits_and_ordinals_survive_normalisation() -> None:
    assert normalise_header("1st") == "1st"
    assert normalise_header(" 9 ") == "9"
    assert normalise_header("Rot #") == "rot"


def test_find_columns_by_alias_and_reports_what_is_missing() -> None:
    header = [" Game_IDX ", "Away Team", "HOME-TEAM", "Unnamed: 3"]
    columns = {
        "game_idx": ("game_idx",),
        "away": ("AwayTeam",),
        "home": ("HomeTeam",),
        "score": ("FinalScoreHome",),
    }
    found, missing = headers.find_columns(header, columns)
    assert found == {"game_idx": 0, "away": 1, "home": 2}
    assert missing == ["score"]


def test_describe_header_is_one_line_with_blanks_marked() -> None:
    described = headers.describe_header(["Date", None, "Open\nOU", "Unnamed: 3", None])
    assert described == "Date, <blank>, Open OU"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("404", date(2020, 4, 4)),
        ("1101", date(2020, 11, 1)),
        ("2020-07-23", date(2020, 7, 23)),
        ("2020-07-23 00:00:00", date(2020, 7, 23)),
        ("7/23", date(2020, 7, 23)),
        ("7/23/2020", date(2020, 7, 23)),
        ("44035", date(2020, 7, 23)),  # an Excel serial day
        ("1341", None),
        ("2019-07-23", None),  # another season
        ("x", None),
        (None, None),
    ],
)
def test_read_day_accepts_mdd_excel_and_iso_dates(cell: str | None, expected: date | None) -> None:
    assert headers.read_day(cell, 2020) == expected


def test_read_number_reads_half_glyphs() -> None:
    assert headers.read_number("8½") == 8.5
    assert headers.read_number("-1½") == -1.5
    assert headers.read_number("pk") is None


def _column(values: list[str | None]) -> headers.ColumnProfile:
    return profile_column([values])


COLUMNS = {
    "american_odds": ["-110", "120", "-135", "NL", "105", "-105", "pk", "150"],
    "total": ["8.5", "8.5", "9", "9", "7½", "7½", "10", "10"],
    "run_line": ["-1.5", "1.5", "1.5", "-1.5", "-1.5", "1.5", "2.5", "-2.5"],
    "inning": ["0", "1", "0", "x", "2", "0", "0", "1"],
    "final": ["3", "5", "2", "7", "4", "6", "1", "9"],
    "side": ["V", "H", "V", "H", "N", "N", "v", "h"],
    "team": ["NYY", "BOS", "CHW", "KC", "SD", "SF", "TB", "WSH"],
    "pitcher": ["GCOLE-R", "CSALE-L", "JDEGROM-R", "CKERSHAW-L", "MFRIED", "ZDAVIES-R"],
    "date": ["723", "723", "723", "723", "724", "724", "2020-07-25", "7/26"],
}


@pytest.mark.parametrize("kind", list(COLUMNS))
def test_each_kind_of_column_is_recognised_by_its_content(kind: str) -> None:
    profile = _column(COLUMNS[kind])
    fits = {other: kind_fit(profile, other) for other in headers.KINDS}
    assert fits[kind] >= 0.75, fits
    best = max(fits, key=lambda other: fits[other])
    assert fits[best] == fits[kind]


def test_rotation_and_date_columns_are_told_apart_by_their_pattern() -> None:
    rotations = [str(901 + n) for n in range(30)]  # every one also a September day
    dates = ["921"] * 30
    assert kind_fit(_column(rotations), "rotation") == 1.0
    assert kind_fit(_column(rotations), "date") < 0.75
    assert kind_fit(_column(dates), "date") == 1.0
    assert kind_fit(_column(dates), "rotation") < 0.75


def test_innings_and_final_are_told_apart_by_their_mean() -> None:
    assert kind_fit(_column(COLUMNS["final"]), "inning") < 0.75
    assert kind_fit(_column(COLUMNS["inning"]), "final") < 0.75


def test_profile_is_json_ready() -> None:
    summary = _column(COLUMNS["total"]).as_dict()
    assert summary["filled"] == 8
    assert summary["shares"]["total"] == 1.0
    assert summary["examples"] == ["8.5", "9", "7½"]


@pytest.mark.parametrize(
    "spelling",
    [
        ("game_idx", "AwayTeam", "HomeTeam"),
        (" GAME IDX ", "away_team", "home-team"),
        ("Game.Idx", "Away Team", "HOMETEAM"),
    ],
)
def test_line_history_headers_are_read_by_meaning(spelling: tuple[str, str, str]) -> None:
    columns = {name: lines.GAME_COLUMNS[name] for name in ("game_idx", "away_team", "home_team")}
    assert lines.column_indexes(spelling, columns) == {
        "game_idx": 0,
        "away_team": 1,
        "home_team": 2,
    }


def test_line_history_missing_column_still_fails_by_name() -> None:
    with pytest.raises(lines.LinesFormatError, match="'HomeTeam'"):
        lines.column_indexes(["game_idx", "AwayTeam"], {"home": ("HomeTeam",)})


def test_splits_headers_are_read_by_meaning() -> None:
    data = (
        b"Game Date,HOME_TEAM,away-team,Captured At,Source,Market,Side,Bets %,Money %,Notes\n"
        b"2016-04-03,NYA,HOU,2016-04-03T12:00:00+00:00,x,moneyline,home,55,60,hi\n"
        b"\n"
        b",,,,,,,,,\n"
    )
    ((number, row),) = splits.read_splits_csv(data)
    assert number == 1
    assert row["game_date"] == "2016-04-03"
    assert (row["home_team"], row["away_team"]) == ("NYA", "HOU")
    assert (row["bets_pct"], row["money_pct"]) == ("55", "60")
    assert row["Notes"] == "hi"
    assert isinstance(splits.validate_row(number, row), splits.SplitRow)


def test_splits_without_a_required_column_is_a_format_error() -> None:
    with pytest.raises(splits.SplitsFormatError, match="captured_at"):
        splits.read_splits_csv(b"game_date,home_team,away_team,source,market,side,bets,money\n")
