"""Scoring: features from the store (computed on a miss), champions, payloads for PostgreSQL.

How a job's games are chunked, fanned out and finished is ``app.ml.prediction_jobs``.

A target's bet is recommended at the best price across books (``app.bets.pricing``: the
rules of best price, the EV threshold, the gate and the daily exposure cap) by a champion
that beat the market it bets against on its held-out games (``LoadedModel.bets_enabled``),
or, for a price-shopping bet, by a calibrated one; otherwise the prediction still carries
the probability, the market's and the edge, but no stake. Every served recommendation of a
stored game goes into the bets ledger in the transaction that writes its prediction, once
per ``(prediction, market)``.
"""

import math
import uuid
from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
import redis
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import clock
from app.bets.pricing import (
    BookQuote,
    Gate,
    Staking,
    apply_daily_exposure,
    price_shop,
)
from app.bets.quotes import Quotes
from app.betting.kelly import StakingPolicy
from app.betting.recommend import (
    CONFIDENCE_THRESHOLD,
    MARKETS,
    market_fields,
    market_probability,
    risk_level,
)
from app.config import Settings
from app.features.definitions import FEATURE_SET
from app.features.pipeline import (
    build_features,
    configured_cutoff_minutes,
    load_games_frame,
    refresh_features,
)
from app.features.pitchers import fill_pitcher_ids
from app.features.store import FeatureStore
from app.jobs.models import Prediction
from app.ml.registry import ChampionCache, LoadedModel
from app.ml.targets import TARGET_SPECS

TOP_CONTRIBUTIONS = 3


class FeatureSetMismatch(RuntimeError):
    """A champion was trained on another feature set than the one the store serves."""


def open_feature_store(settings: Settings, ttl_seconds: int | None = None) -> FeatureStore:
    """The feature store of the current feature set at ``settings.feature_store_url``."""
    return FeatureStore(redis.Redis.from_url(settings.feature_store_url), FEATURE_SET, ttl_seconds)


def staking_for(params: dict, settings: Settings) -> Staking:
    """A job's staking: the request's values, else the configured ones."""
    return Staking(
        bankroll=float(params.get("bankroll") or settings.bankroll),
        policy=StakingPolicy(
            fraction=float(params.get("kelly_fraction") or settings.kelly_fraction),
            cap=float(params.get("kelly_cap") or settings.kelly_cap),
        ),
        daily_exposure=float(params.get("daily_exposure") or settings.daily_exposure),
        min_ev=float(params["min_ev"] if params.get("min_ev") is not None else settings.min_ev),
    )


def champions_for(champions: ChampionCache, targets: Sequence[str]) -> dict[str, LoadedModel]:
    """The champions of ``targets`` now, read once so that a whole job uses the same versions."""
    models = {}
    for target in targets:
        model = champions.get(target)
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
    return {target: {"name": m.name, "version": m.version} for target, m in models.items()}


