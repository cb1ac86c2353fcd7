"""Hyperparameters from the versioned file; a market prior that boosting corrects."""

import numpy as np
import pandas as pd

from app.ml.hyperparameters import hyperparameters, parse_hyperparameters
from app.ml.metrics import log_loss
from app.ml.prior import MarketPrior, logit
from app.ml.train import Dataset, fit_model, labelled


def test_a_target_table_overrides_single_lightgbm_values():
    document = {
        "version": 3,
        "training": {"validation_share": 0.25, "max_rounds": 10, "early_stopping_rounds": 2},
        "lightgbm": {"learning_rate": 0.1, "num_leaves": 7},
        "targets": {"x": {"market_prior": "p", "lightgbm": {"num_leaves": 3}}},
    }

    hyper = parse_hyperparameters(document, "x")

    assert hyper.lightgbm == {"learning_rate": 0.1, "num_leaves": 3}
    assert hyper.market_prior == "p" and hyper.validation_share == 0.25
    assert parse_hyperparameters(document, "y").market_prior == ""
    assert hyper.as_params()["hyperparameters_version"] == 3


def test_the_shipped_file_starts_moneyline_from_the_market():
    assert hyperparameters("moneyline").market_prior == "ml_open_home_prob"
    assert hyperparameters("total_over").market_prior == ""
    assert hyperparameters("home_spread").market_prior == ""


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

    p = model.predict(features[model.valid])

    held_out_y = y[model.valid]
    assert log_loss(held_out_y, p) < log_loss(held_out_y, market[model.valid])


def test_labelled_keeps_the_labelled_games_of_the_seasons_asked_for():
    games = pd.DataFrame(
        {
            "season": [2017, 2017, 2018, 2018, 2019],
            "home_score": [3, 2, 5, None, 1],
            "away_score": [1, 4, 5, None, 0],
        },
        index=[10, 11, 12, 13, 14],
    )
    features = pd.DataFrame({"x": [0.1, 0.2, 0.3, 0.4, 0.5]}, index=games.index)

    every = labelled(games, features, "moneyline")
    some = labelled(games, features, "moneyline", [2017, 2018])

    assert list(every.labels.index) == [10, 11, 14]  # a tie and an unplayed game: no label
    assert list(some.labels) == [1, 0] and list(some.features["x"]) == [0.1, 0.2]
    assert list(some.games.index) == [10, 11]
