"""Train targets' LightGBM models, log them to MLflow, register them and decide their aliases.

The point-in-time features of every stored game are built once per training and shared
by the targets and by their comparisons with the champions (see :func:`train_targets`).

Held out means held out. The training dates are cut in three chronological slices
(``app/ml/hyperparameters.toml``): the earliest are fitted (the trees and the market prior,
:mod:`app.ml.prior`), the next ``validation_share`` of the dates stops the boosting, and the
latest ``holdout_share`` is never fitted or stopped on: promotion, the bets gate and the
blend weight are decided there alone. Then the model is refitted on every training date
(prior and trees) with the number of rounds early stopping chose; the refit is what is
registered and served. Every feature of a game is computed from earlier dates only
(``app.features.pipeline``).

Champion or challenger: the new version is compared with the champion on the stored games
NEITHER saw: outside the champion's whole training window, and outside the new version's
fitting and early-stopping slices (its held-out slice is scored by the model fitted before
the refit, later games by the refit). It becomes champion only when it beats the champion
there by more than ``PROMOTION_MARGIN`` log loss a game, significantly by a paired test with
standard errors clustered by date, corrected for three targets
(:mod:`app.ml.significance`); the decision, with both numbers, the advantage, its standard
error and the p-value, is recorded on the MLflow run and on the model version.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from app.config import Settings
from app.features.definitions import FEATURE_SET, model_features, reads_family
from app.features.featureset import FeatureSet
from app.features.loading import (
    load_box_scores_frame,
    load_lineups_frame,
    load_snapshots_frame,
    load_splits_frame,
)
from app.features.pipeline import build_features
from app.features.refresh import configured_cutoff_minutes
from app.games.models import ODDS_COLUMNS
from app.games.queries import load_games_frame
from app.games.seasons import stored_seasons
from app.markets import MARKETS
from app.ml import registry
from app.ml.evaluation import Evaluation, evaluate
from app.ml.hyperparameters import TargetHyperparameters, hyperparameters
from app.ml.metrics import game_log_losses, probability_metrics
from app.ml.plots import bankroll_png, calibration_png
from app.ml.prior import MarketPrior, fit_market_prior, predict_probability, sigmoid
from app.ml.significance import (
    PROMOTION_MARGIN,
    BlendWeight,
    clustered_mean,
    fit_blend_weight,
    log_loss_test,
)
from app.odds import devig_two_way_array

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
    n_held_out: int
    metrics: dict[str, float]
    decision: str
    comparison: dict[str, Any] | None = None
    blend_weight: float = 0.0


@dataclass(frozen=True)
class Dataset:
    features: pd.DataFrame
    labels: pd.Series
    games: pd.DataFrame


@dataclass(frozen=True)
class FittedModel:
    """A model refitted on every row of a dataset, and the model fitted before the refit on
    its earliest rows, early-stopped on the next ones, which chose the number of rounds and
    alone may be scored on the held-out rows (module docstring)."""

    booster: lgb.Booster  # every training row, ``rounds`` trees
    prior: MarketPrior | None  # every training row
    hyper: TargetHyperparameters
    rounds: int
    selection_booster: lgb.Booster = field(repr=False)
    selection_prior: MarketPrior | None = field(repr=False)
    stop: np.ndarray = field(repr=False)  # mask of the dataset's early-stopping rows
    held_out: np.ndarray = field(repr=False)  # mask of its held-out rows
    # 0: the early-stopping games found no round better than the market prior alone
    # (``one_standard_error_rounds``), which is then served as it is.
    tree_weight: float = 1.0

    @property
    def fitted(self) -> np.ndarray:
        """Mask of the rows the model before the refit was fitted on."""
        return ~self.stop & ~self.held_out

    def predict(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Probabilities of the target's 'yes' side by the refitted model (the served one; of a
        frame: from the model's columns)."""
        if isinstance(features, pd.DataFrame):
            features = features[self.booster.feature_name()]
        return predict_probability(
            self.booster,
            np.asarray(features, dtype=float),
            self.prior,
            tree_weight=self.tree_weight,
        )

    def predict_selection(self, features: pd.DataFrame | np.ndarray) -> np.ndarray:
        """Probabilities by the model fitted before the refit (the only one that never saw
        the held-out rows)."""
        if isinstance(features, pd.DataFrame):
            features = features[self.selection_booster.feature_name()]
        return predict_probability(
            self.selection_booster,
            np.asarray(features, dtype=float),
            self.selection_prior,
            self.rounds,
            tree_weight=self.tree_weight,
        )


