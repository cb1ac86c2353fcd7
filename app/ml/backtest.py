"""Walk-forward backtest of a season, and the evaluation of a registered model version.

Backtest of season Y: for each target, a model is fitted on every stored season before
Y exactly as in training (fitted on the earliest dates, early-stopped on the next, its
bets gate and blend weight decided on the latest, held-out dates, then refitted on every
date with the rounds chosen: :func:`app.ml.train.fit_model`) and predicts every game of Y
in date order. It is NOT retrained during Y: the honest claim measured
is "a model frozen on opening day". Its features are point-in-time by construction
(each game sees only games of earlier dates plus its own opening prices), so form
features move through Y while the model stays fixed. The models are not registered.

Every number (model, market at the open and the close, betting) is computed on the same
games: see :mod:`app.ml.evaluation`. Results are logged to MLflow as runs tagged
``kind=backtest`` (or ``kind=evaluation``), which ``GET /models/{name}/performance`` reads.
"""

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from app.config import Settings
from app.features.definitions import FEATURE_SET
from app.games.seasons import stored_seasons
from app.markets import TARGETS
from app.ml import registry
from app.ml.evaluation import Evaluation, evaluate, json_safe
from app.ml.hyperparameters import hyperparameters
from app.ml.plots import bankroll_png, calibration_png
from app.ml.train import (
    NotEnoughData,
    evaluate_held_out,
    fit_model,
    held_out_blend_weight,
    labelled,
    season_features,
)

Say = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass
class BacktestResult:
    """A season's walk-forward results, per target."""

    season: int
    train_seasons: list[int]
    evaluations: dict[str, Evaluation]
    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Targets that could not be fitted (e.g. no run lines before 2014), with the reason.
    skipped: dict[str, str] = field(default_factory=dict)
    generated_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        return json_safe(
            {
                "season": self.season,
                "train_seasons": self.train_seasons,
                "feature_set": FEATURE_SET.label,
                "feature_fingerprint": FEATURE_SET.fingerprint,
                "generated_at": self.generated_at,
                "method": METHOD,
                "targets": {
                    target: {**self.details.get(target, {}), **evaluation.to_dict()}
                    for target, evaluation in self.evaluations.items()
                },
                "skipped": self.skipped,
            }
        )


METHOD = {
    "training": "every stored season before the backtest season: fitted on the earliest 60% "
    "of those dates, early-stopped on the next 20%, the bets gate and blend weight decided on "
    "the latest 20% (held out), then refitted on every date with the rounds chosen; not "
    "retrained during the season",
    "prediction": "every game of the season, in date order, with point-in-time features",
    "games": "games with a label and every opening and closing price and line of the target's "
    "market; model and market metrics are on exactly these games",
    "market": "multiplicative de-vig of the two-way prices; each quote graded against its own "
    "line (the closing total against the closing total); home_spread has no opening market",
    "betting": "stakes at opening prices (home_spread: closing, the only run-line prices), "
    "the side with the larger positive expected value, quarter Kelly capped at 5% of the "
    "bankroll a bet, sized from the bankroll at the start of the game's date, a day's stakes "
    "scaled to at most 50% of the bankroll, bankroll updated once a day",
    "sharpe": "per betting day: mean / standard deviation of daily bankroll returns, not "
    "annualised",
    "max_drawdown": "largest fall of the end-of-day bankroll from its running peak, "
    "as a fraction of the peak",
    "clv": "de-vigged closing probability of the side bet minus the raw implied probability "
    "of the price taken (totals: only when the closing total equals the opening one)",
    "ece": "expected calibration error over 10 equal-width probability bins",
}


