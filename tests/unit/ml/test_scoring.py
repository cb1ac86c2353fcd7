"""A prediction recommends a bet only for a champion with evidence of an edge."""

import lightgbm as lgb
import numpy as np
import pandas as pd

from app.features.definitions import FEATURE_SET, model_features
from app.ml.predict import score
from app.ml.registry import LoadedModel


def _model(bets_enabled: bool) -> LoadedModel:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, len(FEATURE_SET)))
    y = (x[:, 0] > 0).astype(int)
    booster = lgb.train(
        {"objective": "binary", "verbosity": -1, "min_data_in_leaf": 5}, lgb.Dataset(x, y), 5
    )
    return LoadedModel(
        target="moneyline",
        name="bullpen-moneyline",
        version="1",
        booster=booster,
        feature_fingerprint=FEATURE_SET.fingerprint,
        feature_names=FEATURE_SET.names,
        bets_enabled=bets_enabled,
    )


def _score(model: LoadedModel) -> dict:
    # The model is sure the home side wins; the market offers it at +150.
    features = np.full((1, len(FEATURE_SET)), 3.0)
    game = pd.DataFrame(
        [{"home_team": "NYA", "away_team": "BOS", "game_date": "2019-06-01",
          "home_ml_open": 150, "away_ml_open": -170}]
    )  # fmt: skip
    return score(game, features, {"moneyline": model}, 1000.0, [None])[0]


def test_a_champion_with_evidence_recommends_the_value_bet():
    prediction = _score(_model(bets_enabled=True))

    assert prediction["home_ml_probability"] > 0.6
    assert prediction["betting_recommendations"]["home_ml"]["side"] == "home"


def test_a_champion_without_evidence_predicts_but_recommends_no_bet():
    prediction = _score(_model(bets_enabled=False))

    assert prediction["home_ml_probability"] > 0.6
    assert prediction["home_ml_edge"] > 0
    assert prediction["betting_recommendations"] == {}
    assert prediction["risk_level"] == "none"


def test_a_model_of_a_subset_reads_its_own_columns_of_the_stored_vector():
    """A model reads only the features known when its price is posted: served the store's
    whole vector (or a frame), it picks its own columns, by name."""
    names = model_features("moneyline")
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, len(names)))
    y = (x[:, 0] > 0).astype(int)
    booster = lgb.train(
        {"objective": "binary", "verbosity": -1, "min_data_in_leaf": 5}, lgb.Dataset(x, y), 5
    )
    model = LoadedModel(
        target="moneyline", name="bullpen-moneyline", version="1", booster=booster,
        feature_fingerprint=FEATURE_SET.fingerprint, feature_names=names,
    )  # fmt: skip
    stored = np.full((300, len(FEATURE_SET)), 99.0)  # features the model must not read
    stored[:, [FEATURE_SET.names.index(name) for name in names]] = x
    expected = booster.predict(x)
    np.testing.assert_allclose(model.predict(stored), expected)
    np.testing.assert_allclose(
        model.predict(pd.DataFrame(stored, columns=FEATURE_SET.names)), expected
    )
    assert "run_line_home" not in names
