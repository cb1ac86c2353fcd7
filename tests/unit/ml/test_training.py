"""Hyperparameters from the versioned file; a market prior that boosting corrects."""

import numpy as np
import pandas as pd

from app.features.definitions import FEATURE_SET, model_features
from app.games.models import ODDS_COLUMNS
from app.ml.hyperparameters import hyperparameters, parse_hyperparameters
from app.ml.metrics import log_loss
from app.ml.prior import MarketPrior, fit_market_prior, logit, sigmoid
from app.ml.registry import prior_from_tags
from app.ml.train import Dataset, fit_model, labelled, prior_tags


def test_a_target_table_overrides_single_lightgbm_values():
    document = {
        "version": 3,
        "training": {
            "holdout_share": 0.1,
            "validation_share": 0.25,
            "max_rounds": 10,
            "early_stopping_rounds": 2,
        },
        "lightgbm": {"learning_rate": 0.1, "num_leaves": 7},
        "targets": {"x": {"market_prior": "p", "lightgbm": {"num_leaves": 3}}},
    }

    hyper = parse_hyperparameters(document, "x")

    assert hyper.lightgbm == {"learning_rate": 0.1, "num_leaves": 3}
    assert hyper.market_prior == "p" and hyper.validation_share == 0.25
    assert hyper.holdout_share == 0.1
    assert parse_hyperparameters(document, "y").market_prior == ""
    assert hyper.as_params()["hyperparameters_version"] == 3


def test_the_shipped_file_starts_every_target_from_an_opening_market():
    assert hyperparameters("moneyline").market_prior == "ml_open_home_prob"
    assert hyperparameters("total_over").market_prior == "total_open_over_prob"
    spread = hyperparameters("home_spread")
    assert (spread.market_prior, spread.prior_split) == ("ml_open_home_prob", "run_line_home")


def test_a_missing_market_price_falls_back_to_the_base_rate():
    prior = MarketPrior(feature_index=0, fallback_probability=0.54)

    margin = prior.margin(np.array([[0.6, 1.0], [np.nan, 1.0]]))

    assert np.allclose(margin, logit(np.array([0.6, 0.54])))


def test_fitting_with_a_prior_is_never_worse_than_the_market_it_starts_from():
    rng = np.random.default_rng(7)
    n = 4000
    market = rng.uniform(0.3, 0.7, n)
    signal = rng.normal(size=n)
    truth = 1 / (1 + np.exp(-(logit(market) + 0.8 * signal)))
    y = (rng.uniform(size=n) < truth).astype(int)
    games = pd.DataFrame({"game_date": pd.date_range("2015-04-01", periods=n, freq="h").floor("D")})
    features = pd.DataFrame({"ml_open_home_prob": market, "signal": signal})
    model = fit_model(Dataset(features, pd.Series(y), games), "moneyline")

    p = model.predict_selection(features[model.held_out])

    held_out_y = y[model.held_out]
    assert log_loss(held_out_y, p) < log_loss(held_out_y, market[model.held_out])


