"""Training every target in one go: one feature build, shared by the targets and the comparisons."""

import pytest

from app.db.session import session_scope
from app.markets import TARGETS
from app.ml import registry, train
from app.ml.jobs import train_for_params
from app.ml.metrics import probability_metrics

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
        # 2019 built on its own, as the per-target path used to.
        games, features = train.season_features(session, [2019])
    for target, outcome in outcomes.items():
        # The seeded champion was trained on 2018 too: both are compared on every 2019
        # game, whose features were sliced from the shared build.
        held_out = train.labelled(games, features, target)
        comparison = outcome["comparison"]
        assert comparison["n_games"] == len(held_out.labels) > 1000
        new = registry.load_version(seeded, target, outcome["version"])
        expected = probability_metrics(held_out.labels.to_numpy(), new.predict(held_out.features))
        assert comparison["new_log_loss"] == pytest.approx(expected["log_loss"], abs=1e-12)

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