def season_features(
    session: Session, seasons: Sequence[int], feature_set: FeatureSet = FEATURE_SET
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every stored game of ``seasons`` in date order, and its point-in-time features."""
    games = load_games_frame(session, seasons=seasons)
    features = build_features(
        games,
        games,
        feature_set,
        snapshots=load_snapshots_frame(session, seasons=seasons),
        splits=load_splits_frame(session, seasons=seasons),
        lineups=(
            load_lineups_frame(session, seasons=seasons)
            if reads_family(feature_set, "lineups")
            else None
        ),
        box_scores=(
            load_box_scores_frame(session, seasons=seasons)
            if reads_family(feature_set, "starter_fip")
            else None
        ),
        cutoff_minutes=configured_cutoff_minutes(),
    )
    return games, features


def labelled(
    games: pd.DataFrame,
    features: pd.DataFrame,
    target: str,
    seasons: Sequence[int] | None = None,
    columns: Sequence[str] | None = None,
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
    # Only what was known when the target's price was posted (app.features.definitions),
    # unless the caller chooses (the families' measurement, app.ml.families).
    columns = list(model_features(target) if columns is None else columns)
    return Dataset(features.loc[keep, columns], labels[keep].astype(int), games[keep])


def priced(games: pd.DataFrame) -> np.ndarray:
    """A mask of the games with a price of any market. A results-only game (a season
    without an odds archive) is history for the features of others, never a training row."""
    return games[list(ODDS_COLUMNS)].notna().any(axis=1).to_numpy()


def chronological_split(games: pd.DataFrame, share: float) -> np.ndarray:
    """A boolean mask of the latest rows: every game on the latest ``share`` of dates."""
    if share <= 0:
        return np.zeros(len(games), dtype=bool)
    dates = np.sort(games["game_date"].unique())
    first_date = dates[int(len(dates) * (1 - share))]
    return (games["game_date"] >= first_date).to_numpy()


def chronological_slices(
    games: pd.DataFrame, validation_share: float, holdout_share: float
) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the early-stopping rows and of the held-out rows: the latest
    ``holdout_share`` of the dates is held out, the ``validation_share`` of the dates before
    it stops (both shares of all the dates)."""
    held_out = chronological_split(games, holdout_share)
    stop = chronological_split(games, holdout_share + validation_share) & ~held_out
    return stop, held_out


def market_probability(games: pd.DataFrame, target: str) -> np.ndarray:
    """The de-vigged market probability of the target's 'yes' side (NaN where unpriced)."""
    yes, no = MARKETS[target].priced.yes, MARKETS[target].priced.no
    return devig_two_way_array(games[yes].to_numpy(float), games[no].to_numpy(float))[0]


def fit_model(
    data: Dataset, target: str, hyper: TargetHyperparameters | None = None
) -> FittedModel:
    """Fit on the earliest dates, early-stop on the next, hold out the latest; then refit on
    every date with the rounds chosen (module docstring)."""
    hyper = hyper or hyperparameters(target)
    if len(data.labels) < MIN_TRAINING_GAMES:
        raise NotEnoughData(
            f"{len(data.labels)} labelled {target} games; need {MIN_TRAINING_GAMES}"
        )
    stop, held_out = chronological_slices(data.games, hyper.validation_share, hyper.holdout_share)
    fit = ~stop & ~held_out
    x = data.features.to_numpy(dtype=np.float64)
    y = data.labels.to_numpy()
    names = list(data.features.columns)
    selection_prior = _fit_prior(x[fit], y[fit], names, hyper)
    margin = selection_prior.margin(x) if selection_prior else None
    train_set = lgb.Dataset(
        x[fit], y[fit], feature_name=names,
        init_score=None if margin is None else margin[fit],
    )  # fmt: skip
    valid_set = lgb.Dataset(
        x[stop], y[stop], feature_name=names, reference=train_set,
        init_score=None if margin is None else margin[stop],
    )  # fmt: skip
    selection = lgb.train(
        hyper.lightgbm,
        train_set,
        num_boost_round=hyper.max_rounds,
        valid_sets=[valid_set],
        callbacks=[lgb.early_stopping(hyper.early_stopping_rounds, verbose=False)],
    )
    rounds = max(int(selection.best_iteration), 1)
    tree_weight = 1.0
    if hyper.rounds_rule == "one_standard_error":
        rounds = one_standard_error_rounds(
            selection,
            x[stop],
            y[stop],
            None if margin is None else margin[stop],
            data.games["game_date"].to_numpy()[stop],
            rounds,
        )
        if rounds == 0:  # the prior alone: no tree earned its place
            rounds, tree_weight = 1, 0.0
    prior = _fit_prior(x, y, names, hyper)
    margin = prior.margin(x) if prior else None
    booster = lgb.train(
        hyper.lightgbm,
        lgb.Dataset(x, y, feature_name=names, init_score=margin),
        num_boost_round=rounds,
    )
    return FittedModel(
        booster=booster,
        prior=prior,
        hyper=hyper,
        rounds=rounds,
        selection_booster=selection,
        selection_prior=selection_prior,
        stop=stop,
        held_out=held_out,
        tree_weight=tree_weight,
    )


# Rounds tried by the one-SE rule: about this many, evenly spaced up to the best.
ROUNDS_GRID = 60


def one_standard_error_rounds(
    booster: lgb.Booster,
    x: np.ndarray,
    y: np.ndarray,
    margin: np.ndarray | None,
    dates: np.ndarray,
    best: int,
) -> int:
    """The fewest rounds whose log loss on these (early-stopping) games is within one
    date-clustered standard error of the ``best`` round's: more trees are kept only where
    they beat fewer by more than the slice's own noise. 0 (a model boosted from a market
    prior only): the prior alone is that close."""
    start = np.zeros(len(y)) if margin is None else margin

    def losses(rounds: int) -> np.ndarray:
        raw = booster.predict(x, num_iteration=rounds, raw_score=True) if rounds else 0.0
        return game_log_losses(y, sigmoid(raw + start))

    at_best = losses(best)
    grid = np.unique(np.linspace(1, best, min(best, ROUNDS_GRID)).round().astype(int))
    for rounds in ([0] if margin is not None else []) + grid.tolist():
        if rounds >= best:
            break
        gap = clustered_mean(losses(int(rounds)) - at_best, dates)
        error = gap["standard_error"]
        if error is not None and gap["mean"] <= error:
            return int(rounds)
    return best


def _fit_prior(
    x: np.ndarray, y: np.ndarray, names: list[str], hyper: TargetHyperparameters
) -> MarketPrior | None:
    if not hyper.market_prior:
        return None
    return fit_market_prior(
        x,
        y,
        feature_index=names.index(hyper.market_prior),
        split_index=names.index(hyper.prior_split) if hyper.prior_split else None,
    )


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


def evaluate_held_out(model: FittedModel, data: Dataset, target: str) -> Evaluation:
    """The model before the refit against the market on the held-out games (neither fitted
    nor stopped on): the evidence of the bets gate and its calibration."""
    rows = model.held_out
    return evaluate(data.games[rows], target, model.predict_selection(data.features[rows]))


def held_out_blend_weight(model: FittedModel, data: Dataset, target: str) -> BlendWeight:
    """The weight the model earned beside the market's de-vigged price on the held-out games
    (:func:`app.ml.significance.fit_blend_weight`): the archive's fair line, the price the
    model is asked about (the opening one; home_spread's closing run line, SBRO keeps no
    other)."""
    rows = model.held_out
    games = data.games[rows]
    return fit_blend_weight(
        data.labels[rows].to_numpy(),
        market_probability(games, target),
        model.predict_selection(data.features[rows]),
        games["game_date"].to_numpy(),
    )


def window_tags(model: FittedModel, data: Dataset, seasons: Sequence[int]) -> dict[str, str]:
    """Which games a model saw: its seasons, its slices' first dates, its last date. The
    registered version is refitted on every one of them (``refit``)."""
    dates = data.games["game_date"]

    def first(rows: np.ndarray) -> str:
        return dates[rows].min().date().isoformat() if rows.any() else ""

    return {
        "train_seasons": json.dumps(sorted(int(s) for s in seasons)),
        "stop_first_date": first(model.stop),
        "held_out_first_date": first(model.held_out),
        "train_last_date": dates.max().date().isoformat(),
        "refit": "true",
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
    held_out = evaluate_held_out(model, data, target)
    blend = held_out_blend_weight(model, data, target)
    # Every held-out game has a label: "all labelled" is all of them.
    metrics = {f"held_out_{k}": v for k, v in held_out.metrics["model_all_labelled"].items()}
    metrics |= flat_metrics("held_out_same_games", held_out.metrics)
    metrics |= {"blend_weight": blend.weight, "blend_weight_fitted": blend.fitted}

    model_name = settings.model_name(target)
    experiment = client.get_experiment_by_name(registry.EXPERIMENT_NAME)
    first, last = min(seasons), max(seasons)
    evidence = held_out.metrics["edge_evidence"]
    tags = {
        "target": target,
        "kind": "training",
        "feature_set": FEATURE_SET.label,
        "feature_fingerprint": FEATURE_SET.fingerprint,
        "feature_names": json.dumps(list(data.features.columns)),
        "data_range": f"{first}-{last}",
        **window_tags(model, data, seasons),
        "n_train": str(len(data.labels)),
        "n_fit": str(int(model.fitted.sum())),
        "n_stop": str(int(model.stop.sum())),
        "n_held_out": str(int(model.held_out.sum())),
        # Whether this version may recommend bets (app.ml.evaluation.edge_evidence).
        "bets_enabled": str(evidence["bets_enabled"]).lower(),
        "edge_evidence": json.dumps(evidence),
        # Calibration on the same games: a calibrated model may price-shop (app.staking.pricing).
        "ece": repr(float(held_out.metrics["model_all_labelled"]["ece"])),
        # How far the model may move the fair line (app.bets.fairline).
        "blend_weight": repr(blend.weight),
        "blend_evidence": json.dumps(blend.as_dict()),
        "hyperparameters_version": str(hyper.version),
        "tree_weight": repr(model.tree_weight),
        **prior_tags(model.prior, hyper),
    }
    with mlflow.start_run(
        experiment_id=experiment.experiment_id, run_name=f"{target}-{first}-{last}"
    ) as run:
        mlflow.log_params({**hyper.as_params(), "best_iteration": model.rounds})
        mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        mlflow.set_tags(tags)
        _log_artifacts(mlflow, model, data, held_out, target)
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
        settings, client, target, model_name, version, model, data, stored
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
        n_train=len(data.labels),
        n_held_out=int(model.held_out.sum()),
        metrics=metrics,
        decision=decision,
        comparison=comparison,
        blend_weight=blend.weight,
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


def _log_artifacts(mlflow, model: FittedModel, data: Dataset, held_out, target: str) -> None:
    importance = dict(
        zip(data.features.columns, model.booster.feature_importance("gain"), strict=True)
    )
    mlflow.log_dict(
        {k: float(v) for k, v in sorted(importance.items(), key=lambda kv: -kv[1])},
        "feature_importance.json",
    )
    mlflow.log_dict(held_out.to_dict(), "held_out_evaluation.json")
    if len(held_out.y):
        series = {"model": held_out.p_model}
        series |= {f"market {m}": p for m, p in held_out.p_market.items()}
        log_png(mlflow, calibration_png(held_out.y, series, f"{target}: held-out games"),
                 "calibration.png")  # fmt: skip
    if held_out.simulation is not None:
        curve = {"quarter Kelly": held_out.simulation.curve}
        log_png(mlflow, bankroll_png(curve, f"{target}: bankroll, held-out games"),
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
    games, new_probability = _games_neither_saw(stored, data, model, champion.tags)
    if len(games.labels) < MIN_COMPARISON_GAMES:
        return (
            registry.CHALLENGER,
            (
                f"only {len(games.labels)} stored games neither v{version} nor champion "
                f"v{champion.version} was fitted or stopped on (need {MIN_COMPARISON_GAMES}): "
                "challenger; no fair comparison"
            ),
            None,
        )
    y = games.labels.to_numpy()
    champion_probability = current.predict(games.features)
    test = log_loss_test(
        y, champion_probability, new_probability, games.games["game_date"].to_numpy(),
        margin=PROMOTION_MARGIN,
    )  # fmt: skip
    new_log_loss = probability_metrics(y, new_probability)["log_loss"]
    champion_log_loss = probability_metrics(y, champion_probability)["log_loss"]
    comparison = {
        "new_version": version,
        "champion_version": str(champion.version),
        "new_log_loss": new_log_loss,
        "champion_log_loss": champion_log_loss,
        "n_games": len(y),
        "first_date": games.games["game_date"].min().date().isoformat(),
        "last_date": games.games["game_date"].max().date().isoformat(),
        "test": test.as_dict(),
    }
    promoted = test.significant
    verdict = "promoted" if promoted else "challenger"
    p_value = "n/a" if test.p_value is None else f"{test.p_value:.4f}"
    error = "n/a" if test.standard_error is None else f"{test.standard_error:.5f}"
    decision = (
        f"v{version} log loss {new_log_loss:.5f} vs champion v{champion.version} "
        f"{champion_log_loss:.5f} on the same {len(y)} games neither was fitted or stopped on "
        f"({comparison['first_date']}..{comparison['last_date']}): advantage "
        f"{test.advantage:+.5f}, SE {error} clustered by {test.dates} dates; p {p_value} for "
        f"an advantage above the margin {test.margin} against {test.alpha:.4f} "
        f"(0.05 over 3 targets): {verdict}"
    )
    return (registry.CHAMPION if promoted else registry.CHALLENGER), decision, comparison


def _games_neither_saw(
    every: Dataset, data: Dataset, model: FittedModel, champion_tags: dict[str, str]
) -> tuple[Dataset, np.ndarray]:
    """The games of ``every`` outside the champion's training window and outside the new
    model's fitting and early-stopping slices, and the new model's probabilities of them:
    by the model before the refit on its held-out slice, by the refit after its window."""
    index = every.games.index
    new_saw = index.isin(data.games.index[~model.held_out])
    season = every.games["season"].to_numpy()
    champion_seasons, champion_last = registry.training_window(champion_tags)
    champion_saw = np.isin(season, champion_seasons)
    if champion_last is not None:
        champion_saw &= (every.games["game_date"] <= pd.Timestamp(champion_last)).to_numpy()
    keep = ~new_saw & ~champion_saw
    games = Dataset(every.features[keep], every.labels[keep], every.games[keep])
    in_held_out = games.games.index.isin(data.games.index[model.held_out])
    probability = np.where(
        in_held_out, model.predict_selection(games.features), model.predict(games.features)
    )
    return games, probability
