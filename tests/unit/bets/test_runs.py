"""One run distribution: a probability distribution, monotone in every line, and it gives
back the moneyline and total it was solved from."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.bets.runs import RunModel, RunModels, price_home_run_lines

home_wins = st.floats(0.28, 0.72)
overs = st.floats(0.35, 0.65)
totals = st.sampled_from([6.5, 7.0, 7.5, 8.0, 8.5, 9.0, 9.5, 10.0, 10.5, 11.5])
means = st.floats(2.0, 7.0)


@settings(max_examples=40, deadline=None)
@given(home_wins, totals, overs)
def test_it_reproduces_the_moneyline_and_total_it_was_solved_from(home, line, over) -> None:
    model = RunModel.solve(home, line, over)
    assert model.home_win() == pytest.approx(home, abs=1e-7)
    assert model.over_given_no_push(line) == pytest.approx(over, abs=1e-7)


@settings(max_examples=40, deadline=None)
@given(means, means, st.floats(1.5, 30.0))
def test_the_scores_are_a_distribution_with_no_ties(home, away, dispersion) -> None:
    scores = RunModel(home, away, dispersion).scores
    assert (scores >= 0).all()
    assert scores.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.diag(scores).sum() == 0.0  # a final score is never a tie
    model = RunModel(home, away, dispersion)
    for line in (7.0, 8.5):
        assert sum(model.total(line)) == pytest.approx(1.0, abs=1e-12)
    for line in (-2.0, -1.5, 1.5):
        assert sum(model.run_line(line)) == pytest.approx(1.0, abs=1e-12)
    # A half-run line never pushes; the moneyline is the run line at -0.5.
    assert model.total(8.5)[2] == 0.0 and model.run_line(-1.5)[2] == 0.0
    assert model.run_line(-0.5)[0] == pytest.approx(model.home_win())


@settings(max_examples=30, deadline=None)
@given(means, means)
def test_every_line_is_monotone(home, away) -> None:
    model = RunModel(home, away)
    lines = np.arange(4.5, 14.0, 0.5)  # sums of the same mass may differ in the last bit
    over = [model.total(line)[0] for line in lines]
    under = [model.total(line)[1] for line in lines]
    assert all(a >= b - 1e-12 for a, b in itertools.pairwise(over))
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(under))
    spreads = np.arange(-3.5, 4.0, 0.5)
    cover = [model.run_line(line)[0] for line in spreads]
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(cover))


def test_a_stronger_home_team_and_a_higher_total_move_the_means_their_way() -> None:
    even = RunModel.solve(0.5, 8.5, 0.5)
    favourite = RunModel.solve(0.65, 8.5, 0.5)
    high = RunModel.solve(0.5, 10.5, 0.5)
    assert favourite.home_mean > even.home_mean and favourite.away_mean < even.away_mean
    assert high.home_mean + high.away_mean > even.home_mean + even.away_mean + 1.5
    # The favourite by the moneyline is more likely to cover -1.5 than an even home team.
    assert favourite.run_line(-1.5)[0] > even.run_line(-1.5)[0]
    # Moved by a model that likes the over more: every total line moves up together.
    moved = RunModel.solve(0.5, 8.5, 0.55)
    assert all(moved.total(x)[0] > even.total(x)[0] for x in (7.5, 8.5, 9.5))


@pytest.mark.parametrize("bad", [(0.0, 8.5, 0.5), (0.5, 8.5, 1.0), (0.5, -1.0, 0.5)])
def test_impossible_inputs_are_refused(bad) -> None:
    with pytest.raises(ValueError):
        RunModel.solve(*bad)


def test_many_games_solved_at_once_are_the_games_solved_one_by_one() -> None:
    rng = np.random.default_rng(7)
    n = 25
    home = rng.uniform(0.3, 0.7, n)
    line = rng.choice([6.5, 7.0, 8.5, 9.0, 11.5], n)
    over = rng.uniform(0.38, 0.62, n)
    home[2], over[4], line[6] = np.nan, 1.0, 0.0  # no model for these
    spread = np.where(home > 0.5, -1.5, 1.5)
    spread[8] = -2.0  # a whole-number run line: priced given no push

    models = RunModels.solve(home, line, over)
    cover = models.home_cover_given_no_push(spread)

    unsolvable = np.zeros(n, bool)
    unsolvable[[2, 4, 6]] = True
    assert np.isnan(cover[unsolvable]).all() and np.isfinite(cover[~unsolvable]).all()
    np.testing.assert_allclose(models.home_win()[~unsolvable], home[~unsolvable], atol=1e-7)
    np.testing.assert_allclose(
        models.over_given_no_push(line)[~unsolvable], over[~unsolvable], atol=1e-7
    )
    for i in np.flatnonzero(~unsolvable):
        alone = RunModel.solve(home[i], line[i], over[i])
        assert cover[i] == pytest.approx(alone.home_cover_given_no_push(spread[i]), abs=1e-7)
    assert np.array_equal(price_home_run_lines(home, line, over, spread), cover, equal_nan=True)
