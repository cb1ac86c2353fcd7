import pandas as pd
import pytest

from app.ml.jobs import parse_seasons
from app.ml.train import chronological_split


def test_validation_is_the_latest_dates():
    games = pd.DataFrame({"game_date": pd.to_datetime(["2019-04-01"] * 4 + ["2019-09-01"] * 2)})

    mask = chronological_split(games, 0.2)

    assert mask.tolist() == [False] * 4 + [True] * 2


@pytest.mark.parametrize(
    ("text", "seasons"),
    [
        ("2010-2012", [2010, 2011, 2012]),
        ("2019", [2019]),
        ("2016,2018-2019", [2016, 2018, 2019]),
        (" 2013 - 2014 ", [2013, 2014]),
    ],
)
def test_season_ranges(text, seasons):
    assert parse_seasons(text) == seasons


def test_a_backwards_range_is_an_error():
    with pytest.raises(ValueError, match="backwards"):
        parse_seasons("2019-2010")


@pytest.mark.parametrize("text", ["abc", "2013-", "-2019", "2013-x", "2013..2019", "20 13"])
def test_text_that_is_not_a_season_is_an_error(text):
    with pytest.raises(ValueError, match="not a season"):
        parse_seasons(text)