def backtest(
    session: Session,
    settings: Settings,
    season: int,
    *,
    targets: tuple[str, ...] = TARGETS,
    say: Say = _quiet,
    log_to_mlflow: bool = True,
) -> BacktestResult:
    """Walk-forward: fit on the seasons before ``season``, predict ``season``, evaluate."""
    stored = stored_seasons(session)
    if season not in stored:
        raise NotEnoughData(f"no final games of season {season} are stored")
    train_seasons = [s for s in stored if s < season]
    if not train_seasons:
        raise NotEnoughData(f"no stored season before {season} to train on")
    say(f"features of {train_seasons[0]}-{season} (point-in-time)")
    games, features = season_features(session, [*train_seasons, season])
    in_season = (games["season"] == season).to_numpy()
    season_games = games[in_season].sort_values(["game_date", "game_number", "game_id"])
    season_x = features.loc[season_games.index]
    result = BacktestResult(season=season, train_seasons=train_seasons, evaluations={})
    for target in targets:
        training = labelled(games[~in_season], features[~in_season], target)
        say(f"{target}: fitting on {len(training.labels)} games of {_span(train_seasons)}")
        try:
            model = fit_model(training, target)
        except NotEnoughData as error:
            result.skipped[target] = str(error)
            say(f"{target}: skipped: {error}")
            continue
        say(f"{target}: predicting {len(season_games)} games of {season} in date order")
        probabilities = model.predict(season_x)
        evaluation = evaluate(season_games, target, probabilities)
        result.evaluations[target] = evaluation
        gate = evaluate_held_out(model, training, target).metrics["edge_evidence"]
        blend = held_out_blend_weight(model, training, target)
        result.details[target] = {
            "n_train": len(training.labels),
            "n_held_out": int(model.held_out.sum()),
            "best_iteration": model.rounds,
            "tree_weight": model.tree_weight,
            "hyperparameters_version": model.hyper.version,
            # Would this model, as a champion, recommend bets? (its held-out games)
            "bets_enabled": gate["bets_enabled"],
            "held_out_edge_evidence": gate,
            "blend_weight": blend.as_dict(),
        }
        say(f"{target}: {_one_line(evaluation)}")
    if not result.evaluations:
        raise NotEnoughData(f"no target could be fitted before {season}: {result.skipped}")
    if log_to_mlflow:
        say("logging to MLflow")
        log_backtest(settings, result)
    return result


def log_backtest(settings: Settings, result: BacktestResult) -> None:
    """One MLflow run per target, tagged ``kind=backtest``, with metrics and artifacts."""
    for target, evaluation in result.evaluations.items():
        _log_evaluation_run(
            settings,
            target,
            evaluation,
            run_name=f"backtest-{target}-{result.season}",
            tags={
                "kind": "backtest",
                "season": str(result.season),
                "data_range": _span(result.train_seasons),
                "hyperparameters_version": str(hyperparameters(target).version),
            },
            extra=result.details.get(target, {}),
        )


def evaluate_version(
    session: Session,
    settings: Settings,
    target: str,
    version: str,
    *,
    log_to_mlflow: bool = True,
) -> tuple[Evaluation, dict[str, Any]]:
    """A registered version against the market on the stored games it was not fitted on.

    A refitted version (tag ``refit``) was fitted on every game of its window: only games
    outside it count. Older versions were fitted before their early-stopping games, which
    count too; how many of each is reported.
    """
    loaded = registry.load_version(settings, target, version)
    if loaded.feature_fingerprint != FEATURE_SET.fingerprint:
        raise ValueError(
            f"{loaded.name} v{version} uses features {loaded.feature_fingerprint}, "
            f"not {FEATURE_SET.label}: it cannot be evaluated on today's features"
        )
    tags = registry.client(settings).get_model_version(loaded.name, version).tags
    seasons, last_date = registry.training_window(tags)
    games, features = season_features(session, stored_seasons(session))
    dates = games["game_date"]
    in_window = np.isin(games["season"].to_numpy(), seasons)
    if last_date is not None:
        in_window &= (dates <= pd.Timestamp(last_date)).to_numpy()
    fitted = in_window.copy()
    if tags.get("refit") != "true" and "valid_first_date" in tags:
        fitted &= (dates < pd.Timestamp(tags["valid_first_date"])).to_numpy()
    held_out = ~fitted
    if not held_out.any():
        raise NotEnoughData(f"{loaded.name} v{version} was fitted on every stored game")
    evaluation = evaluate(
        games[held_out], target, loaded.predict(features[held_out].to_numpy(dtype=float))
    )
    details = {
        "model_name": loaded.name,
        "version": str(version),
        "n_early_stopping_games": int((held_out & in_window).sum()),
        "n_out_of_window_games": int((held_out & ~in_window).sum()),
        "data_range": tags.get("data_range"),
    }
    if log_to_mlflow:
        _log_evaluation_run(
            settings,
            target,
            evaluation,
            run_name=f"evaluate-{target}-v{version}",
            tags={"kind": "evaluation", "model_version": str(version)},
            extra=details,
        )
    return evaluation, details


