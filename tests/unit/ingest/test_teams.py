"""The canonical team codes and the SBRO/Retrosheet maps onto them."""

import csv

import pytest
from openpyxl import load_workbook

from app.ingest.teams import (
    CANONICAL_TEAMS,
    RETROSHEET_TO_CANONICAL,
    SBRO_TO_CANONICAL,
    TEAM_CODE_MAP_CORRECTIONS,
    canonical_from_retrosheet,
    canonical_from_sbro,
    infer_unknown_sbro_codes,
)
from tests.shared_data import SHARED_DATA, SHARED_SBRO, needs_shared_data


def test_thirty_canonical_teams_and_every_map_lands_in_them() -> None:
    assert len(CANONICAL_TEAMS) == 30
    assert set(SBRO_TO_CANONICAL.values()) == CANONICAL_TEAMS
    assert set(RETROSHEET_TO_CANONICAL.values()) == CANONICAL_TEAMS


def test_marlins_and_los_angeles_codes() -> None:
    assert canonical_from_retrosheet("FLO") == "MIA"
    assert canonical_from_sbro("FLO") == "MIA"
    assert canonical_from_sbro("LOS") == "LAN"
    assert canonical_from_sbro("LAD") == "LAN"
    assert canonical_from_sbro("LAA") == "ANA"
    assert canonical_from_sbro(" cub ") == "CHN"


def test_unknown_codes_map_to_none_rather_than_raise() -> None:
    assert canonical_from_sbro("XYZ") is None
    assert canonical_from_sbro(None) is None
    assert canonical_from_retrosheet("MON") is None


@needs_shared_data
@pytest.mark.parametrize("season", range(2010, 2020))
def test_every_team_code_of_every_shared_workbook_maps(season: int) -> None:
    workbook = load_workbook(SHARED_SBRO / f"mlb-odds-{season}.xlsx", read_only=True)
    rows = workbook.worksheets[0].iter_rows(min_row=2, values_only=True)
    codes = {row[3] for row in rows if row[3] is not None}
    workbook.close()
    assert codes, "no team codes read"
    assert {code for code in codes if canonical_from_sbro(code) is None} == set()


@needs_shared_data
def test_map_agrees_with_team_code_map_csv_except_the_documented_corrections() -> None:
    with (SHARED_SBRO / "team_code_map.csv").open(encoding="utf-8-sig") as handle:
        entries = {
            row["Team_Code_Odds_DF"]: row["Abbreviation_Retrosheet"]
            for row in csv.DictReader(handle)
        }
    disagreements = {
        code: (csv_code, SBRO_TO_CANONICAL.get(code))
        for code, csv_code in entries.items()
        if SBRO_TO_CANONICAL.get(code) != csv_code
    }
    assert disagreements == dict(TEAM_CODE_MAP_CORRECTIONS)


def test_every_team_name_of_the_2016_line_history_maps_except_the_all_star_leagues() -> None:
    import csv

    from app.ingest.teams import canonical_from_team_name

    path = SHARED_DATA / "pinnacle" / "MLB2016_games.csv"
    if not path.exists():
        pytest.skip("the shared data is not on this machine")
    with path.open() as handle:
        names = {row[k] for row in csv.DictReader(handle) for k in ("AwayTeam", "HomeTeam")}
    unmapped = {name for name in names if canonical_from_team_name(name) is None}
    assert unmapped == {"American League", "National League"}
    mapped = {canonical_from_team_name(name) for name in names - unmapped}
    assert mapped == set(CANONICAL_TEAMS)


def test_team_names_cover_every_canonical_team_and_are_case_and_space_insensitive() -> None:
    from app.ingest.teams import TEAM_NAME_TO_CANONICAL, canonical_from_team_name

    assert set(TEAM_NAME_TO_CANONICAL.values()) == set(CANONICAL_TEAMS)
    assert canonical_from_team_name("  St. Louis   CARDINALS ") == "SLN"
    assert canonical_from_team_name("Cleveland Guardians") == "CLE"


def test_any_code_reads_retrosheet_first_and_no_code_means_two_teams() -> None:
    from app.ingest.teams import canonical_from_any_code

    shared = set(RETROSHEET_TO_CANONICAL) & set(SBRO_TO_CANONICAL)
    assert all(RETROSHEET_TO_CANONICAL[c] == SBRO_TO_CANONICAL[c] for c in shared)
    assert canonical_from_any_code("NYY") == "NYA" and canonical_from_any_code("nya") == "NYA"
    assert canonical_from_any_code("XXX") is None


@pytest.mark.parametrize(
    ("code", "team"),
    [
        ("CHW", "CHA"),
        ("KC", "KCA"),
        ("KCR", "KCA"),
        ("TB", "TBA"),
        ("TBR", "TBA"),
        ("SD", "SDN"),
        ("SDP", "SDN"),
        ("SF", "SFN"),
        ("WSH", "WAS"),
        ("WSN", "WAS"),
        ("AZ", "ARI"),
        ("ARZ", "ARI"),
        ("ATH", "OAK"),
    ],
)
def test_sportsbook_codes_of_later_seasons(code: str, team: str) -> None:
    assert canonical_from_sbro(code) == team


def test_athletics_2025_code_in_retrosheet_and_ambiguous_codes_not_guessed() -> None:
    assert canonical_from_retrosheet("ATH") == "OAK"
    for ambiguous in ("LA", "CHI", "NY"):
        assert canonical_from_sbro(ambiguous) is None


ALL_BUT_OAKLAND = [code for code in CANONICAL_TEAMS if code != "OAK"]


def test_an_unknown_code_is_inferred_when_it_is_the_one_uncovered_team() -> None:
    assert infer_unknown_sbro_codes([*ALL_BUT_OAKLAND, "OKL", "okl "]) == {"OKL": "OAK"}


def test_several_unknown_codes_pair_one_to_one_by_initial() -> None:
    known = [code for code in CANONICAL_TEAMS if code not in ("OAK", "KCA", "TBA")]
    assert infer_unknown_sbro_codes([*known, "OKL", "KSC", "TPA"]) == {
        "OKL": "OAK",
        "KSC": "KCA",
        "TPA": "TBA",
    }


@pytest.mark.parametrize(
    "codes",
    [
        [*ALL_BUT_OAKLAND, "XYZ"],  # no initial of the Athletics
        [*ALL_BUT_OAKLAND, "OKL", "OAKS"],  # two codes for one team
        [*CANONICAL_TEAMS, "XYZ"],  # every team covered: a stray code
        [c for c in CANONICAL_TEAMS if c not in ("ANA", "LAN")] + ["LAX", "LAY"],  # which is which?
        ["CIN", "XYZ"],  # a small file: 28 teams uncovered, one code
    ],
)
def test_ambiguous_or_implausible_codes_are_not_inferred(codes: list[str]) -> None:
    assert infer_unknown_sbro_codes(codes) == {}
