"""The pooled report's numbers and goals on synthetic games."""

import numpy as np
import pytest

from app.ml.metrics import game_log_losses
from app.ml.pooled import Games, goals, summarise


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
