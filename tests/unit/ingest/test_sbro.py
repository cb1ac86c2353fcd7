"""SBRO workbook parsing: pairing, typing and every named SBRO rule, on hand-built rows."""

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from app.ingest import rules, sbro
from app.ingest.rules import Action, Rule
from app.ingest.sbro import RawRow, SbroGame, Workbook

INNINGS = ["1st", "2nd", "3rd", "4th", "5th", "6th", "7th", "8th", "9th"]
HEADER_2014 = [
    *["Date", "Rot", "VH", "Team", "Pitcher", *INNINGS, "Final", "Open", "Close"],
    *["Run Line", None, "Open OU", None, "Close OU", None],
]
HEADER_2010 = [
    *["Date", "Rot", "VH", "Team", "Pitcher", *INNINGS, "Final", "Open", "Close"],
    *["Open OU", None, "Close OU", None],
]

VISITOR = {
    "date": "518",
    "rot": "907",
    "vh": "V",
    "team": "CUB",
    "pitcher": "JLESTER-L",
    "innings": ["1", "0", "0", "2", "0", "0", "0", "0", "0"],
    "final": "3",
    "open": "-150",
    "close": "-160",
    "run_line": "-1.5",
    "run_line_price": "120",
    "open_ou": "8.5",
    "open_ou_price": "-110",
    "close_ou": "9",
    "close_ou_price": "-105",
}
HOME = {
    **VISITOR,
    "rot": "908",
    "vh": "H",
    "team": "CIN",
    "pitcher": "HBAILEY-R",
    "innings": ["0", "0", "0", "0", "1", "0", "0", "1", "0"],
    "final": "2",
    "open": "140",
    "close": "150",
    "run_line": "1.5",
    "run_line_price": "-140",
    "open_ou_price": "-110",
    "close_ou_price": "-115",
}


def side(base: dict, with_run_line: bool = True, **changes: object) -> list[str | None]:
    values = {**base, **changes}
    cells = [values["date"], values["rot"], values["vh"], values["team"], values["pitcher"]]
    cells += [*values["innings"], values["final"], values["open"], values["close"]]
    if with_run_line:
        cells += [values["run_line"], values["run_line_price"]]
    cells += [values["open_ou"], values["open_ou_price"], values["close_ou"]]
    cells += [values["close_ou_price"]]
    return cells


def pair(visitor: dict | None = None, home: dict | None = None) -> list[list[str | None]]:
    return [side(VISITOR, **(visitor or {})), side(HOME, **(home or {}))]


def workbook(rows: list[list[str | None]], header: list | None = None) -> Workbook:
    return Workbook(
        "mlb-odds-2018.xlsx",
        tuple(header or HEADER_2014),
        [RawRow(number, tuple(cells)) for number, cells in enumerate(rows, start=2)],
    )


def parse(rows: list[list[str | None]], header: list | None = None) -> sbro.SbroParse:
    return sbro.parse_workbook(workbook(rows, header))


def fired(result: sbro.SbroParse) -> set[str]:
    names = {finding.rule.name for finding in result.rejections}
    return names | {finding.rule.name for game in result.games for finding in game.findings}


def test_a_clean_pair_becomes_one_typed_game() -> None:
    result = parse(pair())
    assert result.rejections == []
    (game,) = result.games
    assert game.findings == []
    assert game.game_date == date(2018, 5, 18)
    assert (game.away_team, game.home_team) == ("CHN", "CIN")
    assert (game.away_sbro_code, game.home_sbro_code) == ("CUB", "CIN")
    assert (game.away_score, game.home_score) == (3, 2)
    assert (game.away_pitcher, game.away_pitcher_hand) == ("JLESTER", "L")
    assert (game.home_pitcher, game.home_pitcher_hand) == ("HBAILEY", "R")
    assert game.away_line_score == (1, 0, 0, 2, 0, 0, 0, 0, 0)
    assert (game.away_ml_open, game.home_ml_open) == (-150, 140)
    assert (game.away_ml_close, game.home_ml_close) == (-160, 150)
    assert (game.home_rl, game.home_rl_price, game.away_rl_price) == (1.5, -140, 120)
    assert (game.total_open, game.over_open, game.under_open) == (8.5, -110, -110)
    assert (game.total_close, game.over_close, game.under_close) == (9.0, -105, -115)
    assert game.game_number == 0
    assert game.neutral_site is False
    assert game.game_key == "20180518-CIN-CHN-0"
    assert game.row_numbers == (2, 3)


