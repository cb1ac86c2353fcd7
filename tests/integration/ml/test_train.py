"""Training every target in one go: one feature build, shared by the targets and the comparisons."""

import json

import numpy as np
import pytest

from app.db.session import session_scope
from app.markets import TARGETS
from app.ml import registry, train
from app.ml.jobs import train_for_params
from app.ml.metrics import probability_metrics
from app.ml.prior import sigmoid
from app.ml.significance import PROMOTION_MARGIN, log_loss_test

pytestmark = pytest.mark.integration


def test_every_target_trains_on_one_feature_build_and_logs_everything(seeded, monkeypatch):
    builds = []
    build_features = train.build_features
    monkeypatch.setattr(
        train, "build_features", lambda *args, **kw: builds.append(1) or build_features(*args, **kw)
    )
    with session_scope(seeded.database_url) as session:
        _, result = train_for_params(
            session, {"targets": list(TARGETS), "seasons": [2018]}, settings=seeded
        )
    monkeypatch.undo()

    assert len(builds) == 1
    outcomes = result["targets"]
    assert list(outcomes) == list(TARGETS)
    client = registry.client(seeded)
    with session_scope(seeded.database_url) as session:
        # 2019 built again, with the season its ratings are carried from (2018).
        games, features = train.season_features(session, [2018, 2019])
        games, features = games[games["season"] == 2019], features[games["season"] == 2019]
    for target, outcome in outcomes.items():
        # The seeded champion was trained on 2018 too: both are compared on every 2019
        # game (outside both windows, so the new version is its refit, the registered one),
        # whose features were sliced from the shared build.
        held_out = train.labelled(games, features, target)
        comparison = outcome["comparison"]
        assert comparison["n_games"] == len(held_out.labels) > 1000
        y = held_out.labels.to_numpy()
        new = registry.load_version(seeded, target, outcome["version"])
        champion = registry.load_version(seeded, target, comparison["champion_version"])
        p_new, p_champion = new.predict(held_out.features), champion.predict(held_out.features)
        expected = probability_metrics(y, p_new)
        assert comparison["new_log_loss"] == pytest.approx(expected["log_loss"], abs=1e-12)
        # The rule: promoted only when the paired advantage, its SE clustered by date, clears
        # the margin at 0.05 / 3.
        test = comparison["test"]
        dates = held_out.games["game_date"].to_numpy()
        again = log_loss_test(y, p_champion, p_new, dates, margin=PROMOTION_MARGIN)
        assert test["advantage"] == pytest.approx(again.advantage, abs=1e-12)
        assert test["standard_error"] == pytest.approx(again.standard_error, rel=1e-9)
        assert test["dates"] == len(set(dates)) and test["alpha"] == pytest.approx(0.05 / 3)
        assert outcome["alias"] == ("champion" if again.significant else "challenger")
        assert f"p {again.p_value:.4f}" in outcome["decision"]
        # The registered version carries its held-out evidence and the weight it earned.
        tags = client.get_model_version(seeded.model_name(target), outcome["version"]).tags
        assert tags["refit"] == "true" and int(tags["n_held_out"]) == outcome["n_held_out"] > 0
        assert tags["held_out_first_date"] > tags["stop_first_date"] >= "2018"
        assert float(tags["blend_weight"]) == outcome["blend_weight"] == new.blend_weight
        # Trees kept only where they earned their place over the prior (the one-SE rule).
        assert float(tags["tree_weight"]) == new.tree_weight in (0.0, 1.0)
        if new.tree_weight == 0:
            prior_alone = sigmoid(new.prior.margin(new.inputs(held_out.features)))
            np.testing.assert_allclose(p_new, prior_alone)
        assert json.loads(tags["edge_evidence"])["alpha"] == pytest.approx(0.05 / 3)

        run = client.get_run(outcome["run_id"])
        assert run.data.tags["data_range"] == "2018-2018"
        assert run.data.tags["feature_set"].startswith("core:")
        assert run.data.params["hyperparameters_version"]
        assert run.data.metrics["held_out_log_loss"] > 0
        assert run.data.metrics["comparison_n_games"] == comparison["n_games"]
        artifacts = {artifact.path for artifact in client.list_artifacts(outcome["run_id"])}
        assert {"feature_importance.json", "calibration.png", "bankroll_curve.png"} <= artifacts
        version = client.get_model_version(seeded.model_name(target), outcome["version"])
        assert version.tags["promotion_decision"] == outcome["decision"]
