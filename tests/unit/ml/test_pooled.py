"""The pooled report's numbers and goals on synthetic games."""

import numpy as np
import pandas as pd
import pytest

from app.bets.runs import RunModel, price_home_run_lines
from app.ml.evaluation import Evaluation
from app.ml.metrics import game_log_losses
from app.ml.pooled import (
    Games,
    PooledResult,
    _runs_metrics,
    goals,
    run_distribution_games,
    summarise,
    table_lines,
)


def _games(seed: int, n_dates: int = 100, per_date: int = 12) -> tuple[Games, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = n_dates * per_date
    truth = rng.uniform(0.3, 0.7, n)
    y = (rng.uniform(size=n) < truth).astype(float)
    open_ = np.clip(truth + rng.normal(0, 0.08, n), 0.05, 0.95)
    close = 0.5 * open_ + 0.5 * truth  # the close moves toward the truth
    dates = np.repeat(np.arange(n_dates) + 1000 * seed, per_date)
    games = Games(
        dates=dates,
        y=y,
        model=truth,
        references={"calibrated_open": (open_, y), "open": (open_, y), "close": (close, y)},
        clv=np.sign(truth - open_) * (close - open_),
    )
    return games, open_


def test_a_model_that_knows_the_truth_beats_each_reference_and_leads_the_close():
    games, open_ = _games(1)

    stats = summarise(games)

    expected = game_log_losses(games.y, open_).mean() - game_log_losses(games.y, games.model).mean()
    assert stats["advantage"]["open"]["mean"] == pytest.approx(expected)
    assert stats["advantage"]["open"]["t"] > 2
    assert stats["log_loss"]["model"] < stats["log_loss"]["close"] < stats["log_loss"]["open"]
    assert stats["lean_clv"]["mean"] > 0 and stats["lean_clv"]["t"] > 2
    assert stats["mean_predicted"] == pytest.approx(games.model.mean())
    assert stats["actual_rate"] == pytest.approx(games.y.mean())
    assert 0 < stats["ece_floor"]["mean"] < stats["ece_floor"]["p95"]


def test_pooling_concatenates_the_seasons():
    first, _ = _games(1)
    second, _ = _games(2)

    pooled = summarise(Games.concatenate([first, second]))

    assert pooled["n"] == len(first.y) + len(second.y)
    assert pooled["dates"] == 200
    both = np.concatenate([first.model, second.model])
    assert pooled["mean_predicted"] == pytest.approx(both.mean())


def test_a_market_without_an_opening_quote_has_no_open_and_no_lean():
    games, _ = _games(3)
    games.references["open"] = None
    games.clv = np.full(len(games.y), np.nan)

    stats = summarise(games)

    assert stats["log_loss"]["open"] is None and stats["advantage"]["open"] is None
    assert stats["lean_clv"] is None


def _stats(advantage: float, error: float, ece: float = 0.01) -> dict:
    return {
        "advantage": {"calibrated_open": {"mean": advantage, "standard_error": error}},
        "ece": ece,
    }


def test_the_goals_are_checked_as_the_issue_states_them():
    targets = {
        "moneyline": {
            "pooled": _stats(-0.0003, 0.0004),  # worse, but within 1 SE: met
            "seasons": {"2018": _stats(-0.0007, 0.0004), "2019": _stats(0.0001, 0.0004)},
        },
        "total_over": {
            "pooled": _stats(-0.0005, 0.0004),  # worse by more than 1 SE: not met
            "seasons": {
                "2018": _stats(-0.0009, 0.0004, ece=0.03),  # worse by more than 2 SE
                "2019": _stats(0.0, 0.0004, ece=0.015),
            },
        },
    }

    verdict = goals(targets)

    pooled = verdict["pooled_no_worse_than_calibrated_open_plus_1_se"]
    assert pooled["per_target"] == {"moneyline": True, "total_over": False}
    assert not pooled["met"]
    seasons = verdict["no_season_worse_than_calibrated_open_by_2_se"]
    assert seasons["per_target"]["moneyline"] == {"2018": True, "2019": True}
    assert seasons["per_target"]["total_over"]["2018"] is False and not seasons["met"]
    ece = verdict["totals_ece_at_most_0.02_in_all_seasons_but_one"]
    assert ece["per_season"] == {"2018": False, "2019": True} and ece["met"]


def _season_frame(seed: int, n_dates: int = 6, per_date: int = 5):
    """A season's games in the pooled report's order, its models' probabilities at the open
    and home_spread's evaluation (one game unlabelled, one the models cannot price)."""
    rng = np.random.default_rng(seed)
    n = n_dates * per_date
    p_home = rng.uniform(0.35, 0.68, n)
    p_over = rng.uniform(0.42, 0.58, n)
    p_over[3] = np.nan  # no totals prediction: unpriced
    frame = pd.DataFrame(
        {
            "total_open": rng.choice([7.0, 7.5, 8.5, 9.5, 10.0], n),
            "home_rl": np.where(p_home > 0.5, -1.5, 1.5),
        }
    )
    rows = np.ones(n, bool)
    rows[0] = False  # no home_spread label
    y = rng.integers(0, 2, rows.sum()).astype(float)
    evaluation = Evaluation(
        target="home_spread",
        n_labelled=int(rows.sum()),
        metrics={},
        y=y,
        p_model=rng.uniform(0.3, 0.6, rows.sum()),
        p_market={},
        simulation=None,
        rows=rows,
        dates=np.repeat(np.arange(n_dates) + 100 * seed, per_date)[rows],
    )
    return frame, p_home, p_over, evaluation


def _cover_one_by_one(frame, p_home, p_over, rows) -> np.ndarray:
    """Each game's price solved alone (the scalar path, not the vectorised one)."""
    out = []
    for i in np.flatnonzero(rows):
        try:
            model = RunModel.solve(p_home[i], frame["total_open"][i], p_over[i])
        except ValueError:
            out.append(np.nan)
            continue
        out.append(model.home_cover_given_no_push(frame["home_rl"][i]))
    return np.array(out)


def _clustered_se(d: np.ndarray, dates: np.ndarray) -> float:
    """The SE of mean(d) clustered by date, with the small-sample factor G / (G - 1)."""
    groups = np.unique(dates)
    scores = np.array([(d[dates == g] - d.mean()).sum() for g in groups])
    g = len(groups)
    return float(np.sqrt(g / (g - 1) * (scores**2).sum()) / len(d))


def _ece(y: np.ndarray, p: np.ndarray) -> float:
    total = 0.0
    for b in range(10):
        inside = (p >= b / 10) & ((p < (b + 1) / 10) if b < 9 else (p <= 1))
        if inside.any():
            total += inside.sum() / len(p) * abs(y[inside].mean() - p[inside].mean())
    return total


def test_the_run_distribution_is_scored_against_the_run_line_model_on_the_same_games():
    parts, expected_parts = {}, []
    for season in (2018, 2019):
        frame, p_home, p_over, evaluation = _season_frame(season)
        parts[season] = run_distribution_games(
            frame, p_home, p_over, evaluation, price_home_run_lines
        )
        price = _cover_one_by_one(frame, p_home, p_over, evaluation.rows)
        priced = np.isfinite(price)
        assert (~priced).sum() == parts[season].unpriced == 1
        expected_parts.append(
            (
                evaluation.y[priced],
                price[priced],
                evaluation.p_model[priced],
                evaluation.dates[priced],
            )
        )
        np.testing.assert_allclose(parts[season].distribution, price[priced], atol=1e-7)
    result = PooledResult(seasons=[2018, 2019], runs=parts, runs_seconds=1.5)

    body = result.to_dict()["run_distribution"]

    for stats, (y, price, model, dates) in [
        (body["seasons"]["2018"], expected_parts[0]),
        (body["seasons"]["2019"], expected_parts[1]),
        (body["pooled"], tuple(np.concatenate(a) for a in zip(*expected_parts, strict=True))),
    ]:
        loss = -(y * np.log(price) + (1 - y) * np.log(1 - price))
        model_loss = -(y * np.log(model) + (1 - y) * np.log(1 - model))
        assert stats["n"] == len(y)
        assert stats["log_loss"]["distribution"] == pytest.approx(loss.mean(), abs=1e-7)
        assert stats["log_loss"]["home_spread_model"] == pytest.approx(model_loss.mean())
        advantage = stats["advantage_over_home_spread_model"]
        assert advantage["mean"] == pytest.approx((model_loss - loss).mean(), abs=1e-7)
        assert advantage["standard_error"] == pytest.approx(
            _clustered_se(model_loss - loss, dates), rel=1e-5
        )
        assert stats["ece"] == pytest.approx(_ece(y, price), abs=1e-6)
        assert stats["home_spread_model_ece"] == pytest.approx(_ece(y, model))
        assert 0 < stats["ece_floor"]["mean"] < stats["ece_floor"]["p95"]
        assert stats["mean_predicted"] == pytest.approx(price.mean(), abs=1e-7)
    assert body["pooled"]["unpriced"] == 2 and body["seconds"] == 1.5
    lines = table_lines(result.to_dict())
    pooled_row = next(line for line in lines if line.strip().startswith("pooled"))
    assert f"{body['pooled']['log_loss']['distribution']:.5f}" in pooled_row
    assert "run_distribution_pooled_ece" in _runs_metrics(body)