def test_layout_without_run_line_before_2014() -> None:
    rows = [side(VISITOR, with_run_line=False), side(HOME, with_run_line=False)]
    (game,) = parse(rows, HEADER_2010).games
    assert (game.home_rl, game.home_rl_price, game.away_rl_price) == (None, None, None)
    assert game.total_close == 9.0


def test_missing_column_is_a_format_error() -> None:
    with pytest.raises(sbro.SbroFormatError):
        sbro.ColumnLayout.from_header(["Date", "Rot"])


def test_unrecognised_layout_names_what_is_missing_and_what_was_found_in_one_line() -> None:
    header = [*HEADER_2014[:21], "Notes", None]  # "Close OU" renamed to something else
    rows = pair()
    for row in rows:
        row[21] = "see site"
    with pytest.raises(sbro.SbroFormatError) as raised:
        sbro.parse_workbook(
            Workbook(
                "mlb-odds-2031.xlsx",
                tuple(header),
                [RawRow(number, tuple(cells)) for number, cells in enumerate(rows, start=2)],
            )
        )
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(
        "cannot recognise the columns of mlb-odds-2031.xlsx: no closing total"
    )
    assert "(found header: Date, Rot, VH, Team, Pitcher, 1st," in message
    assert isinstance(raised.value, ValueError)


@pytest.mark.parametrize(
    ("cell", "expected"), [("404", date(2018, 4, 4)), ("1101", date(2018, 11, 1))]
)
def test_mdd_and_mmdd_dates(cell: str, expected: date) -> None:
    (game,) = parse(pair({"date": cell}, {"date": cell})).games
    assert game.game_date == expected


def test_season_comes_from_the_file_name() -> None:
    assert sbro.season_from_file_name("/x/mlb-odds-2013.xlsx") == 2013
    with pytest.raises(sbro.SbroFormatError):
        sbro.season_from_file_name("odds.xlsx")


def test_neutral_site_pair_uses_rotation_parity() -> None:
    rows = pair({"vh": "N", "rot": "901"}, {"vh": "N", "rot": "902"})
    (game,) = parse(rows).games
    assert game.neutral_site is True
    assert (game.away_team, game.home_team) == ("CHN", "CIN")


def test_doubleheader_games_are_numbered_in_file_order() -> None:
    second = pair({"rot": "909", "final": "5"}, {"rot": "910", "final": "1"})
    games = parse(pair() + second).games
    assert [game.game_number for game in games] == [1, 2]
    assert games[1].game_key == "20180518-CIN-CHN-2"


# SBRO codes of 29 teams (all but the Athletics) for a file whose one unknown code is theirs.
CODES_BUT_OAKLAND = [
    *("ARI", "ATL", "BAL", "BOS", "CUB", "CWS", "CIN", "CLE", "COL", "DET", "HOU", "KAN"),
    *("LAA", "LOS", "MIA", "MIL", "MIN", "NYM", "NYY", "PHI", "PIT", "SDG", "SEA", "SFO"),
    *("STL", "TAM", "TEX", "TOR", "WAS"),
]


