"""A synthetic workbook shaped like the 2020+ SBRO archives, built here with openpyxl.

It has what the 2020 archive has and the 2010-2019 ones do not: a title row above the header,
``OpenOU`` / ``CloseOU`` / ``RunLine`` headers with unnamed price columns, sportsbook team codes
(CHW, KC, SD, SF, TB, WSH, AZ), neutral-site N/N games, seven-inning doubleheader games, a
pitcher written without his hand suffix, and an eight-game postseason day after a gap.
"""

import io
import json
from dataclasses import replace
from datetime import date, datetime

import pytest
from openpyxl import Workbook as ExcelWorkbook

from app.ingest import rules, sbro

INNINGS = ["1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th"]
HEADER_2020 = [
    *["Date", "Rot", "VH", "Team", "Pitcher", *INNINGS, "Final", "Open", "Close"],
    *["RunLine", None, "OpenOU", None, "CloseOU", None],
]
# 2020-style codes for all 30 teams, and the canonical team each must become.
CODES = {
    "AZ": "ARI", "ATL": "ATL", "BAL": "BAL", "BOS": "BOS", "CUB": "CHN", "CHW": "CHA",
    "CIN": "CIN", "CLE": "CLE", "COL": "COL", "DET": "DET", "HOU": "HOU", "KC": "KCA",
    "LAA": "ANA", "LAD": "LAN", "MIA": "MIA", "MIL": "MIL", "MIN": "MIN", "NYM": "NYN",
    "NYY": "NYA", "OAK": "OAK", "PHI": "PHI", "PIT": "PIT", "SD": "SDN", "SEA": "SEA",
    "SF": "SFN", "STL": "SLN", "TB": "TBA", "TEX": "TEX", "TOR": "TOR", "WSH": "WAS",
}  # fmt: skip
TEAMS = list(CODES)
NINE_INNINGS_AWAY = [0, 1, 0, 0, 2, 0, 0, 1, 0]  # 4 runs
NINE_INNINGS_HOME = [1, 0, 0, 0, 0, 0, 0, 0, 1]  # 2 runs
SEVEN_INNINGS_AWAY = [0, 0, 1, 0, 0, 0, 0, None, "x"]  # 1 run, innings 8 and 9 not played
SEVEN_INNINGS_HOME = [0, 0, 0, 2, 0, 0, 1, None, None]  # 3 runs


def game_rows(
    day: object,
    rotation: int,
    away: str,
    home: str,
    *,
    neutral: bool = False,
    innings: tuple[list, list] = (NINE_INNINGS_AWAY, NINE_INNINGS_HOME),
    pitchers: tuple[str, str] = ("GCOLE-R", "CSALE-L"),
    total: float = 8.5,
) -> list[list[object]]:
    """A visitor row and a home row as the archive writes them (prices right of their line)."""
    away_runs = sum(runs for runs in innings[0] if isinstance(runs, int))
    home_runs = sum(runs for runs in innings[1] if isinstance(runs, int))
    sides = ("N", "N") if neutral else ("V", "H")
    visitor = [day, rotation, sides[0], away, pitchers[0], *innings[0], away_runs]
    visitor += [-130, -140, -1.5, 120, total, -110, total + 0.5, -105]
    home_row = [day, rotation + 1, sides[1], home, pitchers[1], *innings[1], home_runs]
    home_row += [120, 130, 1.5, -140, total, -110, total + 0.5, -115]
    return [visitor, home_row]


def full_slate(day: object, first_rotation: int, shift: int) -> list[list[object]]:
    """Fifteen games: every team plays (a regular-season day)."""
    order = TEAMS[shift:] + TEAMS[:shift]
    rows: list[list[object]] = []
    for number in range(15):
        rows += game_rows(
            day, first_rotation + 2 * number, order[2 * number], order[2 * number + 1]
        )
    return rows