def _synthetic(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
    """A market whose favourites win more often than it says, and a home run line."""
    rng = np.random.default_rng(seed)
    market = rng.uniform(0.3, 0.7, n)
    run_line = np.where(market > 0.5, -1.5, 1.5)
    favourite = (run_line < 0).astype(float)
    truth = sigmoid(0.2 + 1.3 * logit(market) - 0.9 * favourite + 0.4 * favourite * logit(market))
    y = (rng.uniform(size=n) < truth).astype(int)
    features = pd.DataFrame({"ml_open_home_prob": market, "run_line_home": run_line})
    games = pd.DataFrame({"game_date": pd.date_range("2015-04-01", periods=n, freq="h").floor("D")})
    return features, y, games


def test_the_prior_recovers_a_known_calibration_of_the_market():
    features, y, _ = _synthetic(40_000, seed=3)

    prior = fit_market_prior(features.to_numpy(), y, feature_index=0, split_index=1)

    assert np.allclose(prior.coefficients, (0.2, 1.3, -0.9, 0.4), atol=0.1)
    assert abs(prior.fallback_probability - y.mean()) < 1e-12


def test_the_selection_model_never_sees_its_stopping_or_held_out_games():
    features, y, games = _synthetic(6000, seed=5)
    model = fit_model(Dataset(features, pd.Series(y), games), "home_spread")
    flipped = np.where(model.held_out, 1 - y, y)

    again = fit_model(Dataset(features, pd.Series(flipped), games), "home_spread")

    # The held-out labels chose nothing before the refit: same prior, same rounds, same trees.
    assert again.selection_prior == model.selection_prior
    assert again.rounds == model.rounds
    np.testing.assert_array_equal(
        again.predict_selection(features), model.predict_selection(features)
    )
    # The refit is fitted on every game, the held-out ones too.
    assert again.prior != model.prior


def test_three_chronological_slices_then_a_refit_on_every_date():
    features, y, games = _synthetic(6000, seed=11)
    model = fit_model(Dataset(features, pd.Series(y), games), "home_spread")
    dates = games["game_date"]

    fit, stop, held_out = model.fitted, model.stop, model.held_out
    assert (fit ^ stop ^ held_out).all() and not (fit & stop).any()
    assert dates[fit].max() < dates[stop].min() <= dates[stop].max() < dates[held_out].min()
    share = held_out.sum() / len(y)
    assert 0.17 < share < 0.23 and 0.17 < stop.sum() / len(y) < 0.23
    # The refit asks for the rounds early stopping chose; LightGBM ends sooner when no leaf
    # can be split any more (on this synthetic set, after ~300 of them).
    assert 0 < model.booster.num_trees() <= model.rounds
    assert model.prior == fit_market_prior(features.to_numpy(), y, 0, 1)


def test_a_registered_version_rebuilds_the_prior_it_was_trained_with():
    features, y, games = _synthetic(6000, seed=9)
    model = fit_model(Dataset(features, pd.Series(y), games), "home_spread")
    names = tuple(features.columns)

    rebuilt = prior_from_tags(prior_tags(model.prior, model.hyper), names)

    assert rebuilt == model.prior
    untagged = {"market_prior": "ml_open_home_prob", "prior_fallback": "0.5"}
    assert prior_from_tags(untagged, names) == MarketPrior(0, 0.5)


def test_labelled_keeps_the_labelled_priced_games_of_the_seasons_asked_for():
    games = pd.DataFrame(
        {
            "season": [2017, 2017, 2018, 2018, 2019, 2019],
            "home_score": [3, 2, 5, None, 1, 4],
            "away_score": [1, 4, 5, None, 0, 2],
        },
        index=[10, 11, 12, 13, 14, 15],
    ).assign(**{column: -110.0 for column in ODDS_COLUMNS})
    games.loc[15, list(ODDS_COLUMNS)] = np.nan  # results only: no price of any market
    features = pd.DataFrame(
        {name: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6] for name in FEATURE_SET.names}, index=games.index
    )

    every = labelled(games, features, "moneyline")
    some = labelled(games, features, "moneyline", [2017, 2018])

    # A tie and an unplayed game have no label; a game without prices is not trained on.
    assert list(every.labels.index) == [10, 11, 14]
    assert list(some.labels) == [1, 0] and list(some.features["month"]) == [0.1, 0.2]
    assert list(some.games.index) == [10, 11]
    # Only what the open knew: the closing run line is the run-line market's input alone.
    assert tuple(every.features.columns) == model_features("moneyline")
    assert "run_line_home" not in every.features
    assert "run_line_home" in labelled(games, features, "home_spread").features


def test_without_a_quoted_run_line_the_moneyline_favourite_lays_the_run() -> None:
    features, y, _ = _synthetic(4000, seed=7)
    prior = fit_market_prior(features.to_numpy(), y, feature_index=0, split_index=1)
    unquoted = features.assign(run_line_home=np.nan).to_numpy()
    # A morning with no run line yet prices each game as if its favourite laid 1.5 runs.
    np.testing.assert_allclose(prior.margin(unquoted), prior.margin(features.to_numpy()))