def _day_of(codes: list[str]) -> list[list[str | None]]:
    rows: list[list[str | None]] = []
    for number in range(len(codes) // 2):
        rotation = 901 + 2 * number
        rows += pair(
            {"rot": str(rotation), "team": codes[2 * number]},
            {"rot": str(rotation + 1), "team": codes[2 * number + 1]},
        )
    return rows


def league_day(unknown_code: str) -> list[list[str | None]]:
    """Fifteen games on one day: the 29 known codes and ``unknown_code`` (at home, last)."""
    return _day_of([*CODES_BUT_OAKLAND, unknown_code])


def pitcher_seen_with_a_hand_elsewhere() -> list[list[str | None]]:
    with_hand = pair({"rot": "909", "pitcher": "JLESTER-L"}, {"rot": "910"})
    return [*pair({"pitcher": "JLESTER"}), *with_hand]


# Each SBRO rule with hand-built rows that trigger it.
RULE_CASES: dict[Rule, Callable[[], list[list[str | None]]]] = {
    rules.SBRO_UNKNOWN_TEAM: lambda: pair({"team": "XYZ"}),
    rules.SBRO_TEAM_CODE_INFERRED: lambda: league_day("OKL"),
    rules.SBRO_SAME_TEAM: lambda: pair({"team": "CIN"}),
    rules.SBRO_INVALID_DATE: lambda: pair({"date": "1341"}, {"date": "1341"}),
    rules.SBRO_UNPAIRED_ROW: lambda: [side(VISITOR), *pair({"rot": "909"}, {"rot": "910"})],
    rules.SBRO_ROTATION_FIXED: lambda: pair(home={"rot": "907"}),
    rules.SBRO_PAIR_DATE_FIXED: lambda: pair({"date": "517"}),
    rules.SBRO_PAIR_DATE_MISMATCH: lambda: pair({"date": "510"}),
    rules.SBRO_MISSING_FINAL: lambda: pair({"final": "NL"}, {"final": "NL"}),
    rules.SBRO_TIE_FINAL: lambda: pair({"final": "2"}),
    rules.SBRO_DUPLICATE_GAME: lambda: pair() * 3,
    rules.SBRO_LINE_SCORE_INCONSISTENT: lambda: pair({"final": "1"}),
    rules.SBRO_PITCHER_MISSING: lambda: pair({"pitcher": "UNDECIDED"}),
    rules.SBRO_PITCHER_HAND_UNKNOWN: lambda: pair({"pitcher": "TROSS"}),
    rules.SBRO_PITCHER_HAND_INFERRED: pitcher_seen_with_a_hand_elsewhere,
    rules.SBRO_FRACTION_GLYPH: lambda: pair({"close_ou": "8½"}, {"close_ou": "8½"}),
    rules.SBRO_NOT_LISTED: lambda: pair({"open": "NL"}, {"open": "NL"}),
    rules.SBRO_UNREADABLE_NUMBER: lambda: pair({"close": "abc"}),
    rules.SBRO_PRICE_OUT_OF_RANGE: lambda: pair({"close_ou_price": "-1105"}),
    rules.SBRO_IMPLAUSIBLE_MARGIN: lambda: pair({"open": "-168"}, {"open": "-140"}),
    rules.SBRO_TOTAL_OUT_OF_RANGE: lambda: pair({"close_ou": "104"}, {"close_ou": "104"}),
    rules.SBRO_RUN_LINE_INCONSISTENT: lambda: pair(home={"run_line": "-1.5"}),
}


def test_every_sbro_rule_has_a_case() -> None:
    sbro_rules = {rule for rule in rules.ALL_RULES.values() if rule.name.startswith("sbro_")}
    assert set(RULE_CASES) == sbro_rules


@pytest.mark.parametrize("rule", list(RULE_CASES), ids=lambda rule: rule.name)
def test_rule_fires_and_acts(rule: Rule) -> None:
    rows = RULE_CASES[rule]()
    result = parse(rows)
    assert rule.name in fired(result)
    rejected_rows = sum(len(f.row_numbers) for f in result.rejections)
    # Nothing is dropped silently: every row is in a curated game or a rejection.
    assert 2 * len(result.games) + rejected_rows == len(rows)
    if rule.action is not Action.REJECTED:
        assert result.games, "a nulling or correcting rule keeps the game"


def test_corrupt_market_is_nulled_and_the_rest_of_the_game_kept() -> None:
    (game,) = parse(pair({"close_ou_price": "-1105"})).games
    assert (game.total_close, game.over_close, game.under_close) == (None, None, None)
    assert (game.total_open, game.away_ml_close) == (8.5, -160)
    (finding,) = game.findings
    assert finding.message.startswith("total_close:")


def test_mistyped_home_rotation_is_repaired() -> None:
    (game,) = parse(pair(home={"rot": "907"})).games
    assert (game.visitor_rotation, game.home_rotation) == (907, 907)
    assert game.findings[0].message == "home rotation 907 read as 908"


def test_pair_date_typo_keeps_the_home_rows_date() -> None:
    (game,) = parse(pair({"date": "630"}, {"date": "701"})).games
    assert game.game_date == date(2018, 7, 1)


def test_pick_em_moneylines_both_negative_are_kept() -> None:
    (game,) = parse(pair({"close": "-105"}, {"close": "-105"})).games
    assert (game.away_ml_close, game.home_ml_close) == (-105, -105)


def _game(open_total: float, close_total: float, visitor: int, home: int) -> SbroGame:
    return SbroGame(
        season=2018,
        game_date=date(2018, 5, 1),
        visitor_row_number=2,
        home_row_number=3,
        visitor_rotation=901,
        home_rotation=902,
        away_sbro_code="CUB",
        home_sbro_code="CIN",
        away_team="CHN",
        home_team="CIN",
        away_score=1,
        home_score=2,
        neutral_site=False,
        total_open=open_total,
        over_open=visitor,
        under_open=home,
        total_close=close_total,
        over_close=visitor,
        under_close=home,
    )


def test_total_layout_detects_home_row_over_from_line_movement() -> None:
    # Home row juiced at the open and the total went up: the home row carries the over.
    games = [_game(8.5, 9.0, -105, -115) for _ in range(40)]
    games += [_game(8.5, 8.0, -115, -105) for _ in range(40)]
    layout = sbro.detect_total_layout(games)
    assert layout.visitor_row_is_over_open is False
    sbro.apply_total_layout(games, layout)
    assert (games[0].over_open, games[0].under_open) == (-115, -105)


def test_total_layout_defaults_to_visitor_over_without_evidence() -> None:
    layout = sbro.detect_total_layout([_game(8.5, 9.0, -105, -115)])
    assert layout.visitor_row_is_over_open and layout.visitor_row_is_over_close


def test_postseason_is_after_the_last_full_day() -> None:
    regular = [_game(8, 8, -110, -110) for _ in range(15)]  # the last day: all 30 teams
    # The 2020 wild-card round had 8 games on one day: still the postseason.
    wild_card_day = [_game(8, 8, -110, -110) for _ in range(8)]
    for game in wild_card_day:
        game.game_date = date(2018, 10, 1)
    october = _game(8, 8, -110, -110)
    october.game_date = date(2018, 10, 5)
    games = [*regular, *wild_card_day, october]
    end = sbro.regular_season_end(games)
    assert end == date(2018, 5, 1)
    sbro.mark_postseason(games, end)
    assert [game.postseason for game in games] == [False] * 15 + [True] * 9


@pytest.mark.parametrize("season", [2018, 2019])
def test_sample_workbooks_parse_completely(sample_dir: Path, season: int) -> None:
    book = sbro.read_workbook(sample_dir / f"mlb-odds-{season}.xlsx")
    result = sbro.parse_workbook(book)
    rejected_rows = sum(len(f.row_numbers) for f in result.rejections)
    assert len(book.rows) == 2 * len(result.games) + rejected_rows
    assert len(result.games) > 2400
    assert result.total_layout.visitor_row_is_over_open
    assert result.total_layout.visitor_row_is_over_close


def test_sample_2018_rotation_typo_and_ties(sample_dir: Path) -> None:
    result = sbro.parse_workbook(sbro.read_workbook(sample_dir / "mlb-odds-2018.xlsx"))
    repaired = [g for g in result.games if g.row_numbers == (1288, 1289)]
    assert [f.rule for f in repaired[0].findings] == [rules.SBRO_ROTATION_FIXED]
    assert repaired[0].game_key == "20180518-CIN-CHN-0"
    ties = [f for f in result.rejections if f.rule is rules.SBRO_TIE_FINAL]
    assert len(ties) == 2


def test_team_code_inferred_from_the_one_uncovered_team() -> None:
    result = parse(league_day("OKL"))
    assert result.rejections == []
    (game,) = [game for game in result.games if game.home_sbro_code == "OKL"]
    assert game.home_team == "OAK"
    assert [finding.rule for finding in game.findings] == [rules.SBRO_TEAM_CODE_INFERRED]
    others = [game for game in result.games if game.home_sbro_code != "OKL"]
    assert all(not game.findings for game in others)


@pytest.mark.parametrize(
    "unknown_codes",
    [
        ("XYZ",),  # its initial is no initial of the Athletics
        ("OKL", "OAKS"),  # two unknown codes for one uncovered team
    ],
)
def test_team_code_not_inferred_when_ambiguous(unknown_codes: tuple[str, ...]) -> None:
    rows = league_day(unknown_codes[0])
    if len(unknown_codes) > 1:
        rows += pair({"rot": "951", "team": unknown_codes[1]}, {"rot": "952", "team": "SEA"})
    result = parse(rows)
    assert {f.rule for f in result.rejections} == {rules.SBRO_UNKNOWN_TEAM}
    assert len(result.rejections) == len(unknown_codes)
    assert not [g for g in result.games if g.home_sbro_code in unknown_codes]


def test_ambiguous_los_angeles_code_is_inferred_only_when_one_la_team_is_left() -> None:
    # LOS covers the Dodgers in this file, so "LA" can only be the Angels.
    angels_as_la = [code if code != "LAA" else "LA" for code in [*CODES_BUT_OAKLAND, "OAK"]]
    result = parse(_day_of(angels_as_la))
    (game,) = [g for g in result.games if "LA" in (g.away_sbro_code, g.home_sbro_code)]
    assert "ANA" in (game.away_team, game.home_team)
    # Both Los Angeles teams written "LA": one code for two teams is never guessed.
    both_as_la = [code if code not in ("LAA", "LOS") else "LA" for code in angels_as_la]
    result = parse(_day_of(both_as_la))
    assert {f.rule for f in result.rejections} == {rules.SBRO_UNKNOWN_TEAM}
    assert not [g for g in result.games if "LA" in (g.away_sbro_code, g.home_sbro_code)]


def test_pitcher_without_suffix_takes_the_hand_seen_elsewhere_in_the_file() -> None:
    first, second = parse(pitcher_seen_with_a_hand_elsewhere()).games
    assert (first.away_pitcher, first.away_pitcher_hand) == ("JLESTER", "L")
    assert [f.rule for f in first.findings] == [rules.SBRO_PITCHER_HAND_INFERRED]
    assert second.findings == []


def test_pitcher_seen_with_both_hands_keeps_an_unknown_hand() -> None:
    rows = [
        *pair({"pitcher": "CSMITH"}),
        *pair({"rot": "909", "pitcher": "CSMITH-L"}, {"rot": "910"}),
        *pair({"rot": "911", "pitcher": "CSMITH-R", "team": "NYY"}, {"rot": "912", "team": "BOS"}),
    ]
    first = parse(rows).games[0]
    assert first.away_pitcher_hand is None
    assert [f.rule for f in first.findings] == [rules.SBRO_PITCHER_HAND_UNKNOWN]


def test_sample_2019_neutral_site_and_not_listed(sample_dir: Path) -> None:
    result = sbro.parse_workbook(sbro.read_workbook(sample_dir / "mlb-odds-2019.xlsx"))
    tokyo = [g for g in result.games if g.neutral_site]
    assert {(g.away_team, g.home_team) for g in tokyo} == {("SEA", "OAK")}
    not_listed = [f for g in result.games for f in g.findings if f.rule is rules.SBRO_NOT_LISTED]
    assert len(not_listed) == 5
