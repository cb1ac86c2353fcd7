"""Prediction jobs: features from the store (computed on a miss), champions, results in PostgreSQL.

Results are written a chunk at a time, each chunk in one transaction with the job's
progress, and the last chunk in the same transaction as the job's success, so a
crash leaves either a running job (redelivered and resumed: writes are upserts on
(job_id, item_key)) or a finished one, never a half-written success.

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
from app.bets.ledger import StoredPrediction, job_stakes_before, record_served_bets
from app.bets.pricing import (
    BookQuote,
    Gate,
    Staking,
    apply_daily_exposure,
    price_shop,
    served_stakes_by_date,
)
from app.bets.quotes import Quotes, book_quotes
from app.betting.kelly import StakingPolicy
from app.betting.recommend import (
    CONFIDENCE_THRESHOLD,
    MARKETS,
    market_fields,
    market_probability,
    risk_level,
)
from app.config import Settings
from app.db.session import session_scope
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
from app.jobs.service import claim, finish, is_cancelled, set_progress
from app.ml.registry import ChampionCache, LoadedModel
from app.ml.targets import TARGET_SPECS

CHUNK_SIZE = 500
TOP_CONTRIBUTIONS = 3


class FeatureSetMismatch(RuntimeError):
    """A champion was trained on another feature set than the one the store serves."""


def open_feature_store(settings: Settings, ttl_seconds: int | None = None) -> FeatureStore:
    """The feature store of the current feature set at ``settings.feature_store_url``."""
    return FeatureStore(redis.Redis.from_url(settings.feature_store_url), FEATURE_SET, ttl_seconds)


def run_prediction_job(
    settings: Settings,
    job_id: uuid.UUID,
    task_id: str,
    champions: ChampionCache,
    store: FeatureStore,
) -> None:
    """Claim the job, predict every game it names, and finish it."""
    database_url = settings.database_url
    with session_scope(database_url) as session:
        job = claim(session, job_id, task_id)
        if job is None:
            return
        params = job.params
    models = champions_for(champions, params["targets"])
    staking = staking_for(params, settings)
    items: Sequence = params.get("game_ids") or params.get("games") or []
    by_spec = "games" in params
    total = len(items)
    if total == 0:
        with session_scope(database_url) as session:
            finish(session, job_id, {"predictions": 0})
        return
    for start in range(0, total, CHUNK_SIZE):
        chunk = items[start : start + CHUNK_SIZE]
        with session_scope(database_url) as session:
            if is_cancelled(session, job_id):
                return
            if by_spec:
                games, features = _spec_features(session, chunk)
                keys = [f"spec-{start + i}" for i in range(len(chunk))]
                game_ids: list[int | None] = [None] * len(chunk)
                quotes = None
            else:
                games, features = _stored_features(session, store, chunk)
                keys = [str(game_id) for game_id in chunk]
                game_ids = list(chunk)
                by_game = book_quotes(session, chunk)
                quotes = [by_game.get(game_id, {}) for game_id in chunk]
            payloads = score(
                games,
                features,
                models,
                staking.bankroll,
                game_ids,
                staking=staking,
                quotes=quotes,
                max_ece=settings.max_ece,
                already=served_stakes_by_date(job_stakes_before(session, job_id, start)),
            )
            ids = _upsert(session, job_id, start, keys, game_ids, payloads)
            record_served_bets(
                session,
                [
                    StoredPrediction(ids[key], game_id, payload)
                    for key, game_id, payload in zip(keys, game_ids, payloads, strict=True)
                ],
            )
            done = start + len(chunk)
            set_progress(session, job_id, done, total)
            if done == total:
                finish(session, job_id, {"predictions": total, "models": _model_refs(models)})


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


def _model_refs(models: dict[str, LoadedModel]) -> dict[str, dict[str, str]]:
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
            "models": _model_refs(models),
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
    start: int,
    keys: Sequence[str],
    game_ids: Sequence[int | None],
    payloads: Sequence[dict],
) -> dict[str, int]:
    """Write the predictions; {item_key: prediction id}."""
    rows = [
        {
            "job_id": job_id,
            "item_key": key,
            "item_index": start + i,
            "game_id": game_id,
            "payload": payload,
            # The time the prediction was made (the replay's clock in a replay).
            "created_at": datetime.fromisoformat(payload["prediction_timestamp"]),
        }
        for i, (key, game_id, payload) in enumerate(zip(keys, game_ids, payloads, strict=True))
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
