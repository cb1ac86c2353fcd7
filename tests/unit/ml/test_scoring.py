"""A prediction recommends a bet only for a champion with evidence of an edge."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from app.bets.fairline import FairLineRules
from app.features.definitions import FEATURE_SET, model_features
from app.ml.registry import LoadedModel
from app.predictions.pipeline import score
from app.staking.pricing import BookQuote


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


def test_the_model_moves_the_fair_line_by_the_weight_its_version_earned():
    now = datetime.now(UTC)
    game = pd.DataFrame(
        [{"home_team": "NYA", "away_team": "BOS", "game_date": now.date().isoformat(),
          "start_time": now + timedelta(hours=2), "home_ml_open": 150, "away_ml_open": -170}]
    )  # fmt: skip
    fresh = now - timedelta(minutes=5)
    quotes = [{"home_ml": [BookQuote("pinnacle", -110, -110, None, fresh),
                           BookQuote("softbook", 150, -170, None, fresh)]}]  # fmt: skip
    features = np.full((1, len(FEATURE_SET)), 3.0)
    payloads = {}
    for weight in (0.0, 0.5):
        model = replace(_model(bets_enabled=False), blend_weight=weight)
        payloads[weight] = score(
            game, features, {"moneyline": model}, 1000.0, [None],
            quotes=quotes, fair_rules=FairLineRules(method="multiplicative"),
        )[0]  # fmt: skip

    p_model = payloads[0.5]["home_ml_probability"]
    unmoved = payloads[0.0]["betting_recommendations"]["home_ml"]
    moved = payloads[0.5]["betting_recommendations"]["home_ml"]
    assert (unmoved["basis"], unmoved["blend_weight"]) == ("fair", 0.0)
    assert unmoved["fair_probability"] == pytest.approx(0.5)
    assert moved["blend_weight"] == 0.5 == payloads[0.5]["models"]["moneyline"]["blend_weight"]
    assert moved["fair_probability"] == pytest.approx(0.5 * 0.5 + 0.5 * p_model)
    assert moved["expected_value"] > unmoved["expected_value"]


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
