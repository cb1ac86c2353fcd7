"""The pooled truth: a walk-forward backtest of several seasons, per season and pooled.

``bullpen ml backtest --seasons 2013-2019``: each season Y is predicted, in date order, by a
model trained exactly as :func:`app.ml.train.fit_model` trains (fit, early stop, held-out
slice, refit) on every stored season before Y, and never retrained during Y. The features
are built once for every season (a game's features use only earlier dates of its season
and the season before it, so they are the same as a season's own build).

For every target, per season and pooled over the seasons, on the games with a label and
every opening and closing price and line of the target's market (as
:mod:`app.ml.evaluation`):

- **log loss** of the model, the **calibrated open** (the model's own market prior: a
  logistic calibration of the de-vigged opening price fitted on the training seasons, what
  boosting starts from; home_spread's is the opening moneyline's, split by favourite), the
  de-vigged **open** and **close** (each graded at its own line), and the model's advantage
  over each (``ref - model``, positive: the model is better) with its standard error from
  the paired test clustered by date (:func:`app.ml.significance.paired_test`);
- the model's **ECE** with its noise floor (:func:`app.ml.significance.ece_noise_floor`);
- the **mean predicted** probability against the **actual rate** of the 'yes' side;
- the **CLV of the model's lean at the open**: on the side the model prefers to the opening
  de-vigged price, the de-vigged closing probability minus the opening one (totals only
  where the close is at the opening total), its mean and t clustered by date;
- the **blend weight** the season's model earned on its held-out games
  (:func:`app.ml.train.held_out_blend_weight`).

The **run distribution** (issue 19, section 4), per season and pooled: each game's negative
binomial score distribution (``app.bets.runs``) solved from the season's walk-forward
models at the open, the moneyline model's home win probability and the totals model's over
probability at the opening total (the same predictions as above, no refit), prices the home
run line at the game's run line (home_spread's label and line); on home_spread's evaluated
games that it prices: its log loss and ECE (with the noise floor) against the outcomes, the
home_spread model's log loss on the same games, and the model's log loss minus the
distribution's (positive: the distribution is better) with its paired SE clustered by date.
The pricer is given by the caller (``app.bets`` is a layer above ``app.ml``).

Goals (issue 19): pooled, every target no worse than the calibrated open + 1 SE; no season
worse than it by more than 2 SE; totals ECE <= 0.02 in all seasons but at most one. The
report says which are met.
"""

import datetime as dt
import html
import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from app.config import Settings
from app.features.definitions import FEATURE_SET
from app.features.featureset import FeatureSet
from app.markets import MARKETS, MONEYLINE, RUN_LINE, TARGETS, TOTAL
from app.ml.evaluation import evaluate, json_safe
from app.ml.jobs import stored_seasons
from app.ml.metrics import expected_calibration_error, game_log_losses
from app.ml.prior import sigmoid
from app.ml.significance import PairedTest, clustered_mean, ece_noise_floor, paired_test
from app.ml.train import NotEnoughData, fit_model, held_out_blend_weight, labelled, season_features

Say = Callable[[str], None]
# (home win, total line, over at it, home run line) -> home covers given no push, per game.
RunLinePricer = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]
RUN_TARGETS = (MONEYLINE.name, TOTAL.name, RUN_LINE.name)
REFERENCES = ("calibrated_open", "open", "close")
TOTALS_ECE_GOAL = 0.02


@dataclass
class Games:
    """One target's evaluated games of one or more seasons: labels and forecasts per game."""

    dates: np.ndarray
    y: np.ndarray
    model: np.ndarray
    # Each reference forecast with its own labels (None: the market has no such quote).
    references: dict[str, tuple[np.ndarray, np.ndarray] | None]
    # The lean's CLV of each game where it is defined (NaN elsewhere).
    clv: np.ndarray

    @classmethod
    def concatenate(cls, parts: Sequence["Games"]) -> "Games":
        def join(arrays):
            return np.concatenate(list(arrays))

        references = {}
        for name in REFERENCES:
            pieces = [part.references[name] for part in parts]
            references[name] = (
                None
                if any(piece is None for piece in pieces)
                else (join(p[0] for p in pieces), join(p[1] for p in pieces))
            )
        return cls(
            dates=join(p.dates for p in parts),
            y=join(p.y for p in parts),
            model=join(p.model for p in parts),
            references=references,
            clv=join(p.clv for p in parts),
        )


