"""What each feature family earns: walk-forward, with and without it, paired by game.

``bullpen ml families --seasons 2016-2019``: for each season Y and target, models are fitted
exactly as :func:`app.ml.train.fit_model` fits them on every stored season before Y and
predict Y; for each family one model reads the family and one does not, everything else
equal. The family's **gain** is the per-game log loss of the model without it minus the
model with it (positive: the family helps), pooled over the seasons, with its standard error
clustered by date (:func:`app.ml.significance.paired_test`), on the games
:func:`app.ml.evaluation.evaluate` scores (a label and every opening and closing price).

The base of a comparison is the default feature set (``app.features.definitions``) read at
the moment the family becomes known: a family of the default set is left out of it, a
candidate family is added to it. A family known at the ``lineup`` (lineups post after the
open) is measured on models that read what is known once lineups are posted, and those are
scored against the CLOSE, the price a bettor can still take then: each row also says the
model-with-the-family's log loss minus the de-vigged close's (negative: the close is better).
The market family is the prior every model starts from and is never left out.

A family earns its place when its pooled gain exceeds its standard error (``earns``).

The models keep their best early-stopping round (``rounds_rule = "best"``), not the one-SE
rule's fewest: under that rule most models are their market prior alone, read no feature, and
every family's gain would be 0 by construction. The question here is what a family's
information is worth to trees that use it.
"""

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from app.features.definitions import (
    DEFAULT_FAMILIES,
    EVERY_FEATURE,
    FAMILIES,
    FEATURE_SET,
    REQUIRED_FAMILIES,
    model_features,
    priced_at,
)
from app.features.featureset import MOMENTS, KnownAt
from app.markets import TARGETS
from app.ml.evaluation import evaluate, json_safe
from app.ml.hyperparameters import TargetHyperparameters, hyperparameters
from app.ml.metrics import game_log_losses
from app.ml.pooled import season_slices, walk_forward_features
from app.ml.significance import paired_test
from app.ml.train import NotEnoughData, fit_model, labelled

Say = Callable[[str], None]


def family_moment(family: str, target: str) -> KnownAt:
    """The moment a ``family``'s comparison for ``target`` is made: the later of when the
    target's price is posted and when the family's last feature becomes known."""
    known = [MOMENTS.index(feature.known_at) for feature in FAMILIES[family]]
    return MOMENTS[max(MOMENTS.index(priced_at(target)), *known)]


