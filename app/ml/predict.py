"""Model probabilities: the champions of a job, each target's probability of a chunk's games
and the explanation of every prediction. No pricing here (``app.bets.recommend``); the chunk's
steps are put together by ``app.predictions.pipeline``.
"""

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import redis

from app.config import Settings
from app.features.definitions import FEATURE_SET
from app.features.store import FeatureStore
from app.ml.registry import ChampionCache, LoadedModel

TOP_CONTRIBUTIONS = 3


class FeatureSetMismatch(RuntimeError):
    """A champion was trained on another feature set than the one the store serves."""


def open_feature_store(settings: Settings, ttl_seconds: int | None = None) -> FeatureStore:
    """The feature store of the current feature set at ``settings.feature_store_url``."""
    return FeatureStore(redis.Redis.from_url(settings.feature_store_url), FEATURE_SET, ttl_seconds)


def champions_for(champions: ChampionCache, targets: Sequence[str]) -> dict[str, LoadedModel]:
    """The champions of ``targets`` now, read once so that a whole job uses the same versions."""
    models = {}
    for target, model in champions.champions(targets).items():
        if model is None:
            continue
        if model.feature_fingerprint != FEATURE_SET.fingerprint:
            raise FeatureSetMismatch(
                f"{model.name} v{model.version} expects features {model.feature_fingerprint}, "
                f"the store serves {FEATURE_SET.label} ({FEATURE_SET.fingerprint})"
            )
        models[target] = model
    return models


def pinned_models(
    champions: ChampionCache, refs: dict[str, dict[str, str]]
) -> dict[str, LoadedModel]:
    """The exact versions ``refs`` names (:func:`model_refs`), as a job was planned with."""
    return {target: champions.version(target, ref["version"]) for target, ref in refs.items()}


def model_refs(models: dict[str, LoadedModel]) -> dict[str, dict[str, str]]:
    """Each target's model name and version, as a job records them."""
    return {
        target: {"name": m.name, "version": m.version, "blend_weight": m.blend_weight}
        for target, m in models.items()
    }


@dataclass(frozen=True)
class ModelScores:
    """Each target's probability of the chunk's games (a model's "yes" side), what each
    model has earned (bets on its edge; calibration; the weight of its probability beside the
    fair line), and every game's explanation."""

    probabilities: dict[str, np.ndarray]
    bets_enabled: dict[str, bool]
    calibrated: dict[str, bool]
    blend_weights: dict[str, float]
    explanations: list[list[dict]]


def predict_probabilities(
    models: dict[str, LoadedModel], features: np.ndarray, *, max_ece: float
) -> ModelScores:
    """Score ``features`` (one row per game) with every model, and explain each row with the
    first model (the features that moved its log-odds most)."""
    explained = next(iter(models.values()), None)
    return ModelScores(
        probabilities={target: model.predict(features) for target, model in models.items()},
        bets_enabled={target: model.bets_enabled for target, model in models.items()},
        calibrated={target: model.calibrated(max_ece) for target, model in models.items()},
        blend_weights={target: model.blend_weight for target, model in models.items()},
        explanations=(
            _explanations(explained, features)
            if explained is not None
            else [[] for _ in range(len(features))]
        ),
    )


def _nullable(values: np.ndarray) -> list[float | None]:
    """Python floats, None where NaN."""
    return [None if value != value else value for value in values.tolist()]


def _explanations(model: LoadedModel, features: np.ndarray) -> list[list[dict]]:
    """The features that moved the model's log-odds most, for every row.

    A model boosted from a market prior owes the prior's log-odds to its market
    feature, so that feature is credited with them.
    """
    # One thread, as LoadedModel.predict: a chunk's rows take well under a millisecond so,
    # while LightGBM's default OpenMP team waits tens of ms on a busy machine.
    features = model.inputs(features)
    contributions = model.booster.predict(features, pred_contrib=True, num_threads=1)
    # The last column is the bias; a model serving its prior alone owes its trees nothing.
    per_feature = contributions[:, :-1] * (model.tree_weight if model.prior is not None else 1.0)
    if model.prior is not None:
        per_feature[:, model.prior.feature_index] += model.prior.margin(features)
    order = np.argsort(-np.abs(per_feature), axis=1)[:, :TOP_CONTRIBUTIONS]
    names = model.feature_names
    chosen = np.take_along_axis(per_feature, order, axis=1).tolist()
    values = np.take_along_axis(features, order, axis=1)
    value_lists = [_nullable(row) for row in values]
    return [
        [
            {
                "target": model.target,
                "feature": names[i],
                "value": value,
                "contribution": contribution,
            }
            for i, value, contribution in zip(indexes, row_values, row_contributions, strict=True)
            if contribution != 0  # a feature no tree used moved nothing
        ]
        for indexes, row_values, row_contributions in zip(
            order.tolist(), value_lists, chosen, strict=True
        )
    ]