def _advantage(test: PairedTest) -> dict[str, float | None]:
    """A paired test's mean advantage, its SE and t = mean / SE."""
    return {
        "mean": test.advantage,
        "standard_error": test.standard_error,
        "t": (
            None
            if not test.standard_error or test.advantage is None
            else test.advantage / test.standard_error
        ),
    }


def summarise(games: Games, floor_seed: int = 0) -> dict[str, Any]:
    """Every number of the module docstring for these games."""
    n = len(games.y)
    if n == 0:
        return {"n": 0}
    model_losses = game_log_losses(games.y, games.model)
    body: dict[str, Any] = {
        "n": n,
        "dates": len(np.unique(games.dates)),
        "log_loss": {"model": float(model_losses.mean())},
        "advantage": {},
    }
    for name, reference in games.references.items():
        if reference is None:
            body["log_loss"][name] = None
            body["advantage"][name] = None
            continue
        p, y = reference
        losses = game_log_losses(y, p)
        body["log_loss"][name] = float(losses.mean())
        body["advantage"][name] = _advantage(paired_test(losses, model_losses, games.dates))
    body["ece"] = expected_calibration_error(games.y, games.model)
    body["ece_floor"] = ece_noise_floor(games.model, seed=floor_seed)
    body["mean_predicted"] = float(games.model.mean())
    body["actual_rate"] = float(games.y.mean())
    defined = np.isfinite(games.clv)
    clv = clustered_mean(games.clv[defined], games.dates[defined])
    body["lean_clv"] = None if clv["n"] == 0 else clv
    return json_safe(body)


def _season_games(evaluation, season_games, target: str, p_calibrated) -> Games:
    """The arrays of :class:`Games` from a season's evaluation."""
    market = MARKETS[target]
    rows = evaluation.rows
    y = evaluation.y
    references: dict[str, tuple[np.ndarray, np.ndarray] | None] = {
        "calibrated_open": None if p_calibrated is None else (p_calibrated[rows], y)
    }
    for moment in ("open", "close"):
        if moment in evaluation.p_market:
            references[moment] = (evaluation.p_market[moment], evaluation.y_market[moment])
        else:
            references[moment] = None
    clv = np.full(len(y), np.nan)
    if "open" in evaluation.p_market and "close" in evaluation.p_market:
        p_open, p_close = evaluation.p_market["open"], evaluation.p_market["close"]
        lean = np.sign(evaluation.p_model - p_open)
        same_line = np.ones(len(y), dtype=bool)
        if market.open.line is not None:
            kept = season_games[rows]
            same_line = kept[market.open.line].to_numpy(float) == kept[market.close.line].to_numpy(
                float
            )
        defined = same_line & (lean != 0)
        clv = np.where(defined, lean * (p_close - p_open), np.nan)
    return Games(evaluation.dates, y, evaluation.p_model, references, clv)


@dataclass
class RunGames:
    """The run distribution's home run-line price and the home_spread model's, same games."""

    dates: np.ndarray
    y: np.ndarray
    distribution: np.ndarray
    model: np.ndarray
    # home_spread's evaluated games the distribution could not price.
    unpriced: int = 0

    @classmethod
    def concatenate(cls, parts: Sequence["RunGames"]) -> "RunGames":
        return cls(
            *(
                np.concatenate([getattr(p, name) for p in parts])
                for name in ("dates", "y", "distribution", "model")
            ),
            unpriced=sum(p.unpriced for p in parts),
        )