def _log_evaluation_run(
    settings: Settings,
    target: str,
    evaluation: Evaluation,
    *,
    run_name: str,
    tags: dict[str, str],
    extra: dict[str, Any],
) -> None:
    import mlflow

    from app.ml.train import flat_metrics, log_png

    client = registry.client(settings)
    experiment = client.get_experiment_by_name(registry.EXPERIMENT_NAME)
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name=run_name):
        mlflow.set_tags(
            {
                "target": target,
                "model_name": settings.model_name(target),
                "feature_set": FEATURE_SET.label,
                "feature_fingerprint": FEATURE_SET.fingerprint,
                **tags,
            }
        )
        mlflow.log_metrics(flat_metrics("eval", evaluation.metrics))
        mlflow.log_dict({**json_safe(extra), **evaluation.to_dict()}, "evaluation.json")
        if len(evaluation.y):
            series = {"model": evaluation.p_model}
            series |= {f"market {m}": p for m, p in evaluation.p_market.items()}
            log_png(mlflow, calibration_png(evaluation.y, series, run_name), "calibration.png")
        if evaluation.simulation is not None:
            curve = {"quarter Kelly": evaluation.simulation.curve}
            log_png(mlflow, bankroll_png(curve, run_name), "bankroll_curve.png")


def latest_runs(settings: Settings, target: str, kind: str, limit: int = 5) -> list[dict]:
    """The latest MLflow runs of ``kind`` for ``target``: tags, metrics, when."""
    client = registry.client(settings)
    experiment = client.get_experiment_by_name(registry.EXPERIMENT_NAME)
    runs = client.search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.kind = '{kind}' and tags.target = '{target}'",
        order_by=["attributes.start_time DESC"],
        max_results=limit,
    )
    return [
        {
            "run_id": run.info.run_id,
            "run_name": run.info.run_name,
            "started_at": dt.datetime.fromtimestamp(run.info.start_time / 1000, dt.UTC).isoformat(),
            "tags": {k: v for k, v in run.data.tags.items() if not k.startswith("mlflow.")},
            "metrics": json_safe(dict(run.data.metrics)),
        }
        for run in runs
    ]


def _span(seasons: list[int]) -> str:
    return f"{seasons[0]}-{seasons[-1]}" if len(seasons) > 1 else str(seasons[0])


def _one_line(evaluation: Evaluation) -> str:
    m = evaluation.metrics
    parts = [f"n={m['n']}"]
    if m["model"]:
        parts.append(f"model log loss {m['model']['log_loss']:.5f} ece {m['model']['ece']:.4f}")
    for moment in ("open", "close"):
        if m[f"market_{moment}"]:
            parts.append(f"market {moment} {m[f'market_{moment}']['log_loss']:.5f}")
    return ", ".join(parts)


def dumps(result: BacktestResult) -> str:
    """The JSON report."""
    return json.dumps(result.to_dict(), indent=2)
