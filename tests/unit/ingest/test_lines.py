"""Line-history parsing, the event-time offset, joining to curated games and line rules."""

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from app.ingest import lines, rules
from app.ingest.lines import CsvRow, CsvTable, CuratedGame, LineGame

GAMES_HEADER = [
    "game_idx",
    "BaseballRefID",
    "EventDateTimeEst",
    "AwayTeam",
    "HomeTeam",
    "DoubleHeaderGame",
    "AwayStartingPitcher",
    "HomeStartingPicher",
    "FinalScoreAway",
    "FinalScoreHome",
]
LINES_HEADER = [
    "game_idx",
    "EnteredDateTime",
    "SpreadTeam1",
    "SpreadUS1",
    "SpreadUS2",
    "MoneyUS1",
    "MoneyUS2",
    "TotalPoints",
    "TotalUSOver",
    "TotalUSUnder",
]
LINE_INDEX = lines.column_indexes(LINES_HEADER, lines.LINE_COLUMNS)


def _games(*rows: str) -> CsvTable:
    return CsvTable(
        tuple(GAMES_HEADER), [CsvRow(n, tuple(r.split(","))) for n, r in enumerate(rows, 1)]
    )


def _line(text: str, number: int = 1) -> lines.Line | rules.Finding:
    return lines.parse_line_row(CsvRow(number, tuple(text.split(","))), LINE_INDEX)


def _game(idx: int, event: datetime, home: str = "PIT", away: str = "SLN", score=(1, 4), dh=0):
    return LineGame(idx, idx, None, event, away, home, dh, None, None, score[0], score[1])


def test_milwaukee_na_ids_are_kept_but_not_used_and_all_star_game_is_rejected() -> None:
    table = _games(
        "3,NA201604040,2016-04-04 21:10:00+00:00,San Francisco Giants,Milwaukee Brewers,0.0,"
        "MBUMGARNER,W PERALTA,12,3.0",
        "1331,NL201607130,2016-07-13 03:15:00+00:00,American League,National League,0.0,"
        "AL BATTING LAST,NL BATTING FIRST,4,2.0",
        "3,MIL201604050,2016-04-05 21:10:00+00:00,San Francisco Giants,Milwaukee Brewers,0.0,,,1,2",
        "x,MIL201604060,2016-04-06 21:10:00+00:00,San Francisco Giants,Milwaukee Brewers,0.0,,,1,2",
    )
    games, rejected = lines.parse_games(table)
    assert [(g.game_idx, g.home_team, g.away_team, g.source_game_id) for g in games] == [
        (3, "MIL", "SFN", "NA201604040")
    ]
    assert games[0].home_score == 3 and games[0].event_time.tzinfo is not None
    assert [f.rule for f in rejected] == [
        rules.LINES_NOT_A_TEAM,
        rules.LINES_DUPLICATE_GAME_IDX,
        rules.LINES_UNPARSEABLE_GAME,
    ]


def test_a_line_maps_away_and_home_columns_and_the_run_line_to_the_home_side() -> None:
    line = _line("0,2016-03-31 22:56:01.869999886+00:00,1.5,-180,160,-110.0,102.0,6.5,106,-117")
    assert isinstance(line, lines.Line)
    assert line.captured_at == datetime(2016, 3, 31, 22, 56, 1, 869999, tzinfo=UTC)
    assert (line.away_ml, line.home_ml) == (-110, 102)
    assert (line.total, line.over_price, line.under_price) == (6.5, 106, -117)
    assert (line.home_rl, line.home_rl_price, line.away_rl_price) == (-1.5, 160, -180)
    assert line.findings == []


def test_a_missing_run_line_is_nulled_by_rule() -> None:
    line = _line("0,2016-03-31 21:16:48+00:00,,,,-110.0,102.0,,,")
    assert isinstance(line, lines.Line)
    assert line.home_rl is None and line.total is None and line.home_ml == 102
    assert [rule for rule, _ in line.findings] == [rules.LINES_MARKET_NOT_OFFERED] * 2


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (
            "0,2016-04-01 00:00:00+00:00,,,,-110,102,8.5,-105114,-105",
            rules.LINES_PRICE_OUT_OF_RANGE,
        ),
        ("0,2016-04-01 00:00:00+00:00,,,,-168,-140,,,", rules.LINES_IMPLAUSIBLE_MARGIN),
        ("0,2016-04-01 00:00:00+00:00,,,,-110,102,104,-105,-105", rules.LINES_TOTAL_OUT_OF_RANGE),
        ("0,2016-04-01 00:00:00+00:00,0,-110,-110,-110,102,,,", rules.LINES_RUN_LINE_OUT_OF_RANGE),
    ],
)
def test_corrupt_markets_are_nulled_by_rule(text: str, rule: rules.Rule) -> None:
    line = _line(text)
    assert isinstance(line, lines.Line)
    assert rule in [fired for fired, _ in line.findings]