def run_distribution_games(
    season_games: pd.DataFrame,
    p_home: np.ndarray,
    p_over: np.ndarray,
    evaluation,
    pricer: RunLinePricer,
) -> RunGames:
    """On home_spread's evaluated games (``evaluation``; ``season_games`` in its order, index
    reset), the distribution's price of the home run line from the moneyline model's home
    win probability ``p_home`` and the totals model's over ``p_over`` at the opening total
    (both over ``season_games``)."""
    rows = evaluation.rows
    kept = season_games[rows]
    price = pricer(
        p_home[rows],
        kept[TOTAL.open.line].to_numpy(float),
        p_over[rows],
        kept[RUN_LINE.line].to_numpy(float),
    )
    priced = np.isfinite(price)
    return RunGames(
        dates=evaluation.dates[priced],
        y=evaluation.y[priced],
        distribution=price[priced],
        model=evaluation.p_model[priced],
        unpriced=int((~priced).sum()),
    )


def summarise_runs(games: RunGames, floor_seed: int = 0) -> dict[str, Any]:
    """The run distribution's numbers (module docstring) for these games."""
    n = len(games.y)
    if n == 0:
        return {"n": 0, "unpriced": games.unpriced}
    distribution = game_log_losses(games.y, games.distribution)
    model = game_log_losses(games.y, games.model)
    test = paired_test(model, distribution, games.dates)
    return json_safe(
        {
            "n": n,
            "unpriced": games.unpriced,
            "dates": len(np.unique(games.dates)),
            "log_loss": {
                "distribution": float(distribution.mean()),
                "home_spread_model": float(model.mean()),
            },
            # The model's log loss minus the distribution's: positive, the distribution wins.
            "advantage_over_home_spread_model": _advantage(test),
            "ece": expected_calibration_error(games.y, games.distribution),
            "ece_floor": ece_noise_floor(games.distribution, seed=floor_seed),
            "home_spread_model_ece": expected_calibration_error(games.y, games.model),
            "mean_predicted": float(games.distribution.mean()),
            "actual_rate": float(games.y.mean()),
        }
    )


@dataclass
class PooledResult:
    """Per target: each season's :class:`Games`, the blend weight earned, what was skipped."""

    seasons: list[int]
    games: dict[str, dict[int, Games]] = field(default_factory=dict)
    blend_weights: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    training: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    skipped: dict[str, dict[int, str]] = field(default_factory=dict)
    # The run distribution's games per season, and the seconds its pricing took.
    runs: dict[int, RunGames] = field(default_factory=dict)
    runs_seconds: float = 0.0
    wall_seconds: float = 0.0
    # The report (:meth:`to_dict`), once the backtest has run.
    body: dict[str, Any] | None = None
    generated_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready, with the goals checked."""
        targets = {}
        for target, by_season in self.games.items():
            seasons = {
                str(season): summarise(games, floor_seed=season)
                | {
                    "blend_weight": self.blend_weights[target][season],
                    "training": self.training[target][season],
                }
                for season, games in by_season.items()
            }
            pooled = summarise(Games.concatenate(list(by_season.values()))) if by_season else None
            targets[target] = {
                "seasons": seasons,
                "pooled": pooled,
                "skipped": {str(s): r for s, r in self.skipped.get(target, {}).items()},
            }
        return json_safe(
            {
                "kind": "pooled_backtest",
                "seasons": self.seasons,
                "feature_set": FEATURE_SET.label,
                "feature_fingerprint": FEATURE_SET.fingerprint,
                "generated_at": self.generated_at,
                "wall_seconds": self.wall_seconds,
                "targets": targets,
                "goals": goals(targets),
                "run_distribution": self.runs_body(),
                "method": __doc__,
            }
        )

    def runs_body(self) -> dict[str, Any] | None:
        """The run distribution's numbers per season and pooled (None: not priced)."""
        if not self.runs:
            return None
        return {
            "seasons": {
                str(season): summarise_runs(games, floor_seed=season)
                for season, games in self.runs.items()
            },
            "pooled": summarise_runs(RunGames.concatenate(list(self.runs.values()))),
            "seconds": self.runs_seconds,
        }


