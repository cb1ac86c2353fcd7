"""Row-by-row prediction payloads: ``app.predictions.pipeline.score`` before vectorising.

Kept verbatim (renamed) as the reference the vectorised ``score`` must match exactly: the
same payloads, field by field, for the same games, features, champions and quotes.
"""

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd

from app import clock
from app.bets.quotes import Quotes
from app.features.definitions import FEATURE_SET
from app.markets import MARKETS, Market
from app.ml.registry import LoadedModel
from app.odds import market_probability
from app.staking.pricing import (
    CONFIDENCE_THRESHOLD,
    BookQuote,
    Gate,
    Staking,
    apply_daily_exposure,
    price_shop,
    risk_level,
)

TOP_CONTRIBUTIONS = 3


def market_fields(market: Market, probability: float | None, market_prob: float | None) -> dict:
    """The ``*_probability, *_binary, *_confidence, *_market_probability, *_edge`` fields."""
    prefix = market.key
    if probability is None:
        return {
            f"{prefix}_{field}": None
            for field in ("probability", "binary", "confidence", "market_probability", "edge")
        } | {f"{prefix}_market_probability": market_prob}
    return {
        f"{prefix}_probability": probability,
        f"{prefix}_binary": int(probability >= 0.5),
        f"{prefix}_confidence": max(probability, 1.0 - probability),
        f"{prefix}_market_probability": market_prob,
        f"{prefix}_edge": None if market_prob is None else probability - market_prob,
    }


def _model_refs(models: dict[str, LoadedModel]) -> dict[str, dict[str, str]]:
    return {
        target: {"name": m.name, "version": m.version, "blend_weight": m.blend_weight}
        for target, m in models.items()
    }


def score_by_rows(
    games: pd.DataFrame,
    features: np.ndarray,
    models: dict[str, LoadedModel],
    bankroll: float,
    game_ids: Sequence[int | None],
    *,
    staking: Staking | None = None,
    quotes: Sequence[Quotes] | None = None,
    max_ece: float = 0.02,
) -> list[dict]:
    """One prediction payload per row of ``games``/``features``.

    ``quotes`` holds each row's book quotes by market (``app.bets.quotes``); without them a
    row is priced at its own prices (book ``sbro`` for a stored game, ``request`` for a
    described one).
    """
    staking = staking or Staking(bankroll=bankroll)
    probabilities = {target: model.predict(features) for target, model in models.items()}
    explained = next(iter(models), None)
    contributions = (
        models[explained].booster.predict(models[explained].inputs(features), pred_contrib=True)
        if explained
        else None
    )
    now = clock.now().isoformat()
    primary = models.get("moneyline") or (models[explained] if explained else None)
    payloads = []
    for row_number, (_, game) in enumerate(games.iterrows()):
        payload: dict = {
            "game_id": game_ids[row_number],
            "game": _game_summary(game),
            "model_name": primary.name if primary else None,
            "model_version": primary.version if primary else None,
            "models": _model_refs(models),
            "feature_set": FEATURE_SET.label,
            "prediction_timestamp": now,
        }
        recommendations = {}
        confidences = []
        lines = {}
        for target, market in MARKETS.items():
            yes_column, no_column = market.priced.yes, market.priced.no
            price_yes, price_no = _price(game.get(yes_column)), _price(game.get(no_column))
            probability = (
                float(probabilities[target][row_number]) if target in probabilities else None
            )
            payload |= market_fields(market, probability, market_probability(price_yes, price_no))
            if probability is None:
                continue
            confidences.append(max(probability, 1 - probability))
            gate = Gate(models[target].bets_enabled, models[target].calibrated(max_ece))
            line = _line(game, target)
            if target in _LINE_COLUMNS:
                lines[target] = line
            if not gate.open or (target != "moneyline" and line is None):
                continue
            own = BookQuote(
                "sbro" if game_ids[row_number] is not None else "request",
                price_yes,
                price_no,
                line,
            )
            game_quotes = quotes[row_number].get(market.key, []) if quotes else [own]
            bet = price_shop(market, probability, game_quotes, line, gate, staking)
            if bet is not None:
                recommendations[market.key] = bet
        payload["lines"] = lines
        payload["betting_recommendations"] = recommendations
        payload["paper_bets"] = {}  # no strategies here: no other strategy's paper bets
        payload["explanation"] = (
            _explanation(
                models[explained],
                contributions[row_number],
                models[explained].inputs(features)[row_number],
            )
            if explained
            else []
        )
        payload["confidence_threshold_met"] = any(c >= CONFIDENCE_THRESHOLD for c in confidences)
        payloads.append(payload)
    apply_daily_exposure(payloads, staking)
    for payload in payloads:
        payload["risk_level"] = risk_level(payload["betting_recommendations"])
    return payloads


# The line a target's model is asked about, by target: None for the moneyline.
_LINE_COLUMNS = {"total_over": "total_open", "home_spread": "home_rl"}


def _line(game: pd.Series, target: str) -> float | None:
    column = _LINE_COLUMNS.get(target)
    if column is None:
        return None
    value = game.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)


def _price(value: object) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def _game_summary(game: pd.Series) -> dict:
    return {
        "home_team": game["home_team"],
        "away_team": game["away_team"],
        "game_date": pd.Timestamp(game["game_date"]).date().isoformat(),
    }


def _explanation(model: LoadedModel, contributions: np.ndarray, values: np.ndarray) -> list[dict]:
    """The features that moved the model's log-odds most for this game.

    A model boosted from a market prior owes the prior's log-odds to its market
    feature, so that feature is credited with them.
    """
    per_feature = contributions[:-1].copy()  # the last column is the bias
    if model.prior is not None:
        per_feature *= model.tree_weight
        per_feature[model.prior.feature_index] += model.prior.margin(values[np.newaxis, :])[0]
    order = np.argsort(-np.abs(per_feature))[:TOP_CONTRIBUTIONS]
    return [
        {
            "target": model.target,
            "feature": model.feature_names[i],
            "value": None if np.isnan(values[i]) else float(values[i]),
            "contribution": float(per_feature[i]),
        }
        for i in order
        if per_feature[i] != 0  # a feature no tree used moved nothing
    ]


# The prior's share of an explanation is now one matrix product over the chunk (the one the
# probability already used) instead of one per row: the same sum, up to its last bit.
FLOAT_TOLERANCE = 1e-12


def assert_same_payloads(actual: object, expected: object, path: str = "payloads") -> None:
    """Equal structure, key order, types and values; floats within :data:`FLOAT_TOLERANCE`."""
    assert type(actual) is type(expected), f"{path}: {actual!r} != {expected!r}"
    if isinstance(expected, float):
        assert abs(actual - expected) <= FLOAT_TOLERANCE, f"{path}: {actual!r} != {expected!r}"
    elif isinstance(expected, dict):
        assert list(actual) == list(expected), f"{path}: keys {list(actual)} != {list(expected)}"
        for key, value in expected.items():
            assert_same_payloads(actual[key], value, f"{path}.{key}")
    elif isinstance(expected, list):
        assert len(actual) == len(expected), f"{path}: {len(actual)} != {len(expected)} items"
        for index, (item, value) in enumerate(zip(actual, expected, strict=True)):
            assert_same_payloads(item, value, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"
