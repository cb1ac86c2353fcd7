"""Train targets' LightGBM models, log them to MLflow, register them and decide their aliases.

The point-in-time features of every stored game are built once per training and shared
by the targets and by their comparisons with the champions (see :func:`train_targets`).
The split is chronological: the latest ``validation_share`` of the training dates is
held out for early stopping, and every feature of a game is computed from earlier
dates only (``app.features.pipeline``). Hyperparameters come from
``app/ml/hyperparameters.toml`` (see :mod:`app.ml.hyperparameters`); with a market
prior, boosting starts from the market's calibrated opening log-odds (:mod:`app.ml.prior`).

Champion or challenger: a new version is compared with the champion on stored games
NEITHER model was fitted on: outside the champion's training window and outside the
new model's fitting part (its early-stopping games count as held out: they chose only
the number of trees). It becomes champion only when its log loss there is lower; the
decision, with both numbers and the number of games, is recorded on the MLflow run and
on the model version.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from app.bets.odds import devig_two_way_array
from app.config import Settings
from app.features.definitions import FEATURE_SET
from app.features.pipeline import (
    build_features,
    configured_cutoff_minutes,
    load_games_frame,
    load_snapshots_frame,
    load_splits_frame,
)
from app.games.models import ODDS_COLUMNS
from app.games.seasons import stored_seasons
from app.markets import MARKETS
from app.ml import registry
from app.ml.evaluation import Evaluation, evaluate
from app.ml.hyperparameters import TargetHyperparameters, hyperparameters
from app.ml.metrics import probability_metrics
from app.ml.plots import bankroll_png, calibration_png
from app.ml.prior import MarketPrior, fit_market_prior, predict_probability

MIN_TRAINING_GAMES = 200
# Fewer games than this neither model was fitted on: no fair comparison, no promotion.
MIN_COMPARISON_GAMES = 100


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
    comparison: dict[str, Any] | None = None


@dataclass(frozen=True)
class Dataset:
    features: pd.DataFrame
    labels: pd.Series
    games: pd.DataFrame


@dataclass(frozen=True)
class FittedModel:
    """A booster fitted on the earlier dates of a dataset, early-stopped on the later ones."""

    booster: lgb.Booster
    prior: MarketPrior | None
    hyper: TargetHyperparameters
    valid: np.ndarray = field(repr=False)  # mask of the dataset's early-stopping rows

    def predict(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Probabilities of the target's 'yes' side."""
        return predict_probability(
            self.booster, np.asarray(features, dtype=float), self.prior, self.booster.best_iteration
        )


