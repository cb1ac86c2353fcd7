"""Train a target's LightGBM model, log it to MLflow, register it and decide its alias.

The split is chronological: the last ``VALIDATION_SHARE`` of the training dates is
held out for early stopping and for the champion/challenger comparison, and every
feature of a game is computed from earlier dates only (``app.features.pipeline``).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass

import lightgbm as lgb
import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from app.betting.odds import devig_two_way_array
from app.config import Settings
from app.features.definitions import FEATURE_SET
from app.features.pipeline import build_features, load_games_frame
from app.ml import registry
from app.ml.metrics import probability_metrics
from app.ml.targets import TARGET_SPECS

VALIDATION_SHARE = 0.2
MIN_TRAINING_GAMES = 200

DEFAULT_PARAMS: dict[str, object] = {
    "objective": "binary",
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_data_in_leaf": 50,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.9,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "num_threads": 2,
    "seed": 42,
    "verbosity": -1,
}
MAX_ROUNDS = 2000
EARLY_STOPPING_ROUNDS = 100


class NotEnoughData(ValueError):
    """Too few labelled games to train on."""


@dataclass(frozen=True)
class TrainingOutcome:
    target: str
    model_name: str
    version: str
    run_id: str
    alias: str
    n_train: int
    n_valid: int
    metrics: dict[str, float]
    decision: str


@dataclass(frozen=True)
class Dataset:
    features: pd.DataFrame
    labels: pd.Series
    games: pd.DataFrame


def training_dataset(session: Session, target: str, seasons: Sequence[int]) -> Dataset:
    """Point-in-time features and labels of every labelled game of ``seasons``, in date order."""
    games = load_games_frame(session, seasons=seasons)
    features = build_features(games, games)
    labels = TARGET_SPECS[target].label(games)
    keep = labels.notna().to_numpy()
    return Dataset(features[keep], labels[keep].astype(int), games[keep])


def chronological_split(games: pd.DataFrame, share: float) -> np.ndarray:
    """A boolean mask of the validation rows: every game on the latest ``share`` of dates."""
    dates = np.sort(games["game_date"].unique())
    first_valid_date = dates[int(len(dates) * (1 - share))]
    return (games["game_date"] >= first_valid_date).to_numpy()


def market_probability(games: pd.DataFrame, target: str) -> np.ndarray:
    """The de-vigged market probability of the target's 'yes' side (NaN where unpriced)."""
    yes, no = TARGET_SPECS[target].price_columns
    return devig_two_way_array(games[yes].to_numpy(float), games[no].to_numpy(float))[0]


def train_target(
    session: Session,
    settings: Settings,
    target: str,
    seasons: Sequence[int],
    params: dict[str, object] | None = None,
) -> TrainingOutcome:
    """Train, log, register; champion when there is none or when it beats the champion."""
    import mlflow

    params = {**DEFAULT_PARAMS, **(params or {})}
    data = training_dataset(session, target, seasons)
    if len(data.labels) < MIN_TRAINING_GAMES:
        raise NotEnoughData(
            f"{len(data.labels)} labelled {target} games in seasons {list(seasons)}; "
            f"need {MIN_TRAINING_GAMES}"
        )
    valid = chronological_split(data.games, VALIDATION_SHARE)
    train_set = lgb.Dataset(data.features[~valid], data.labels[~valid])
    valid_set = lgb.Dataset(data.features[valid], data.labels[valid], reference=train_set)
    booster = lgb.train(
        params,
        train_set,
        num_boost_round=MAX_ROUNDS,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(EARLY_STOPPING_ROUNDS, verbose=False)],
    )
    y_valid = data.labels[valid].to_numpy()
    p_valid = booster.predict(data.features[valid], num_iteration=booster.best_iteration)
    metrics = {f"valid_{k}": v for k, v in probability_metrics(y_valid, p_valid).items()}
    market = market_probability(data.games[valid], target)
    priced = ~np.isnan(market)
    if priced.any():
        both = probability_metrics(y_valid[priced], market[priced])
        metrics["valid_market_log_loss"] = both["log_loss"]
        metrics["valid_market_brier"] = both["brier"]
        metrics["valid_priced_model_log_loss"] = probability_metrics(
            y_valid[priced], p_valid[priced]
        )["log_loss"]

    client = registry.client(settings)
    model_name = settings.model_name(target)
    experiment = client.get_experiment_by_name(registry.EXPERIMENT_NAME)
    first, last = min(seasons), max(seasons)
    with mlflow.start_run(
        experiment_id=experiment.experiment_id, run_name=f"{target}-{first}-{last}"
    ) as run:
        mlflow.log_params({**params, "best_iteration": booster.best_iteration})
        mlflow.log_metrics(metrics)
        tags = {
            "target": target,
            "feature_set": FEATURE_SET.label,
            "feature_fingerprint": FEATURE_SET.fingerprint,
            "feature_names": json.dumps(list(FEATURE_SET.names)),
            "data_range": f"{first}-{last}",
            "n_train": str(int((~valid).sum())),
            "n_valid": str(int(valid.sum())),
        }
        mlflow.set_tags(tags)
        importance = dict(
            zip(FEATURE_SET.names, booster.feature_importance("gain").tolist(), strict=True)
        )
        mlflow.log_dict(importance, "feature_importance.json")
        info = mlflow.lightgbm.log_model(
            booster,
            name="model",
            registered_model_name=model_name,
            pip_requirements=[f"lightgbm=={lgb.__version__}"],
        )
    version = str(info.registered_model_version)
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, value)
    alias, decision = _choose_alias(
        settings, client, target, model_name, version, data.features[valid], y_valid,
        metrics["valid_log_loss"],
    )  # fmt: skip
    client.set_tag(run.info.run_id, "promotion_decision", decision)
    return TrainingOutcome(
        target=target,
        model_name=model_name,
        version=version,
        run_id=run.info.run_id,
        alias=alias,
        n_train=int((~valid).sum()),
        n_valid=int(valid.sum()),
        metrics=metrics,
        decision=decision,
    )


def _choose_alias(
    settings: Settings,
    client,
    target: str,
    model_name: str,
    version: str,
    x_valid: pd.DataFrame,
    y_valid: np.ndarray,
    new_log_loss: float,
) -> tuple[str, str]:
    champion = registry.version_by_alias(client, model_name, registry.CHAMPION)
    if champion is None:
        client.set_registered_model_alias(model_name, registry.CHAMPION, version)
        return registry.CHAMPION, f"v{version} is the first {target} model: champion"
    current = registry.load_version(settings, target, str(champion.version))
    if current.feature_fingerprint != FEATURE_SET.fingerprint:
        client.set_registered_model_alias(model_name, registry.CHAMPION, version)
        return registry.CHAMPION, (
            f"champion v{champion.version} uses another feature set; v{version} replaces it"
        )
    champion_log_loss = probability_metrics(y_valid, current.booster.predict(x_valid))["log_loss"]
    if new_log_loss < champion_log_loss:
        client.set_registered_model_alias(model_name, registry.CHAMPION, version)
        return registry.CHAMPION, (
            f"v{version} log loss {new_log_loss:.5f} < champion v{champion.version} "
            f"{champion_log_loss:.5f} on the same {len(y_valid)} held-out games: promoted"
        )
    client.set_registered_model_alias(model_name, registry.CHALLENGER, version)
    return registry.CHALLENGER, (
        f"v{version} log loss {new_log_loss:.5f} >= champion v{champion.version} "
        f"{champion_log_loss:.5f} on the same {len(y_valid)} held-out games: challenger"
    )
