"""The pure value checks behind the named data-quality rules."""

import pytest

from app.ingest import rules
from app.ingest.rules import Action


def test_rule_names_are_unique_and_prefixed_by_source() -> None:
    names = list(rules.ALL_RULES)
    assert len(names) == len(set(names))
    assert all(
        name.startswith(("sbro_", "retrosheet_", "lines_", "splits_", "sources_", "feeds_"))
        for name in names
    )
    assert {rule.action for rule in rules.ALL_RULES.values()} == set(Action)


@pytest.mark.parametrize("cell", ["NL", "pk", "PK", "", "  ", None])
def test_not_listed_markers_become_none_by_rule(cell: str | None) -> None:
    parsed = rules.parse_number(cell)
    assert parsed.value is None
    assert parsed.rule is rules.SBRO_NOT_LISTED


def test_fraction_glyph_is_read_as_a_half_by_rule() -> None:
    parsed = rules.parse_number("8½")
    assert parsed.value == 8.5
    assert parsed.rule is rules.SBRO_FRACTION_GLYPH
    assert rules.parse_number("½").value == 0.5
    assert rules.parse_number("-1½").value == -1.5
    assert rules.parse_number("+1½").value == 1.5
    assert rules.parse_number("x½").rule is rules.SBRO_UNREADABLE_NUMBER


def test_unreadable_text_is_none_by_rule() -> None:
    parsed = rules.parse_number("abc")
    assert parsed.value is None
    assert parsed.rule is rules.SBRO_UNREADABLE_NUMBER


def test_plain_numbers_parse_without_a_rule() -> None:
    assert rules.parse_number("-110") == rules.Parsed(-110.0)
    assert rules.parse_number("8.5") == rules.Parsed(8.5)


@pytest.mark.parametrize("prices", [(-105, -105), (-110, -110), (-175, 155), (100, -120)])
def test_plausible_price_pairs_pass(prices: tuple[int, int]) -> None:
    assert rules.check_price_pair(*prices) is None


@pytest.mark.parametrize("prices", [(-6, -110), (-1105, -110), (50, -120), (-110, 12000)])
def test_prices_out_of_range(prices: tuple[int, int]) -> None:
    broken = rules.check_price_pair(*prices)
    assert broken is not None and broken[0] is rules.SBRO_PRICE_OUT_OF_RANGE


@pytest.mark.parametrize("prices", [(-168, -140), (140, 105), (-105, -215), (163, 127)])
def test_implausible_margin(prices: tuple[int, int]) -> None:
    broken = rules.check_price_pair(*prices)
    assert broken is not None and broken[0] is rules.SBRO_IMPLAUSIBLE_MARGIN


def test_total_checks() -> None:
    assert rules.check_total(8.5, 8.5) is None
    for totals in ((104, 104), (98, 98), (0, 0), (8.5, 9)):
        broken = rules.check_total(*totals)
        assert broken is not None and broken[0] is rules.SBRO_TOTAL_OUT_OF_RANGE


def test_run_line_checks() -> None:
    assert rules.check_run_line(-1.5, 1.5) is None
    for lines in ((-1.5, -1.5), (0, 0), (-6.5, 6.5)):
        broken = rules.check_run_line(*lines)
        assert broken is not None and broken[0] is rules.SBRO_RUN_LINE_INCONSISTENT


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("MSCHERZER-R", ("MSCHERZER", "R", None)),
        ("McALLISTER-R", ("MCALLISTER", "R", None)),
        ("CSABATHIA-L", ("CSABATHIA", "L", None)),
        ("TROSS", ("TROSS", None, rules.SBRO_PITCHER_HAND_UNKNOWN)),
        ("DAVIES-Z", ("DAVIES", None, rules.SBRO_PITCHER_HAND_UNKNOWN)),
        ("UNDECIDED", (None, None, rules.SBRO_PITCHER_MISSING)),
        (None, (None, None, rules.SBRO_PITCHER_MISSING)),
    ],
)
def test_split_pitcher(cell: str | None, expected: tuple) -> None:
    assert rules.split_pitcher(cell) == expected


def test_implied_probability() -> None:
    assert rules.implied_probability(100) == pytest.approx(0.5)
    assert rules.implied_probability(-150) == pytest.approx(0.6)
    assert rules.implied_probability(150) == pytest.approx(0.4)


def test_pitcher_hands_by_name_keeps_only_names_seen_with_one_hand() -> None:
    cells = ["GCOLE-R", "GCOLE", "CSMITH-L", "CSMITH-R", "MFRIED-L", None, "UNDECIDED", "DAVIES-Z"]
    assert rules.pitcher_hands_by_name(cells) == {"GCOLE": "R", "MFRIED": "L"}


def test_a_file_that_curates_nothing_says_why_in_its_line() -> None:
    from app.ingest.runner import FileReport

    wrong = {"retrosheet_wrong_field_count": 5}
    rejected = FileReport("x/GL2030.TXT", raw_rows=5, quarantined=wrong)
    assert rejected.summary() == (
        "GL2030.TXT: 5 raw rows; 0 games curated; 5 quarantined "
        "(retrosheet_wrong_field_count 5); no games curated: retrosheet_wrong_field_count 5"
    )
    kept = FileReport("GL2030.TXT", raw_rows=2, not_curated={"sources_game_key_taken": 2})
    assert kept.summary().endswith(
        "kept raw, not curated: sources_game_key_taken 2 rows; "
        "no games curated: sources_game_key_taken 2"
    )
    curated = FileReport("GL2030.TXT", raw_rows=2, games_curated=2, results_only=2)
    assert curated.summary() == (
        "GL2030.TXT: 2 raw rows; 2 games curated (2 results only, no prices yet); 0 quarantined"
    )
