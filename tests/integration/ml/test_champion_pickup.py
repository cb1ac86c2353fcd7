"""A running worker serves a newly promoted champion from the next prediction job on."""

from collections.abc import Iterator
from dataclasses import replace

import numpy as np
import pytest

from app.config import Settings
from app.db.session import session_scope
from app.ml import registry, train
from app.ml.hyperparameters import hyperparameters
from app.ml.predict import open_feature_store
from app.ml.train import train_targets

pytestmark = pytest.mark.integration

# More jobs than the worker has processes, so that every process serves the first champion.
JOBS = 4
# Trees that split on the one-season sample, unlike the shipped regularised ones.
LOOSE_TREES = {"learning_rate": 0.1, "num_leaves": 15, "min_data_in_leaf": 20, "lambda_l2": 0.0}


@pytest.fixture
def champion_and_other(
    seeded: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, str]]:
    """The moneyline champion and a second version trained with other hyperparameters.

    The champion holds the alias when the test starts and again after it.
    """
    champion = registry.champion_versions(seeded)["moneyline"]
    # Its best round kept (not the one-SE rule's fewest, which may be the prior alone, as the
    # champion's may be): the two versions must predict differently.
    monkeypatch.setattr(
        train,
        "hyperparameters",
        lambda target: replace(hyperparameters(target), rounds_rule="best"),
    )
    with session_scope(seeded.database_url) as session:
        other = train_targets(session, seeded, ["moneyline"], [2018], params=LOOSE_TREES)[0].version
    monkeypatch.undo()
    registry.promote(seeded, "moneyline", champion, "the champion pickup test starts")
    yield champion, other
    registry.promote(seeded, "moneyline", champion, "the champion pickup test ended")


def _probabilities(settings: Settings, version: str, game_ids: list[int]) -> list[float]:
    """Moneyline probabilities of ``version`` on the stored features of the games."""
    features = open_feature_store(settings).get_many(game_ids)
    assert features.found.all()
    return registry.load_version(settings, "moneyline", version).predict(features.values).tolist()


def _predict(client, game_ids: list[int]) -> tuple[list[str], list[float]]:
    """Submit one moneyline job per game at once; (version, probability) of each when done."""
    submitted = [
        client.post("/api/v1/predict", json={"game_id": game_id, "targets": ["moneyline"]})
        for game_id in game_ids
    ]
    versions, probabilities = [], []
    for response in submitted:
        job = client.get(f"{response.headers['Location']}?wait=30").get_json()
        assert job["status"] == "succeeded", job
        prediction = client.get(job["results_url"]).get_json()["items"][0]
        assert prediction["model_version"] == job["result"]["models"]["moneyline"]["version"]
        versions.append(prediction["model_version"])
        probabilities.append(prediction["home_ml_probability"])
    return versions, probabilities


def test_a_promoted_champion_serves_the_next_job_without_a_worker_restart(
    client, worker, seeded, champion_and_other
):
    champion, other = champion_and_other
    games = client.get("/api/v1/games?date=2019-06-15").get_json()[:JOBS]
    game_ids = [game["id"] for game in games]
    expected = {version: _probabilities(seeded, version, game_ids) for version in (champion, other)}
    assert not np.allclose(expected[champion], expected[other], rtol=0, atol=1e-6)

    before = _predict(client, game_ids)
    promoted = client.post("/api/v1/models/bullpen-moneyline/promote", json={"version": other})
    after = _predict(client, game_ids)

    assert before[0] == [champion] * JOBS
    assert before[1] == pytest.approx(expected[champion], rel=1e-12)
    assert promoted.status_code == 200, promoted.get_json()
    assert after[0] == [other] * JOBS
    assert after[1] == pytest.approx(expected[other], rel=1e-12)