def build_2020_workbook(dates: str = "mdd") -> bytes:
    """The synthetic 2020 archive; ``dates`` "mdd" (723), "excel" (date cells) or "iso" text."""

    def day(month: int, day_of_month: int) -> object:
        if dates == "excel":
            return datetime(2020, month, day_of_month)
        if dates == "iso":
            return f"2020-{month:02d}-{day_of_month:02d}"
        return month * 100 + day_of_month

    rows: list[list[object]] = []
    for number, day_of_month in enumerate(range(23, 31)):  # July 23-30: full slates
        rows += full_slate(day(7, day_of_month), 901, shift=2 * number)
    # A seven-inning doubleheader: same teams, same day, innings 8 and 9 blank or 'x'.
    seven = (SEVEN_INNINGS_AWAY, SEVEN_INNINGS_HOME)
    rows += game_rows(day(8, 2), 951, "NYY", "TB", innings=seven, pitchers=("GCOLE", "BSNELL-L"))
    rows += game_rows(
        day(8, 2), 953, "NYY", "TB", innings=seven, pitchers=("JHAPP-L", "TGLASNOW-R")
    )
    rows += full_slate(day(9, 27), 901, shift=1)  # the last regular-season day: all 30 teams
    # Wild-card round: 4 games on 9/29, 8 on 9/30 (more than any day but full slates).
    wild_card = [("MIA", "CUB"), ("CIN", "ATL"), ("STL", "SD"), ("MIL", "LAD")]
    wild_card += [("HOU", "MIN"), ("CHW", "OAK"), ("TOR", "TB"), ("CLE", "NYY")]
    rotation = 101
    for away, home in wild_card[4:]:
        rows += game_rows(day(9, 29), rotation, away, home)
        rotation += 2
    for away, home in wild_card:
        rows += game_rows(day(9, 30), rotation, away, home)
        rotation += 2
    # The World Series at a neutral site (Arlington): N/N rows paired on rotations.
    rows += game_rows(day(10, 20), 921, "TB", "LAD", neutral=True)

    book = ExcelWorkbook()
    sheet = book.active
    sheet.append(["MLB Odds 2020 - sportsbookreviewsonline.com"])  # a title row
    sheet.append(HEADER_2020)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def parsed_2020() -> tuple[sbro.Workbook, sbro.SbroParse]:
    workbook = sbro.read_workbook(build_2020_workbook(), "mlb-odds-2020.xlsx")
    return workbook, sbro.parse_workbook(workbook)


def test_header_row_below_a_title_row_is_found(parsed_2020: tuple) -> None:
    workbook, result = parsed_2020
    assert workbook.header_row_number == 2
    assert workbook.header[17:] == ("RunLine", None, "OpenOU", None, "CloseOU", None)
    assert workbook.rows[0].row_number == 3
    assert result.columns["open_total"]["column"] == 19
    assert result.columns["open_total"]["decided_by"] == "header"
    assert result.columns["open_total_price"]["decided_by"] == "content"
    assert result.columns["run_line"]["header"] == "RunLine"


def test_every_game_of_the_2020_shape_parses(parsed_2020: tuple) -> None:
    workbook, result = parsed_2020
    assert result.rejections == []
    assert len(result.games) == 8 * 15 + 2 + 15 + 4 + 8 + 1
    assert 2 * len(result.games) == len(workbook.rows)
    assert {game.away_sbro_code for game in result.games} | {
        game.home_sbro_code for game in result.games
    } == set(CODES)
    for game in result.games:
        assert game.away_team == CODES[game.away_sbro_code]
        assert game.home_team == CODES[game.home_sbro_code]
    first = result.games[0]
    assert (first.home_rl, first.home_rl_price, first.away_rl_price) == (1.5, -140, 120)
    assert (first.total_open, first.over_open, first.under_open) == (8.5, -110, -110)
    assert (first.total_close, first.over_close, first.under_close) == (9.0, -105, -115)
    assert (first.away_ml_open, first.home_ml_close) == (-130, 130)