def test_an_unreadable_timestamp_rejects_the_line() -> None:
    finding = _line("0,yesterday,,,,-110,102,,,", number=7)
    assert isinstance(finding, rules.Finding)
    assert finding.rule is rules.LINES_UNPARSEABLE_LINE and finding.row_numbers == (7,)


def _lines_before(game: LineGame, hours_before_event: float) -> list[lines.Line]:
    last = game.event_time - timedelta(hours=hours_before_event)
    return [lines.Line(1, game.game_idx, last - timedelta(hours=h)) for h in (30, 2, 0)]


def test_the_event_time_offset_is_measured_from_the_last_line_and_rounded_to_hours() -> None:
    start = datetime(2016, 5, 1, 17, 5, tzinfo=UTC)
    games = [_game(i, start + timedelta(days=i)) for i in range(40)]
    skewed = [line for game in games for line in _lines_before(game, 3.02)]
    offset = lines.measure_event_time_offset(games, skewed)
    assert offset.shift == timedelta(hours=3)
    assert offset.median_hours_event_after_last_line == pytest.approx(3.02)
    right = [line for game in games for line in _lines_before(game, 0.02)]
    assert lines.measure_event_time_offset(games, right).shift == timedelta(0)
    # Too few games to measure: nothing is shifted.
    assert lines.measure_event_time_offset(games[:5], skewed).shift == timedelta(0)


def test_the_local_date_is_the_eastern_date_of_the_corrected_start() -> None:
    # NYM at KC, 2016-04-03 7:37 pm Central: 00:37 UTC on the 4th, file says 03:35 on the 4th.
    event = datetime(2016, 4, 4, 3, 35, tzinfo=UTC)
    assert lines.local_date(event - timedelta(hours=3)) == date(2016, 4, 3)


def test_games_join_on_date_teams_and_score_with_fallbacks() -> None:
    shift = timedelta(hours=3)
    day = date(2016, 6, 1)
    curated = [
        CuratedGame(10, day, "PIT", "SLN", 1, 4, 1),
        CuratedGame(11, day, "PIT", "SLN", 2, 4, 1),  # doubleheader with the same score
        CuratedGame(12, day + timedelta(days=1), "NYA", "BOS", 0, 5, 2),  # a day later
        CuratedGame(13, day, "CHN", "MIL", 0, 3, 2),  # the file has another score
    ]
    event = datetime(2016, 6, 1, 23, 5, tzinfo=UTC) + shift
    games = [
        _game(1, event, dh=2),
        _game(2, event, dh=1),
        _game(3, event, home="NYA", away="BOS", score=(2, 5)),
        _game(4, event, home="CHN", away="MIL", score=(2, 4)),
        _game(5, event, home="SEA", away="OAK", score=(1, 0)),
    ]
    joined, findings = lines.match_games(games, shift, curated)
    assert joined == {1: 11, 2: 10, 3: 12, 4: 13}
    assert [(f.rule, f.row_numbers) for f in findings] == [
        (rules.LINES_SCORE_DISAGREES, (4,)),
        (rules.LINES_GAME_UNMATCHED, (5,)),
    ]


def test_line_findings_are_grouped_per_game_and_rule() -> None:
    rule = rules.LINES_MARKET_NOT_OFFERED
    grouped = lines.group_findings(
        [(1, rule, "run_line blank", 5), (1, rule, "x", 6), (2, rule, "y", 9)]
    )
    assert [(idx, f.row_numbers) for idx, f in grouped] == [(1, (5, 6)), (2, (9,))]
    assert "and 1 more lines" in grouped[0][1].message


def test_pairs_are_found_from_either_file_or_a_folder(tmp_path: Path) -> None:
    games = tmp_path / "MLB2030_games.csv"
    line_file = tmp_path / "MLB2030_lines.csv.gz"
    games.write_text("x")
    line_file.write_bytes(b"x")
    assert lines.pair_paths([line_file]) == [(games, line_file)]
    assert lines.pair_paths([tmp_path]) == [(games, line_file)]
    assert lines.pair_paths([games, line_file]) == [(games, line_file)]
    games.unlink()
    with pytest.raises(lines.LinesFormatError, match="MLB2030_games"):
        lines.pair_paths([line_file])
    with pytest.raises(lines.LinesFormatError, match="named"):
        lines.pair_paths([tmp_path / "odds.csv"])


def test_a_missing_column_is_a_format_error() -> None:
    with pytest.raises(lines.LinesFormatError, match="TotalPoints"):
        lines.column_indexes(LINES_HEADER[:7], lines.LINE_COLUMNS)