def season_features(session: Session, seasons: Sequence[int]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every stored game of ``seasons`` in date order, and its point-in-time features."""
    games = load_games_frame(session, seasons=seasons)
    features = build_features(
        games,
        games,
        snapshots=load_snapshots_frame(session, seasons=seasons),
        splits=load_splits_frame(session, seasons=seasons),
        cutoff_minutes=configured_cutoff_minutes(),
    )
    return games, features


def labelled(
    games: pd.DataFrame,
    features: pd.DataFrame,
    target: str,
    seasons: Sequence[int] | None = None,
) -> Dataset:
    """The priced games (and their features) that have a ``target`` label, of ``seasons`` if
    given.

    A game's features use only earlier dates of its own season and the season before it
    (the carried prior), so the rows of ``seasons`` are the same whether ``features`` were
    built for every stored season or for more: build once, take the seasons needed.
    """
    labels = MARKETS[target].outcome(games)
    keep = labels.notna().to_numpy() & priced(games)
    if seasons is not None:
        keep = keep & games["season"].isin(list(seasons)).to_numpy()
    return Dataset(features[keep], labels[keep].astype(int), games[keep])


def priced(games: pd.DataFrame) -> np.ndarray:
    """A mask of the games with a price of any market. A results-only game (a season
    without an odds archive) is history for the features of others, never a training row."""
    return games[list(ODDS_COLUMNS)].notna().any(axis=1).to_numpy()


def chronological_split(games: pd.DataFrame, share: float) -> np.ndarray:
    """A boolean mask of the validation rows: every game on the latest ``share`` of dates."""
    dates = np.sort(games["game_date"].unique())
    first_valid_date = dates[int(len(dates) * (1 - share))]
    return (games["game_date"] >= first_valid_date).to_numpy()


def market_probability(games: pd.DataFrame, target: str) -> np.ndarray:
    """The de-vigged market probability of the target's 'yes' side (NaN where unpriced)."""
    yes, no = MARKETS[target].priced.yes, MARKETS[target].priced.no
    return devig_two_way_array(games[yes].to_numpy(float), games[no].to_numpy(float))[0]


def fit_model(
    data: Dataset, target: str, hyper: TargetHyperparameters | None = None
) -> FittedModel:
    """Fit on the earlier dates, early-stop on the latest ``validation_share`` of them."""
    hyper = hyper or hyperparameters(target)
    if len(data.labels) < MIN_TRAINING_GAMES:
        raise NotEnoughData(
            f"{len(data.labels)} labelled {target} games; need {MIN_TRAINING_GAMES}"
        )
    valid = chronological_split(data.games, hyper.validation_share)
    x = data.features.to_numpy(dtype=np.float64)
    y = data.labels.to_numpy()
    names = list(data.features.columns)
    prior = None
    if hyper.market_prior:
        prior = fit_market_prior(
            x[~valid],
            y[~valid],
            feature_index=names.index(hyper.market_prior),
            split_index=names.index(hyper.prior_split) if hyper.prior_split else None,
        )
    margin = prior.margin(x) if prior else None
    train_set = lgb.Dataset(
        x[~valid], y[~valid], feature_name=names,
        init_score=None if margin is None else margin[~valid],
    )  # fmt: skip
    valid_set = lgb.Dataset(
        x[valid], y[valid], feature_name=names, reference=train_set,
        init_score=None if margin is None else margin[valid],
    )  # fmt: skip
    booster = lgb.train(
        hyper.lightgbm,
        train_set,
        num_boost_round=hyper.max_rounds,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(hyper.early_stopping_rounds, verbose=False)],
    )
    return FittedModel(booster=booster, prior=prior, hyper=hyper, valid=valid)


def prior_tags(prior: MarketPrior | None, hyper: TargetHyperparameters) -> dict[str, str]:
    """The tags a registered version needs to rebuild its market prior."""
    if prior is None:
        return {"market_prior": "", "prior_split": "", "prior_fallback": ""}
    return {
        "market_prior": hyper.market_prior,
        "prior_split": hyper.prior_split,
        "prior_fallback": repr(prior.fallback_probability),
        "prior_coefficients": json.dumps(prior.coefficients),
    }


def evaluate_on_validation(model: FittedModel, data: Dataset, target: str) -> Evaluation:
    """The model against the market on its own early-stopping games."""
    return evaluate(data.games[model.valid], target, model.predict(data.features[model.valid]))


def window_tags(data: Dataset, valid: np.ndarray, seasons: Sequence[int]) -> dict[str, str]:
    """Which games a model saw: its seasons, the last date it was fitted on, its last date."""
    dates = data.games["game_date"]
    return {
        "train_seasons": json.dumps(sorted(int(s) for s in seasons)),
        "fit_last_date": dates[~valid].max().date().isoformat(),
        "valid_first_date": dates[valid].min().date().isoformat(),
        "train_last_date": dates.max().date().isoformat(),
    }


def train_targets(
    session: Session,
    settings: Settings,
    targets: Sequence[str],
    seasons: Sequence[int],
    params: dict[str, object] | None = None,
    *,
    checkpoint: Callable[[], None] = lambda: None,
    promote: bool = True,
) -> list[TrainingOutcome]:
    """Train, log, register each target; champion when there is none or it beats the champion.

    Features are built once, for every stored season: each target trains on the rows
    of ``seasons`` and is compared with its champion on the rows neither was fitted on.
    Every target is checked for enough games before any is trained. ``checkpoint`` is
    called before each target (it raises to stop); with ``promote=False`` the decisions
    are left for the caller to :func:`apply_decisions`.
    """
    games, features = season_features(session, sorted({*stored_seasons(session), *seasons}))
    datasets = {target: labelled(games, features, target, seasons) for target in targets}
    for target, data in datasets.items():
        if len(data.labels) < MIN_TRAINING_GAMES:
            raise NotEnoughData(
                f"{len(data.labels)} labelled {target} games in seasons {list(seasons)}; "
                f"need {MIN_TRAINING_GAMES}"
            )
    client = registry.client(settings)
    outcomes = []
    for target, data in datasets.items():
        checkpoint()
        stored = labelled(games, features, target)
        outcomes.append(_train_target(settings, client, target, seasons, data, stored, params))
    if promote:
        apply_decisions(settings, outcomes)
    return outcomes


