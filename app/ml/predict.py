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

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import numpy as np
import pandas as pd
import redis
from sqlalchemy.orm import Session

from app import clock
from app.bets.fairline import FairLineRules, fair_line, serve
from app.bets.kelly import StakingPolicy
from app.bets.odds import devig_two_way_array
from app.bets.pricing import (
    CONFIDENCE_THRESHOLD,
    BookQuote,
    Gate,
    Staking,
    apply_daily_exposure,
    price_shop,
    risk_level,
)
from app.bets.quotes import Quotes, first_pitch
from app.bets.strategies import Strategy, served_bet, strategy_bets
from app.config import Settings
from app.features.definitions import FEATURE_SET
from app.features.pipeline import build_features
from app.features.pitchers import fill_pitcher_ids
from app.features.refresh import configured_cutoff_minutes, refresh_features
from app.features.store import FeatureStore
from app.games.queries import load_games_frame
from app.markets import MARKETS, MONEYLINE
from app.ml.registry import ChampionCache, LoadedModel

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
    return {
        target: {"name": m.name, "version": m.version, "blend_weight": m.blend_weight}
        for target, m in models.items()
    }


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
        "season": clock.local_date(start_time).year,
        "game_date": pd.Timestamp(clock.local_date(start_time)),
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
    fair_rules: FairLineRules | None = None,
    strategies: Mapping[str, Strategy] | None = None,
    live: Iterable[str] = (),
) -> list[dict]:
    """One prediction payload per row of ``games``/``features``.

    ``quotes`` holds each row's book quotes by market (``app.bets.quotes``); without them a
    row is priced at its own prices (book ``sbro`` for a stored game, ``request`` for a
    described one). ``already`` is what the job served before on each date (exposure cap).

    With ``fair_rules``, a market whose stored quotes give a fair line now
    (``app.bets.fairline``) is served against it, whatever the model's gate; a market without
    one falls back to the model's own price, behind its gate (``app.bets.pricing``). With
    ``strategies`` (``live``: the names of the live ones), each strategy prices it on its own
    (``app.bets.strategies``): the served recommendation is the first live one's bet (else the
    first strategy's, paper) and the other strategies' bets are the payload's ``paper_bets``
    (``{market: {strategy: bet}}``).

    Every number is computed per target over the whole chunk with numpy; the per-game
    dicts are assembled at the end from plain lists. Only a market with quotes or an open
    gate goes through the books row by row (its books differ from game to game).
    """
    staking = staking or Staking(bankroll=bankroll)
    rows = len(games)
    if rows == 0:
        return []
    explained = next(iter(models), None)
    primary = models.get(MONEYLINE.name) or (models[explained] if explained else None)
    moment = clock.now()
    now = moment.isoformat()
    pitches = _first_pitches(games) if quotes and fair_rules is not None else None
    field_names: list[str] = []
    field_columns: list[list] = []
    recommendations: list[dict] = [{} for _ in range(rows)]
    paper_bets: list[dict] = [{} for _ in range(rows)]
    # The line each line market's probability is about (the total, the home run line).
    market_lines: list[dict] = [{} for _ in range(rows)]
    confident = np.zeros(rows, dtype=bool)
    for target, market in MARKETS.items():
        yes_column, no_column = market.priced.yes, market.priced.no
        price_yes, price_no = _prices(games, yes_column), _prices(games, no_column)
        market_probabilities = devig_two_way_array(price_yes, price_no)[0]
        field_names += [f"{market.key}_{field}" for field in _MARKET_FIELDS]
        model = models.get(target)
        if model is None:
            nothing = [None] * rows
            field_columns += [nothing, nothing, nothing, _nullable(market_probabilities), nothing]
            continue
        probability = model.predict(features)
        confidence = np.maximum(probability, 1.0 - probability)
        confident |= confidence >= CONFIDENCE_THRESHOLD
        probabilities = probability.tolist()
        field_columns += [
            probabilities,
            (probability >= 0.5).astype(int).tolist(),
            confidence.tolist(),
            _nullable(market_probabilities),
            _nullable(probability - market_probabilities),
        ]
        gate = Gate(model.bets_enabled, model.calibrated(max_ece))
        line_column = market.line
        lines = _nullable(_column(games, line_column)) if line_column else [None] * rows
        if line_column:
            for row_lines, line in zip(market_lines, lines, strict=True):
                row_lines[target] = line
        if not gate.open and pitches is None:
            continue
        yes_prices, no_prices = _nullable_prices(price_yes), _nullable_prices(price_no)
        for row in range(rows):
            line = lines[row]
            if line_column is not None and line is None:
                continue
            if quotes:
                game_quotes = quotes[row].get(market.key, [])
            else:
                book = "sbro" if game_ids[row] is not None else "request"
                game_quotes = [BookQuote(book, yes_prices[row], no_prices[row], line)]
            fair = None
            if pitches is not None and game_quotes:
                fair = fair_line(
                    market, game_quotes, line, moment, pitches[row], fair_rules,
                    probabilities[row], model.blend_weight,
                )  # fmt: skip
            if fair is not None and strategies is not None:
                taken = strategy_bets(
                    market, fair, game_quotes, moment, pitches[row], fair_rules, strategies,
                    live, staking,
                )  # fmt: skip
                bet = served_bet(taken)
                others = {name: other for name, other in taken.items() if other is not bet}
                if others:
                    paper_bets[row][market.key] = others
            elif fair is not None:
                bet = serve(market, fair, staking)
            elif gate.open:
                bet = price_shop(market, probabilities[row], game_quotes, line, gate, staking)
            else:
                bet = None
            if bet is not None:
                recommendations[row][market.key] = bet
    explanations = (
        _explanations(models[explained], features) if explained else [[] for _ in range(rows)]
    )
    refs = model_refs(models)
    header = {
        "model_name": primary.name if primary else None,
        "model_version": primary.version if primary else None,
    }
    payloads = []
    for row, (game_id, home, away, game_date, fields, met) in enumerate(
        zip(
            game_ids,
            games["home_team"].tolist(),
            games["away_team"].tolist(),
            _iso_dates(games["game_date"]),
            zip(*field_columns, strict=True),
            confident.tolist(),
            strict=True,
        )
    ):
        payload = {
            "game_id": game_id,
            "game": {"home_team": home, "away_team": away, "game_date": game_date},
            **header,
            "models": {target: dict(ref) for target, ref in refs.items()},
            "feature_set": FEATURE_SET.label,
            "prediction_timestamp": now,
            **dict(zip(field_names, fields, strict=True)),
            "lines": market_lines[row],
            "betting_recommendations": recommendations[row],
            "paper_bets": paper_bets[row],
            "explanation": explanations[row],
            "confidence_threshold_met": met,
        }
        payloads.append(payload)
    apply_daily_exposure(payloads, staking, already)
    for payload in payloads:
        payload["risk_level"] = risk_level(payload["betting_recommendations"])
    return payloads


