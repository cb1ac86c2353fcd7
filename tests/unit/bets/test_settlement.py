import pytest

from app.bets.settlement import GameResult, clv_at_close, grade
from app.odds import profit


def _result(home, away, *, full_length=True, void=False) -> GameResult:
    return GameResult(home, away, full_length, void)


@pytest.mark.parametrize(
    ("market", "side", "line", "score", "status"),
    [
        ("home_ml", "home", None, (5, 3), "won"),
        ("home_ml", "away", None, (5, 3), "lost"),
        ("home_ml", "home", None, (4, 4), "push"),
        ("total_over", "over", 8.5, (5, 4), "won"),
        ("total_over", "under", 8.5, (5, 4), "lost"),
        ("total_over", "over", 9.0, (5, 4), "push"),
        ("total_over", "under", 9.0, (5, 4), "push"),
        ("home_spread", "home", -1.5, (5, 3), "won"),
        ("home_spread", "home", -1.5, (4, 3), "lost"),
        ("home_spread", "away", -1.5, (4, 3), "won"),
        ("home_spread", "away", 1.5, (2, 3), "lost"),
        ("home_spread", "home", -1.0, (4, 3), "push"),
    ],
)
def test_grading(market, side, line, score, status):
    assert grade(market, side, line, _result(*score)) == status


def test_a_shortened_game_voids_totals_and_run_lines_but_not_the_moneyline():
    short = _result(5, 1, full_length=False)

    assert grade("total_over", "over", 5.5, short) == "void"
    assert grade("home_spread", "home", -1.5, short) == "void"
    assert grade("home_ml", "home", None, short) == "won"


def test_a_void_game_voids_everything_and_an_unfinished_one_waits():
    assert grade("home_ml", "home", None, _result(None, None, void=True)) == "void"
    assert grade("home_ml", "home", None, _result(None, None)) is None
    assert grade("total_over", "over", None, _result(3, 2)) == "void"  # no line to grade


def test_profit_from_american_odds():
    assert profit("won", 100, 150) == pytest.approx(150)
    assert profit("won", 110, -110) == pytest.approx(100)
    assert profit("lost", 110, -110) == -110
    assert profit("push", 50, -110) == 0
    assert profit("void", 50, 200) == 0


def test_clv_is_fair_closing_probability_minus_implied_price_taken():
    # Took +110 (implied 0.47619); closed -120/+100: fair side = 0.54545/(0.54545+0.5)
    expected = (120 / 220) / (120 / 220 + 0.5) - 100 / 210
    assert clv_at_close(110, -120, 100, "multiplicative") == pytest.approx(expected)
    # Additive (the default, as BULLPEN_DEVIG's): half the overround off each side.
    additive = 120 / 220 - (120 / 220 + 0.5 - 1) / 2 - 100 / 210
    assert clv_at_close(110, -120, 100) == pytest.approx(additive)
    # Betting at the close of a -110/-110 market costs the vig: negative CLV.
    assert clv_at_close(-110, -110, -110) == pytest.approx(0.5 - 110 / 210)