def apply_decisions(settings: Settings, outcomes: Sequence[TrainingOutcome]) -> None:
    """Give each new version the alias chosen for it and record the decision on it."""
    client = registry.client(settings)
    for outcome in outcomes:
        client.set_registered_model_alias(outcome.model_name, outcome.alias, outcome.version)
        client.set_tag(outcome.run_id, "promotion_decision", outcome.decision)
        client.set_model_version_tag(
            outcome.model_name, outcome.version, "promotion_decision", outcome.decision
        )
    if any(outcome.alias == registry.CHAMPION for outcome in outcomes):
        registry.announce_champions_changed(settings)


def _train_target(
    settings: Settings,
    client,
    target: str,
    seasons: Sequence[int],
    data: Dataset,
    stored: Dataset,
    params: dict[str, object] | None,
) -> TrainingOutcome:
    """Fit on ``data``, log, register, and choose the alias against ``stored`` games."""
    import mlflow

    hyper = hyperparameters(target)
    if params:
        hyper = replace(hyper, lightgbm={**hyper.lightgbm, **params})
    model = fit_model(data, target, hyper)
    valid = model.valid
    validation = evaluate_on_validation(model, data, target)
    # Every early-stopping game has a label: "all labelled" is all of them.
    metrics = {f"valid_{k}": v for k, v in validation.metrics["model_all_labelled"].items()}
    metrics |= flat_metrics("valid_same_games", validation.metrics)

    model_name = settings.model_name(target)
    experiment = client.get_experiment_by_name(registry.EXPERIMENT_NAME)
    first, last = min(seasons), max(seasons)
    tags = {
        "target": target,
        "kind": "training",
        "feature_set": FEATURE_SET.label,
        "feature_fingerprint": FEATURE_SET.fingerprint,
        "feature_names": json.dumps(list(data.features.columns)),
        "data_range": f"{first}-{last}",
        **window_tags(data, valid, seasons),
        "n_train": str(int((~valid).sum())),
        "n_valid": str(int(valid.sum())),
        # Whether this version may recommend bets (app.ml.evaluation.edge_evidence).
        "bets_enabled": str(validation.metrics["edge_evidence"]["bets_enabled"]).lower(),
        # Calibration on the same games: a calibrated model may price-shop (app.bets.pricing).
        "ece": repr(float(validation.metrics["model_all_labelled"]["ece"])),
        "hyperparameters_version": str(hyper.version),
        **prior_tags(model.prior, hyper),
    }
    with mlflow.start_run(
        experiment_id=experiment.experiment_id, run_name=f"{target}-{first}-{last}"
    ) as run:
        mlflow.log_params({**hyper.as_params(), "best_iteration": model.booster.best_iteration})
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        mlflow.set_tags(tags)
        _log_artifacts(mlflow, model, data, validation, target)
        info = mlflow.lightgbm.log_model(
            model.booster,
            name="model",
            registered_model_name=model_name,
            pip_requirements=[f"lightgbm=={lgb.__version__}"],
        )
    version = str(info.registered_model_version)
    for key, value in tags.items():
        client.set_model_version_tag(model_name, version, key, value)
    alias, decision, comparison = _choose_alias(
        settings, client, target, model_name, version, model, data, seasons, stored
    )
    if comparison is not None:
        for key in ("new_log_loss", "champion_log_loss", "n_games"):
            client.log_metric(run.info.run_id, f"comparison_{key}", comparison[key])
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
        comparison=comparison,
    )


def flat_metrics(prefix: str, metrics: dict[str, Any]) -> dict[str, float]:
    """``{prefix}_{section}_{name}`` for every finite number of an evaluation."""
    flat: dict[str, float] = {}
    for section, values in metrics.items():
        if isinstance(values, dict):
            for name, value in values.items():
                if isinstance(value, int | float) and value is not None:
                    flat[f"{prefix}_{section}_{name}"] = float(value)
        elif isinstance(values, int | float):
            flat[f"{prefix}_{section}"] = float(values)
    return {k: v for k, v in flat.items() if np.isfinite(v)}


