"""The market catalogue: one outcome rule for labels and grading."""

import numpy as np
import pandas as pd
import pytest

from app.markets import BY_KEY, BY_SHORT, MARKETS, MONEYLINE, RUN_LINE, TARGETS, TOTAL, by_key

GAMES = pd.DataFrame(
    {
        "home_score": [5, 2, 3, np.nan, 4],
        "away_score": [3, 4, 3, np.nan, 3],
        "total_open": [7.5, 6.5, 7.5, 9.0, 7.0],
        "home_rl": [-1.5, 1.5, -1.5, -1.5, -1.0],
    }
)


def test_each_market_is_declared_once_under_its_three_names() -> None:
    assert TARGETS == ("moneyline", "total_over", "home_spread")
    assert list(BY_KEY) == ["home_ml", "total_over", "home_spread"]
    assert list(BY_SHORT) == ["moneyline", "total", "run_line"]
    assert by_key("home_ml") is MARKETS["moneyline"]
    with pytest.raises(ValueError, match="unknown market"):
        by_key("first_five")


def test_the_line_a_model_is_asked_about() -> None:
    assert MONEYLINE.line is None and not MONEYLINE.has_line
    assert TOTAL.line == "total_open"  # the opening total
    assert RUN_LINE.line == "home_rl"  # no opening run line is kept: the stored one


@pytest.mark.parametrize("market", list(MARKETS.values()), ids=TARGETS)
def test_grading_agrees_with_the_label_on_every_game(market) -> None:
    # One rule: a yes bet wins exactly when the label is 1, loses at 0, pushes at NaN.
    rng = np.random.default_rng(7)
    frame = pd.DataFrame(
        {
            "home_score": rng.integers(0, 12, 300),
            "away_score": rng.integers(0, 12, 300),
            "total_open": rng.choice([6.5, 7.0, 8.5, 9.0], 300),
            "home_rl": rng.choice([-1.5, 1.5, -1.0], 300),
        }
    )
    labels = market.outcome(frame).to_numpy()
    for row, label in zip(frame.itertuples(index=False), labels, strict=True):
        line = getattr(row, market.line) if market.line else None
        yes = market.grade(market.yes, line, row.home_score, row.away_score, True)
        no = market.grade(market.no, line, row.home_score, row.away_score, True)
        expected = {1.0: ("won", "lost"), 0.0: ("lost", "won")}.get(label, ("push", "push"))
        assert (yes, no) == expected


def test_a_short_game_voids_lines_not_the_moneyline() -> None:
    assert TOTAL.grade("over", 7.5, 5, 3, full_length=False) == "void"
    assert RUN_LINE.grade("home", -1.5, 5, 3, full_length=False) == "void"
    assert MONEYLINE.grade("home", None, 5, 3, full_length=False) == "won"
    assert TOTAL.grade("over", None, 5, 3, full_length=True) == "void"  # no line: no bet
    with pytest.raises(ValueError, match="no side"):
        TOTAL.grade("home", 7.5, 5, 3, full_length=True)