def test_seven_inning_doubleheader_games(parsed_2020: tuple) -> None:
    _, result = parsed_2020
    first, second = [g for g in result.games if g.game_date == date(2020, 8, 2)]
    assert [first.game_number, second.game_number] == [1, 2]
    assert first.game_key == "20200802-TBA-NYA-1"
    assert (first.away_score, first.home_score) == (1, 3)
    assert first.away_line_score == (0, 0, 1, 0, 0, 0, 0, None, None)
    assert first.home_line_score == (0, 0, 0, 2, 0, 0, 1, None, None)


def test_pitcher_without_suffix_takes_his_hand_from_elsewhere(parsed_2020: tuple) -> None:
    _, result = parsed_2020
    first = next(g for g in result.games if g.game_date == date(2020, 8, 2))
    assert (first.away_pitcher, first.away_pitcher_hand) == ("GCOLE", "R")
    assert [f.rule for f in first.findings] == [rules.SBRO_PITCHER_HAND_INFERRED]


def test_neutral_site_world_series_game(parsed_2020: tuple) -> None:
    _, result = parsed_2020
    (world_series,) = [g for g in result.games if g.neutral_site]
    assert (world_series.away_team, world_series.home_team) == ("TBA", "LAN")
    assert (world_series.visitor_rotation, world_series.home_rotation) == (921, 922)


def test_postseason_starts_after_the_last_full_slate_not_the_eight_game_day(
    parsed_2020: tuple,
) -> None:
    workbook, _ = parsed_2020
    result = sbro.parse_workbook(workbook)  # marked here, not in the shared parse
    end = sbro.regular_season_end(result.games)
    assert end == date(2020, 9, 27)
    sbro.mark_postseason(result.games, end)
    postseason = [g for g in result.games if g.postseason]
    assert len(postseason) == 4 + 8 + 1
    assert min(g.game_date for g in postseason) == date(2020, 9, 29)


@pytest.mark.parametrize("dates", ["excel", "iso"])
def test_dates_as_excel_dates_or_iso_text_parse_alike(dates: str, parsed_2020: tuple) -> None:
    _, expected = parsed_2020
    workbook = sbro.read_workbook(build_2020_workbook(dates), "mlb-odds-2020.xlsx")
    result = sbro.parse_workbook(workbook)
    assert result.rejections == []
    assert [g.game_key for g in result.games] == [g.game_key for g in expected.games]
    assert result.columns["date"]["decided_by"] == "header"


def test_content_finds_the_columns_of_a_workbook_with_no_header_row() -> None:
    with_header = sbro.read_workbook(build_2020_workbook(), "mlb-odds-2020.xlsx")
    bare = sbro.Workbook("mlb-odds-2020.xlsx", (), with_header.rows, header_row_number=0)
    result = sbro.parse_workbook(bare)
    expected = sbro.parse_workbook(with_header)
    assert [vars(g) for g in result.games] == [vars(g) for g in expected.games]
    assert {entry["decided_by"] for entry in result.columns.values()} == {"content"}


def test_column_evidence_is_json_and_names_how_each_column_was_found(parsed_2020: tuple) -> None:
    _, result = parsed_2020
    stored = json.loads(json.dumps(result.columns))
    assert stored["close_total"]["column"] == 21
    assert stored["close_total"]["content"]["shares"]["total"] == 1.0
    assert stored["close_total_price"]["content"]["shares"]["american_odds"] == 1.0
    assert stored["team"]["fit"] == 1.0


def test_a_header_its_column_contradicts_is_overruled_and_recorded(parsed_2020: tuple) -> None:
    workbook, expected = parsed_2020
    header = list(workbook.header)
    header[17], header[19] = "OpenOU", "RunLine"  # the two names swapped
    result = sbro.parse_workbook(replace(workbook, header=tuple(header)))
    assert [vars(g) for g in result.games] == [vars(g) for g in expected.games]
    assert result.columns["run_line"]["decided_by"] == "content"
    assert result.columns["run_line"]["overruled_headers"] == [
        {"column": 19, "header": "RunLine", "fit": 0.0}
    ]


def test_every_header_spelling_names_one_column_role() -> None:
    seen: dict[str, str] = {}
    for role in sbro.COLUMN_ROLES:
        for alias in role.aliases:
            assert seen.setdefault(alias, role.name) == role.name, alias
