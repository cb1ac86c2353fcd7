import numpy as np
import pandas as pd
import pytest

from app.ml.jobs import parse_seasons
from app.ml.targets import home_cover, home_win, total_over
from app.ml.train import chronological_split

GAMES = pd.DataFrame(
    {
        "home_score": [5, 2, 3, np.nan, 4],
        "away_score": [3, 4, 3, np.nan, 3],
        "total_open": [7.5, 6.5, 7.5, 9.0, 7.0],
        "home_rl": [-1.5, 1.5, -1.5, -1.5, -1.0],
    }
)


def test_home_win_is_undefined_for_ties_and_unplayed_games():
    labels = home_win(GAMES)

    assert labels[0] == 1.0 and labels[1] == 0.0
    assert np.isnan(labels[2]) and np.isnan(labels[3])


def test_total_over_excludes_pushes():
    labels = total_over(GAMES)

    assert labels[:3].tolist() == [1.0, 0.0, 0.0]
    assert np.isnan(labels[3]) and np.isnan(labels[4])  # unplayed, push at 7


def test_home_cover_against_the_run_line():
    labels = home_cover(GAMES)

    assert labels[0] == 1.0  # 5 - 1.5 > 3
    assert labels[1] == 0.0  # 2 + 1.5 < 4
    assert np.isnan(labels[4])  # 4 - 1 == 3: push


def test_validation_is_the_latest_dates():
    games = pd.DataFrame({"game_date": pd.to_datetime(["2019-04-01"] * 4 + ["2019-09-01"] * 2)})

    mask = chronological_split(games, 0.2)

    assert mask.tolist() == [False] * 4 + [True] * 2


@pytest.mark.parametrize(
    ("text", "seasons"),
    [("2010-2012", [2010, 2011, 2012]), ("2019", [2019]), ("2016,2018-2019", [2016, 2018, 2019])],
)
def test_season_ranges(text, seasons):
    assert parse_seasons(text) == seasons


def test_a_backwards_range_is_an_error():
    with pytest.raises(ValueError, match="backwards"):
        parse_seasons("2019-2010")


def test_shortened_games_void_totals_and_run_lines_but_not_the_moneyline() -> None:
    frame = pd.DataFrame(
        {
            "home_score": [5, 5, 5, 5],
            "away_score": [3, 3, 3, 3],
            "total_open": [7.5, 7.5, 7.5, 7.5],
            "home_rl": [-1.5, -1.5, -1.5, -1.5],
            # nine innings, home leading after 8.5; rain after seven of nine; a seven-inning
            # doubleheader game that went its distance; no length known (no Retrosheet log)
            "length_outs": [51, 42, 42, None],
            "scheduled_innings": [9, 9, 7, 9],
        }
    )
    np.testing.assert_array_equal(total_over(frame), [1.0, np.nan, 1.0, 1.0])
    np.testing.assert_array_equal(home_cover(frame), [1.0, np.nan, 1.0, 1.0])
    np.testing.assert_array_equal(home_win(frame), [1.0, 1.0, 1.0, 1.0])