# The fields of each market in a payload, after its key.
_MARKET_FIELDS = ("probability", "binary", "confidence", "market_probability", "edge")


def _first_pitches(games: pd.DataFrame) -> list[datetime]:
    """When betting closes on each game (``app.bets.quotes.first_pitch``)."""
    starts = (
        pd.to_datetime(games["start_time"], utc=True)
        if "start_time" in games
        else pd.Series(pd.NaT, index=games.index)
    )
    days = pd.to_datetime(games["game_date"]).dt.date
    return [
        first_pitch(None if pd.isna(start) else start.to_pydatetime(), day)
        for start, day in zip(starts, days, strict=True)
    ]


def _column(games: pd.DataFrame, column: str) -> np.ndarray:
    """A numeric column as float64 (NaN where missing; all NaN when the frame lacks it)."""
    if column not in games:
        return np.full(len(games), np.nan)
    return games[column].to_numpy(dtype=np.float64, na_value=np.nan)


def _prices(games: pd.DataFrame, column: str) -> np.ndarray:
    """American prices of a column, truncated to whole numbers like ``int()``; NaN if missing."""
    return np.trunc(_column(games, column))


def _nullable(values: np.ndarray) -> list[float | None]:
    """Python floats, None where NaN."""
    return [None if value != value else value for value in values.tolist()]