def _log_artifacts(mlflow, model: FittedModel, data: Dataset, validation, target: str) -> None:
    importance = dict(
        zip(
            data.features.columns,
            model.booster.feature_importance("gain", iteration=model.booster.best_iteration),
            strict=True,
        )
    )
    mlflow.log_dict(
        {k: float(v) for k, v in sorted(importance.items(), key=lambda kv: -kv[1])},
        "feature_importance.json",
    )
    mlflow.log_dict(validation.to_dict(), "validation_evaluation.json")
    if len(validation.y):
        series = {"model": validation.p_model}
        series |= {f"market {m}": p for m, p in validation.p_market.items()}
        log_png(mlflow, calibration_png(validation.y, series, f"{target}: validation games"),
                 "calibration.png")  # fmt: skip
    if validation.simulation is not None:
        curve = {"quarter Kelly": validation.simulation.curve}
        log_png(mlflow, bankroll_png(curve, f"{target}: bankroll, validation games"),
                 "bankroll_curve.png")  # fmt: skip


def log_png(mlflow, png: bytes, name: str) -> None:
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(png)
        mlflow.log_artifact(str(path))


def _choose_alias(
    settings: Settings,
    client,
    target: str,
    model_name: str,
    version: str,
    model: FittedModel,
    data: Dataset,
    seasons: Sequence[int],
    stored: Dataset,
) -> tuple[str, str, dict[str, Any] | None]:
    champion = registry.version_by_alias(client, model_name, registry.CHAMPION)
    if champion is None:
        return registry.CHAMPION, f"v{version} is the first {target} model: champion", None
    current = registry.load_version(settings, target, str(champion.version))
    if current.feature_fingerprint != FEATURE_SET.fingerprint:
        return (
            registry.CHAMPION,
            (f"champion v{champion.version} uses another feature set; v{version} replaces it"),
            None,
        )
    held_out = _games_neither_fitted(stored, data, model.valid, seasons, champion.tags)
    if len(held_out.labels) < MIN_COMPARISON_GAMES:
        return (
            registry.CHALLENGER,
            (
                f"only {len(held_out.labels)} stored games neither v{version} nor champion "
                f"v{champion.version} was fitted on (need {MIN_COMPARISON_GAMES}): challenger; "
                "no fair comparison"
            ),
            None,
        )
    y = held_out.labels.to_numpy()
    new_log_loss = probability_metrics(y, model.predict(held_out.features))["log_loss"]
    champion_log_loss = probability_metrics(y, current.predict(held_out.features))["log_loss"]
    comparison = {
        "new_version": version,
        "champion_version": str(champion.version),
        "new_log_loss": new_log_loss,
        "champion_log_loss": champion_log_loss,
        "n_games": len(y),
        "first_date": held_out.games["game_date"].min().date().isoformat(),
        "last_date": held_out.games["game_date"].max().date().isoformat(),
    }
    same = (
        f"on the same {len(y)} games neither was fitted on "
        f"({comparison['first_date']}..{comparison['last_date']})"
    )
    if new_log_loss < champion_log_loss:
        return (
            registry.CHAMPION,
            (
                f"v{version} log loss {new_log_loss:.5f} < champion v{champion.version} "
                f"{champion_log_loss:.5f} {same}: promoted"
            ),
            comparison,
        )
    return (
        registry.CHALLENGER,
        (
            f"v{version} log loss {new_log_loss:.5f} >= champion v{champion.version} "
            f"{champion_log_loss:.5f} {same}: challenger"
        ),
        comparison,
    )


def _games_neither_fitted(
    every: Dataset,
    data: Dataset,
    new_valid: np.ndarray,
    new_seasons: Sequence[int],
    champion_tags: dict[str, str],
) -> Dataset:
    """The games of ``every`` outside the champion's window and the new model's fitting part."""
    season = every.games["season"].to_numpy()
    dates = every.games["game_date"]
    new_fit_end = data.games["game_date"][~new_valid].max()
    new_fitted = np.isin(season, list(new_seasons)) & (dates <= new_fit_end).to_numpy()
    champion_seasons, champion_last = registry.training_window(champion_tags)
    champion_saw = np.isin(season, champion_seasons)
    if champion_last is not None:
        champion_saw &= (dates <= pd.Timestamp(champion_last)).to_numpy()
    keep = ~new_fitted & ~champion_saw
    return Dataset(every.features[keep], every.labels[keep], every.games[keep])
