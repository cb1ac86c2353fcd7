"""A game's date is the US Eastern date of its first pitch, whatever the UTC date says."""

from datetime import date, datetime

import pytest

from app import clock
from app.predictions.jobs import Items, item_dates


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2024-06-16T02:10:00+00:00", date(2024, 6, 15)),  # 10:10 pm EDT
        ("2024-03-10T04:30:00+00:00", date(2024, 3, 9)),  # 11:30 pm EST, before the switch
        ("2024-03-11T03:59:00+00:00", date(2024, 3, 10)),  # 11:59 pm EDT, after it
        ("2024-11-03T03:59:00+00:00", date(2024, 11, 2)),  # 11:59 pm EDT, before the switch
        ("2024-11-04T04:30:00+00:00", date(2024, 11, 3)),  # 11:30 pm EST, after it
        ("2024-06-15T23:30:00", date(2024, 6, 15)),  # naive: local time as given
    ],
)
def test_local_date(moment: str, expected: date) -> None:
    assert clock.local_date(datetime.fromisoformat(moment)) == expected


def test_a_described_game_after_midnight_utc_counts_on_its_eastern_date() -> None:
    specs = [
        {"home_team": "SEA", "away_team": "OAK", "start_time": "2024-06-16T02:10:00Z"},
        {"home_team": "NYA", "away_team": "BOS", "start_time": "2024-06-15T17:05:00Z"},
    ]
    assert item_dates(None, Items(None, specs)) == [date(2024, 6, 15)] * 2