def goals(targets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's three goals, each with its verdict and the numbers behind it."""

    def against_calibrated(stats: dict[str, Any] | None) -> tuple[float, float] | None:
        advantage = (stats or {}).get("advantage", {}).get("calibrated_open")
        if not advantage or advantage["standard_error"] is None:
            return None
        return advantage["mean"], advantage["standard_error"]

    pooled_ok, season_ok = {}, {}
    for target, body in targets.items():
        value = against_calibrated(body["pooled"])
        pooled_ok[target] = None if value is None else value[0] >= -value[1]
        worst = [
            (season, against_calibrated(stats))
            for season, stats in body["seasons"].items()
            if against_calibrated(stats) is not None
        ]
        season_ok[target] = {season: value[0] >= -2 * value[1] for season, value in worst}
    totals = targets.get("total_over", {}).get("seasons", {})
    ece_ok = {season: stats["ece"] <= TOTALS_ECE_GOAL for season, stats in totals.items()}
    return {
        "pooled_no_worse_than_calibrated_open_plus_1_se": {
            "per_target": pooled_ok,
            "met": bool(pooled_ok) and all(v is True for v in pooled_ok.values()),
        },
        "no_season_worse_than_calibrated_open_by_2_se": {
            "per_target": season_ok,
            "met": all(all(v.values()) for v in season_ok.values()),
        },
        "totals_ece_at_most_0.02_in_all_seasons_but_one": {
            "per_season": ece_ok,
            "met": bool(ece_ok) and sum(not v for v in ece_ok.values()) <= 1,
        },
    }


def walk_forward_features(
    session: Session,
    seasons: Sequence[int],
    say: Say,
    feature_set: FeatureSet = FEATURE_SET,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every stored game up to the last of ``seasons`` and its features, built once; raises
    NotEnoughData when a season is not stored or none before the first is."""
    stored = stored_seasons(session)
    missing = [s for s in seasons if s not in stored]
    if missing:
        raise NotEnoughData(f"no final games of season(s) {missing} are stored")
    if not any(s < min(seasons) for s in stored):
        raise NotEnoughData(f"no stored season before {min(seasons)} to train on")
    wanted = [s for s in stored if s <= max(seasons)]
    say(f"features of {wanted[0]}-{wanted[-1]} ({feature_set.label}, point-in-time, built once)")
    return season_features(session, wanted, feature_set)


def season_slices(
    games: pd.DataFrame, features: pd.DataFrame, seasons: Sequence[int]
) -> Iterator[tuple[int, np.ndarray, pd.DataFrame, pd.DataFrame]]:
    """Per season: the mask of the games before it (its training seasons), its games in date
    order and their features."""
    for season in seasons:
        before = (games["season"] < season).to_numpy()
        in_season = (games["season"] == season).to_numpy()
        season_games = games[in_season].sort_values(["game_date", "game_number", "game_id"])
        yield season, before, season_games, features.loc[season_games.index]


def pooled_backtest(
    session: Session,
    settings: Settings,
    seasons: Sequence[int],
    *,
    targets: Sequence[str] = TARGETS,
    say: Say = lambda _: None,
    log_to_mlflow: bool = True,
    run_line_pricer: RunLinePricer | None = None,
) -> PooledResult:
    """Walk forward over ``seasons`` (module docstring); with ``run_line_pricer``, and all
    three targets, the run distribution's calibration too."""
    started = time.perf_counter()
    games, features = walk_forward_features(session, seasons, say)
    result = PooledResult(seasons=list(seasons))
    for target in targets:
        result.games[target], result.blend_weights[target] = {}, {}
        result.training[target], result.skipped[target] = {}, {}
    for season, before, season_games, season_x in season_slices(games, features, seasons):
        probabilities, evaluations = {}, {}
        for target in targets:
            training = labelled(games[before], features[before], target)
            try:
                model = fit_model(training, target)
            except NotEnoughData as error:
                result.skipped[target][season] = str(error)
                say(f"{season} {target}: skipped: {error}")
                continue
            probability = model.predict(season_x)
            calibrated = (
                None
                if model.prior is None
                else sigmoid(model.prior.margin(season_x.to_numpy(dtype=float)))
            )
            evaluation = evaluate(season_games, target, probability)
            probabilities[target], evaluations[target] = probability, evaluation
            part = _season_games(evaluation, season_games.reset_index(drop=True), target,
                                 calibrated)  # fmt: skip
            result.games[target][season] = part
            blend = held_out_blend_weight(model, training, target)
            result.blend_weights[target][season] = blend.as_dict()
            result.training[target][season] = {
                "n_train": len(training.labels),
                "n_held_out": int(model.held_out.sum()),
                "rounds": model.rounds,
                "tree_weight": model.tree_weight,
            }
            stats = summarise(part, floor_seed=season)
            say(f"{season} {target}: {_line(stats)}; blend weight {blend.weight:.3f}")
        if run_line_pricer is not None and all(t in probabilities for t in RUN_TARGETS):
            priced_at = time.perf_counter()
            runs = run_distribution_games(
                season_games.reset_index(drop=True),
                probabilities[MONEYLINE.name],
                probabilities[TOTAL.name],
                evaluations[RUN_LINE.name],
                run_line_pricer,
            )
            result.runs[season] = runs
            result.runs_seconds += time.perf_counter() - priced_at
            say(f"{season} run distribution: {_runs_line(summarise_runs(runs, season))}")
    result.body = result.to_dict()
    result.wall_seconds = result.body["wall_seconds"] = time.perf_counter() - started
    if log_to_mlflow:
        say("logging to MLflow")
        log_pooled(settings, result, result.body)
    return result


def _line(stats: dict[str, Any]) -> str:
    ll = stats["log_loss"]
    parts = [f"n={stats['n']}", f"model {ll['model']:.5f}"]
    for name in REFERENCES:
        if ll.get(name) is not None:
            parts.append(f"{name} {ll[name]:.5f}")
    parts.append(f"ECE {stats['ece']:.4f} (floor {stats['ece_floor']['p95']:.4f})")
    return ", ".join(parts)


def _runs_line(stats: dict[str, Any]) -> str:
    if not stats["n"]:
        return f"n=0 ({stats['unpriced']} unpriced)"
    ll = stats["log_loss"]
    return (
        f"n={stats['n']} ({stats['unpriced']} unpriced), distribution {ll['distribution']:.5f}, "
        f"home_spread model {ll['home_spread_model']:.5f}, ECE {stats['ece']:.4f} "
        f"(floor {stats['ece_floor']['p95']:.4f})"
    )


def log_pooled(settings: Settings, result: PooledResult, body: dict | None = None) -> None:
    """One MLflow run (``kind=pooled_backtest``): pooled and per-season metrics, JSON, HTML."""
    import mlflow

    from app.ml import registry

    body = body or result.to_dict()
    client = registry.client(settings)
    experiment = client.get_experiment_by_name(registry.EXPERIMENT_NAME)
    span = f"{result.seasons[0]}-{result.seasons[-1]}"
    with mlflow.start_run(experiment_id=experiment.experiment_id, run_name=f"pooled-{span}"):
        mlflow.set_tags(
            {
                "kind": "pooled_backtest",
                "seasons": span,
                "feature_set": FEATURE_SET.label,
                "feature_fingerprint": FEATURE_SET.fingerprint,
            }
        )
        metrics: dict[str, float] = {"wall_seconds": result.wall_seconds}
        for target, target_body in body["targets"].items():
            scopes = {"pooled": target_body["pooled"], **target_body["seasons"]}
            for scope, stats in scopes.items():
                if not stats or not stats.get("n"):
                    continue
                prefix = f"{target}_{scope}"
                for name, value in stats["log_loss"].items():
                    if value is not None:
                        metrics[f"{prefix}_log_loss_{name}"] = value
                for name, value in stats["advantage"].items():
                    if value and value["standard_error"] is not None:
                        metrics[f"{prefix}_advantage_{name}"] = value["mean"]
                        metrics[f"{prefix}_advantage_{name}_se"] = value["standard_error"]
                metrics[f"{prefix}_ece"] = stats["ece"]
                if "blend_weight" in stats:
                    metrics[f"{prefix}_blend_weight"] = stats["blend_weight"]["weight"]
        metrics |= _runs_metrics(body.get("run_distribution"))
        mlflow.log_metrics(metrics)
        mlflow.log_dict(body, "pooled_backtest.json")
        mlflow.log_text(render_html(body), "pooled_backtest.html")


def _runs_metrics(runs: dict[str, Any] | None) -> dict[str, float]:
    """The run distribution's MLflow metrics (``run_distribution_<scope>_...``)."""
    if not runs:
        return {}
    metrics = {"run_distribution_seconds": runs["seconds"]}
    for scope, stats in {"pooled": runs["pooled"], **runs["seasons"]}.items():
        if not stats.get("n"):
            continue
        prefix = f"run_distribution_{scope}"
        metrics[f"{prefix}_log_loss"] = stats["log_loss"]["distribution"]
        metrics[f"{prefix}_log_loss_home_spread_model"] = stats["log_loss"]["home_spread_model"]
        advantage = stats["advantage_over_home_spread_model"]
        if advantage["standard_error"] is not None:
            metrics[f"{prefix}_advantage_over_home_spread_model"] = advantage["mean"]
            metrics[f"{prefix}_advantage_over_home_spread_model_se"] = advantage["standard_error"]
        metrics[f"{prefix}_ece"] = stats["ece"]
        metrics[f"{prefix}_ece_floor_p95"] = stats["ece_floor"]["p95"]
    return metrics


def runs_table_lines(runs: dict[str, Any] | None) -> list[str]:
    """The run distribution's table: a row per season, then the pooled row."""
    if not runs:
        return []

    def number(value: float | None, digits: int = 5) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    lines = [
        "run distribution: the home run line priced from the moneyline and totals models at "
        "the open, against the home_spread model on the same games",
        f"{'season':>6s} {'n':>6s} {'unpriced':>8s} {'distrib.':>8s} {'hs model':>8s} "
        f"{'model - distrib.':>17s} {'ECE':>6s} {'floor95':>7s} {'hs ECE':>6s} "
        f"{'mean p':>6s} {'rate':>6s}",
    ]
    for scope, stats in [*runs["seasons"].items(), ("pooled", runs["pooled"])]:
        if not stats.get("n"):
            lines.append(f"{scope:>6s} {0:6d} {stats.get('unpriced', 0):8d}")
            continue
        ll, advantage = stats["log_loss"], stats["advantage_over_home_spread_model"]
        difference = (
            "-"
            if advantage["mean"] is None
            else f"{advantage['mean']:+.5f}±{number(advantage['standard_error'])}"
        )
        lines.append(
            f"{scope:>6s} {stats['n']:6d} {stats['unpriced']:8d} {number(ll['distribution']):>8s} "
            f"{number(ll['home_spread_model']):>8s} {difference:>17s} "
            f"{number(stats['ece'], 4):>6s} {number(stats['ece_floor']['p95'], 4):>7s} "
            f"{number(stats['home_spread_model_ece'], 4):>6s} "
            f"{number(stats['mean_predicted'], 4):>6s} {number(stats['actual_rate'], 4):>6s}"
        )
    lines.append(f"run distribution priced in {runs['seconds']:.1f} s")
    return lines


def table_lines(body: dict[str, Any]) -> list[str]:
    """The printed table: a row per target and season, then the pooled row, then the goals."""

    def number(value: float | None, digits: int = 5) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    def advantage(value: dict | None) -> str:
        if not value or value["mean"] is None:
            return "-"
        error = value["standard_error"]
        return f"{value['mean']:+.5f}±{number(error)}"

    head = (
        f"{'target':12s} {'season':>6s} {'n':>6s} {'model':>8s} {'cal.open':>8s} {'open':>8s} "
        f"{'close':>8s} {'vs cal.open':>17s} {'vs open':>17s} {'vs close':>17s} "
        f"{'ECE':>6s} {'floor95':>7s} {'mean p':>6s} {'rate':>6s} {'CLV':>8s} {'CLV t':>6s} "
        f"{'blend':>5s}"
    )
    lines = [head]
    for target, target_body in body["targets"].items():
        rows = [*target_body["seasons"].items(), ("pooled", target_body["pooled"])]
        for scope, stats in rows:
            if not stats or not stats.get("n"):
                continue
            ll, adv = stats["log_loss"], stats["advantage"]
            clv = stats.get("lean_clv") or {}
            blend = (stats.get("blend_weight") or {}).get("weight")
            lines.append(
                f"{target:12s} {scope:>6s} {stats['n']:6d} {number(ll['model']):>8s} "
                f"{number(ll['calibrated_open']):>8s} {number(ll['open']):>8s} "
                f"{number(ll['close']):>8s} {advantage(adv['calibrated_open']):>17s} "
                f"{advantage(adv['open']):>17s} {advantage(adv['close']):>17s} "
                f"{number(stats['ece'], 4):>6s} {number(stats['ece_floor']['p95'], 4):>7s} "
                f"{number(stats['mean_predicted'], 4):>6s} {number(stats['actual_rate'], 4):>6s} "
                f"{number(clv.get('mean'), 4):>8s} {number(clv.get('t'), 2):>6s} "
                f"{number(blend, 3):>5s}"
            )
        for season, reason in target_body["skipped"].items():
            lines.append(f"{target:12s} {season:>6s} skipped: {reason}")
    lines.append(
        "vs X: X's log loss minus the model's (positive: the model is better) ± its standard "
        "error clustered by date; CLV: the model's lean at the open, closing minus opening "
        "de-vigged probability; blend: the weight earned on the held-out games."
    )
    lines.extend(runs_table_lines(body.get("run_distribution")))
    for name, goal in body["goals"].items():
        lines.append(f"goal {name}: {'met' if goal['met'] else 'NOT met'}")
    lines.append(f"wall time {body['wall_seconds']:.1f} s")
    return lines


def render_html(body: dict[str, Any]) -> str:
    """The report as one self-contained HTML document."""
    lines = table_lines(body)
    goals_html = "".join(
        f"<li>{html.escape(name)}: <b>{'met' if goal['met'] else 'not met'}</b> "
        f"<code>{html.escape(json.dumps(goal, default=str))}</code></li>"
        for name, goal in body["goals"].items()
    )
    return (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>Bullpen pooled backtest {body['seasons'][0]}-{body['seasons'][-1]}</title>"
        "</head><body style='font-family: system-ui, sans-serif; margin: 2em'>"
        f"<h1>Walk-forward backtest, {body['seasons'][0]}-{body['seasons'][-1]}, pooled</h1>"
        f"<p>Feature set {html.escape(body['feature_set'])}; generated "
        f"{html.escape(body['generated_at'])}; wall time {body['wall_seconds']:.1f} s.</p>"
        f"<pre>{html.escape(chr(10).join(lines))}</pre>"
        f"<h2>Goals</h2><ul>{goals_html}</ul>"
        f"<h2>Method</h2><pre>{html.escape(body['method'] or '')}</pre>"
        "</body></html>"
    )


def dumps(body: dict[str, Any]) -> str:
    return json.dumps(body, indent=2)