def family_columns(family: str, target: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns of the model without ``family`` and of the model with it, for ``target``."""
    moment = family_moment(family, target)
    default = set(FEATURE_SET.names)
    own = {feature.name for feature in FAMILIES[family]}
    readable = EVERY_FEATURE.known_for(target, moment)
    base = [name for name in readable if name in default]
    without = tuple(name for name in base if name not in own)
    with_family = tuple(name for name in readable if name in default or name in own)
    return without, with_family


@dataclass
class _Pairs:
    """One target and family's per-game losses over the seasons, with and without."""

    dates: list[np.ndarray] = field(default_factory=list)
    without: list[np.ndarray] = field(default_factory=list)
    with_family: list[np.ndarray] = field(default_factory=list)
    close: list[np.ndarray] = field(default_factory=list)
    seasons: dict[int, dict[str, Any]] = field(default_factory=dict)

    def add(self, season: int, dates, without, with_family, close) -> None:
        self.dates.append(dates)
        self.without.append(without)
        self.with_family.append(with_family)
        self.close.append(close)
        self.seasons[season] = _gain(dates, without, with_family, close)

    def pooled(self) -> dict[str, Any]:
        if not self.dates:
            return {"n": 0}
        return _gain(*(np.concatenate(part) for part in
                       (self.dates, self.without, self.with_family, self.close)))  # fmt: skip


def _gain(dates, without, with_family, close) -> dict[str, Any]:
    test = paired_test(without, with_family, dates)
    body: dict[str, Any] = {
        "n": test.n,
        "dates": test.dates,
        "gain": test.advantage,
        "standard_error": test.standard_error,
        "log_loss_without": float(np.mean(without)),
        "log_loss_with": float(np.mean(with_family)),
    }
    if np.isfinite(close).all():
        against_close = paired_test(close, with_family, dates)
        body["close_minus_model"] = against_close.advantage
        body["close_minus_model_se"] = against_close.standard_error
    return body


def _keeping_trees(target: str) -> TargetHyperparameters:
    """The target's hyperparameters with the best early-stopping round kept (module doc)."""
    return replace(hyperparameters(target), rounds_rule="best")


@dataclass
class _Fitter:
    """One season and target's models, fitted on the seasons before it, one per column set."""

    games: pd.DataFrame
    features: pd.DataFrame
    target: str
    season_x: pd.DataFrame
    cache: dict[tuple[str, ...], np.ndarray] = field(default_factory=dict)

    def predicted(self, columns: tuple[str, ...]) -> np.ndarray:
        """The season's probabilities by the model reading ``columns``."""
        if columns not in self.cache:
            data = labelled(self.games, self.features, self.target, columns=columns)
            model = fit_model(data, self.target, _keeping_trees(self.target))
            self.cache[columns] = model.predict(self.season_x[list(columns)])
        return self.cache[columns]


def _measure_season(
    season: int,
    target: str,
    families: Sequence[str],
    fitter: _Fitter,
    season_games: pd.DataFrame,
    pairs: dict[str, _Pairs],
    say: Say,
) -> None:
    # The games scored do not depend on the model: the default one's evaluation.
    try:
        base = evaluate(season_games, target, fitter.predicted(model_features(target)))
    except NotEnoughData as error:
        say(f"{season} {target}: skipped: {error}")
        return
    rows, y, dates = base.rows, base.y, base.dates
    close = base.p_market.get("close")
    close_losses = (
        game_log_losses(base.y_market["close"], close)
        if close is not None
        else np.full(len(y), np.nan)
    )
    for family in families:
        without, with_family = family_columns(family, target)
        if without == with_family:
            continue  # the target's model never reads the family
        loss_without = game_log_losses(y, fitter.predicted(without)[rows])
        loss_with = game_log_losses(y, fitter.predicted(with_family)[rows])
        pairs[family].add(season, dates, loss_without, loss_with, close_losses)
        stats = pairs[family].seasons[season]
        say(
            f"{season} {target:11s} {family:12s} gain {stats['gain']:+.5f} ± "
            f"{stats['standard_error']:.5f} (n={stats['n']})"
        )


def family_gains(
    session: Session,
    seasons: Sequence[int],
    *,
    families: Sequence[str] | None = None,
    targets: Sequence[str] = TARGETS,
    say: Say = lambda _: None,
) -> dict[str, Any]:
    """Every family's gain per target, per season and pooled (module docstring)."""
    started = time.perf_counter()
    families = [f for f in (families or FAMILIES) if f not in REQUIRED_FAMILIES]
    unknown = [f for f in families if f not in FAMILIES]
    if unknown:
        raise ValueError(f"unknown families {unknown}; known: {sorted(FAMILIES)}")
    games, features = walk_forward_features(session, seasons, say, EVERY_FEATURE)
    pairs = {target: {family: _Pairs() for family in families} for target in targets}
    for season, before, season_games, season_x in season_slices(games, features, seasons):
        for target in targets:
            _measure_season(
                season,
                target,
                families,
                _Fitter(games[before], features[before], target, season_x),
                season_games,
                pairs[target],
                say,
            )
    body: dict[str, Any] = {
        "kind": "family_gains",
        "seasons": list(seasons),
        "feature_set": FEATURE_SET.label,
        "default_families": list(DEFAULT_FAMILIES),
        "targets": {},
    }
    for target in targets:
        body["targets"][target] = {}
        for family in families:
            pair = pairs[target][family]
            if not pair.dates:
                continue
            pooled = pair.pooled()
            body["targets"][target][family] = {
                "moment": family_moment(family, target),
                "in_default": family in DEFAULT_FAMILIES,
                "pooled": pooled,
                "earns": bool(
                    pooled["standard_error"] is not None
                    and pooled["gain"] > pooled["standard_error"]
                ),
                "seasons": {str(s): v for s, v in pair.seasons.items()},
            }
    body["wall_seconds"] = time.perf_counter() - started
    return json_safe(body)


def table_lines(body: dict[str, Any]) -> list[str]:
    """The pooled gains as a Markdown table."""
    lines = [
        "| target | family | moment | in default | games | gain (SE) | earns | "
        "log loss with | close - model |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for target, by_family in body["targets"].items():
        for family, entry in by_family.items():
            pooled = entry["pooled"]
            close = pooled.get("close_minus_model")
            lines.append(
                f"| {target} | {family} | {entry['moment']} | "
                f"{'yes' if entry['in_default'] else 'no'} | {pooled['n']} | "
                f"{pooled['gain']:+.5f} ({pooled['standard_error']:.5f}) | "
                f"{'yes' if entry['earns'] else 'no'} | {pooled['log_loss_with']:.5f} | "
                + ("—" if close is None else f"{close:+.5f} ± {pooled['close_minus_model_se']:.5f}")
                + " |"
            )
    return lines
