"""Betting-splits rows: validation rules on a hand-written fixture."""

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from app.ingest import rules, splits

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "splits" / "splits-2019-sample.csv"


def _row(**changes: str) -> dict[str, str]:
    row = {
        "game_date": "2019-06-15",
        "home_team": "NYA",
        "away_team": "TOR",
        "game_number": "",
        "captured_at": "2019-06-15T16:00:00+00:00",
        "source": "hand",
        "market": "moneyline",
        "side": "home",
        "bets_pct": "72",
        "money_pct": "81.5",
    }
    return {**row, **changes}


def test_a_valid_row_is_typed_and_sbro_codes_are_mapped() -> None:
    split = splits.validate_row(3, _row(home_team="NYY", bets_pct="55%"))
    assert isinstance(split, splits.SplitRow)
    assert (split.home_team, split.away_team, split.game_date) == ("NYA", "TOR", date(2019, 6, 15))
    assert split.captured_at == datetime(2019, 6, 15, 16, tzinfo=UTC)
    assert (split.bets_pct, split.money_pct, split.game_number) == (55.0, 81.5, None)


@pytest.mark.parametrize(
    ("changes", "rule"),
    [
        ({"source": ""}, rules.SPLITS_MISSING_COLUMN),
        ({"captured_at": "2019-06-15 16:00:00"}, rules.SPLITS_BAD_TIME),
        ({"captured_at": "noon"}, rules.SPLITS_BAD_TIME),
        ({"market": "spread"}, rules.SPLITS_BAD_MARKET),
        ({"market": "total", "side": "home"}, rules.SPLITS_BAD_SIDE),
        ({"bets_pct": "120"}, rules.SPLITS_BAD_PERCENT),
        ({"money_pct": "-1"}, rules.SPLITS_BAD_PERCENT),
        ({"bets_pct": "", "money_pct": ""}, rules.SPLITS_BAD_PERCENT),
        ({"away_team": "XXX"}, rules.SPLITS_UNKNOWN_TEAM),
        ({"away_team": "NYA"}, rules.SPLITS_UNKNOWN_TEAM),
    ],
)
def test_each_rule_rejects_its_row(changes: dict[str, str], rule: rules.Rule) -> None:
    finding = splits.validate_row(4, _row(**changes))
    assert isinstance(finding, rules.Finding)
    assert finding.rule is rule and finding.row_numbers == (4,)


def test_the_fixture_reads_and_a_file_without_the_columns_is_refused() -> None:
    rows = splits.read_splits_csv(FIXTURE.read_bytes())
    assert len(rows) == 12 and rows[0][0] == 1
    results = [splits.validate_row(number, row) for number, row in rows]
    # rows 1-6 and 12 pass row checks; 6 (a duplicate) and 12 (no such game) fail later
    assert sum(isinstance(r, splits.SplitRow) for r in results) == 7
    with pytest.raises(splits.SplitsFormatError, match="money_pct"):
        splits.read_splits_csv(b"game_date,home_team\n2019-01-01,NYA\n")