def _nullable_prices(values: np.ndarray) -> list[int | None]:
    return [None if value != value else int(value) for value in values.tolist()]


def _iso_dates(dates: pd.Series) -> list[str]:
    """``YYYY-MM-DD`` of each date (a timezone-aware one at its own wall-clock date)."""
    stamps = pd.to_datetime(dates)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[D]").astype(str).tolist()


def _explanations(model: LoadedModel, features: np.ndarray) -> list[list[dict]]:
    """The features that moved the model's log-odds most, for every row.

    A model boosted from a market prior owes the prior's log-odds to its market
    feature, so that feature is credited with them.
    """
    # One thread, as LoadedModel.predict: a chunk's rows take well under a millisecond so,
    # while LightGBM's default OpenMP team waits tens of ms on a busy machine.
    features = model.inputs(features)
    contributions = model.booster.predict(features, pred_contrib=True, num_threads=1)
    per_feature = contributions[:, :-1].copy()  # the last column is the bias
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
        ]
        for indexes, row_values, row_contributions in zip(
            order.tolist(), value_lists, chosen, strict=True
        )
    ]


# A chunk's rows are COPYed into a temporary table of the session's connection (created
# once per connection, emptied at every commit) and upserted from there in one statement,
# which empties it again. The payload JSON is encoded once per row and parsed once by
# PostgreSQL, and there are no bind parameters per row to build, send or parse: on 500
# rows a multi-row VALUES (compiled by SQLAlchemy) or one INSERT over unnest() of arrays
# of JSON text took two to three times as long. A re-run of a chunk rewrites its rows:
# (job_id, item_key) is unique.
_STAGE_PREDICTIONS = """
    CREATE TEMPORARY TABLE IF NOT EXISTS staged_predictions (
        item_key text, item_index integer, game_id integer, payload jsonb,
        created_at timestamptz
    ) ON COMMIT DELETE ROWS
"""
_COPY_PREDICTIONS = (
    "COPY staged_predictions (item_key, item_index, game_id, payload, created_at) FROM STDIN"
)
_UPSERT_PREDICTIONS = """
    WITH staged AS (DELETE FROM staged_predictions RETURNING *)
    INSERT INTO predictions (job_id, item_key, item_index, game_id, payload, created_at)
    SELECT %(job_id)s, item_key, item_index, game_id, payload, created_at FROM staged
    ON CONFLICT (job_id, item_key)
    DO UPDATE SET payload = excluded.payload, created_at = excluded.created_at
    RETURNING item_key, id
"""


def _upsert(
    session: Session,
    job_id: uuid.UUID,
    indexes: Sequence[int],
    keys: Sequence[str],
    game_ids: Sequence[int | None],
    payloads: Sequence[dict],
) -> dict[str, int]:
    """Write the predictions (COPY, then one upsert); {item_key: prediction id}."""
    if not payloads:
        return {}
    connection = session.connection().connection.driver_connection
    with connection.cursor() as cursor:
        cursor.execute(_STAGE_PREDICTIONS)
        with cursor.copy(_COPY_PREDICTIONS) as copy:
            for index, key, game_id, payload in zip(indexes, keys, game_ids, payloads, strict=True):
                # The time the prediction was made (the replay's clock in a replay).
                made = datetime.fromisoformat(payload["prediction_timestamp"])
                copy.write_row((key, index, game_id, json.dumps(payload), made))
        cursor.execute(_UPSERT_PREDICTIONS, {"job_id": job_id})
        return dict(cursor.fetchall())