def _stored_features(
    session: Session, store: FeatureStore, game_ids: Sequence[int]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The games' rows and their features from the store, computing any that are missing."""
    games = load_games_frame(session, game_ids=game_ids).set_index("game_id").loc[list(game_ids)]
    matrix = store.get_many(game_ids)
    if not matrix.found.all():
        missing = matrix.game_ids[~matrix.found].tolist()
        refresh_features(session, store, game_ids=missing)
        matrix = store.get_many(game_ids)
    return games.reset_index(), matrix.values


def _spec_features(session: Session, specs: Sequence[dict]) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows and point-in-time features of games described by the client."""
    # The starters a client names (SBRO form or "First Last") become Retrosheet ids.
    targets = fill_pitcher_ids(session, pd.DataFrame([_spec_row(spec) for spec in specs]))
    # The targets' seasons and the season before them (the carried prior).
    seasons = range(int(targets["season"].min()) - 1, int(targets["season"].max()) + 1)
    history = load_games_frame(session, seasons=seasons, until=targets["game_date"].max())
    # A client-described game has no stored line history; its odds are its opening prices.
    features = build_features(history, targets, cutoff_minutes=configured_cutoff_minutes())
    return targets, features.to_numpy(dtype=np.float64)


def _spec_row(spec: dict) -> dict:
    start_time = datetime.fromisoformat(spec["start_time"])
    odds = spec.get("odds") or {}
    return {
        "game_id": None,
        "season": start_time.year,
        "game_date": pd.Timestamp(start_time.date()),
        "start_time": spec["start_time"],
        "game_number": 0,
        "home_team": spec["home_team"],
        "away_team": spec["away_team"],
        "home_pitcher": spec.get("home_pitcher"),
        "away_pitcher": spec.get("away_pitcher"),
        "home_pitcher_id": None,
        "away_pitcher_id": None,
        "home_score": np.nan,
        "away_score": np.nan,
        "home_ml_open": odds.get("home_ml", np.nan),
        "away_ml_open": odds.get("away_ml", np.nan),
        "total_open": odds.get("total", np.nan),
        "over_open": odds.get("over_price", np.nan),
        "under_open": odds.get("under_price", np.nan),
        "home_rl": odds.get("home_rl", np.nan),
        "home_rl_price": odds.get("home_rl_price", np.nan),
        "away_rl_price": odds.get("away_rl_price", np.nan),
    }


def score(
    games: pd.DataFrame,
    features: np.ndarray,
    models: dict[str, LoadedModel],
    bankroll: float,
    game_ids: Sequence[int | None],
    *,
    staking: Staking | None = None,
    quotes: Sequence[Quotes] | None = None,
    max_ece: float = 0.02,
    already: dict[str, float] | None = None,
) -> list[dict]:
    """One prediction payload per row of ``games``/``features``.

    ``quotes`` holds each row's book quotes by market (``app.bets.quotes``); without them a
    row is priced at its own prices (book ``sbro`` for a stored game, ``request`` for a
    described one). ``already`` is what the job served before on each date (exposure cap).
    """
    staking = staking or Staking(bankroll=bankroll)
    probabilities = {target: model.predict(features) for target, model in models.items()}
    explained = next(iter(models), None)
    contributions = (
        models[explained].booster.predict(features, pred_contrib=True) if explained else None
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
            "models": model_refs(models),
            "feature_set": FEATURE_SET.label,
            "prediction_timestamp": now,
        }
        recommendations = {}
        confidences = []
        for target, market in MARKETS.items():
            yes_column, no_column = TARGET_SPECS[target].price_columns
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
            if not gate.open or (target != "moneyline" and line is None):
                continue
            own = BookQuote(
                "sbro" if game_ids[row_number] is not None else "request",
                price_yes,
                price_no,
                line,
            )
            game_quotes = quotes[row_number].get(market.prefix, []) if quotes else [own]
            bet = price_shop(market, probability, game_quotes, line, gate, staking)
            if bet is not None:
                recommendations[market.prefix] = bet
        payload["betting_recommendations"] = recommendations
        payload["explanation"] = (
            _explanation(models[explained], contributions[row_number], features[row_number])
            if explained
            else []
        )
        payload["confidence_threshold_met"] = any(c >= CONFIDENCE_THRESHOLD for c in confidences)
        payloads.append(payload)
    apply_daily_exposure(payloads, staking, already)
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
        per_feature[model.prior.feature_index] += model.prior.margin(values[np.newaxis, :])[0]
    order = np.argsort(-np.abs(per_feature))[:TOP_CONTRIBUTIONS]
    return [
        {
            "target": model.target,
            "feature": FEATURE_SET.names[i],
            "value": None if np.isnan(values[i]) else float(values[i]),
            "contribution": float(per_feature[i]),
        }
        for i in order
    ]


def _upsert(
    session: Session,
    job_id: uuid.UUID,
    indexes: Sequence[int],
    keys: Sequence[str],
    game_ids: Sequence[int | None],
    payloads: Sequence[dict],
) -> dict[str, int]:
    """Write the predictions; {item_key: prediction id}."""
    rows = [
        {
            "job_id": job_id,
            "item_key": key,
            "item_index": index,
            "game_id": game_id,
            "payload": payload,
            # The time the prediction was made (the replay's clock in a replay).
            "created_at": datetime.fromisoformat(payload["prediction_timestamp"]),
        }
        for index, key, game_id, payload in zip(indexes, keys, game_ids, payloads, strict=True)
    ]
    statement = insert(Prediction).values(rows)
    written = session.execute(
        statement.on_conflict_do_update(
            index_elements=[Prediction.job_id, Prediction.item_key],
            set_={
                "payload": statement.excluded.payload,
                "created_at": statement.excluded.created_at,
            },
        ).returning(Prediction.item_key, Prediction.id)
    ).all()
    return {item_key: prediction_id for item_key, prediction_id in written}
