"""One chunk of a prediction job, top to bottom: features -> model probabilities -> fair line,
prices and stakes -> results and ledger. Each step is one call into its own package; the job
module (``app.predictions.jobs``) claims, plans and finishes around it.

A target's bet is recommended at the best price across books by a champion that beat the
market on its held-out games, or by a calibrated one (``app.staking.pricing``); otherwise the
prediction still carries the probability, the market's and the edge, but no stake. Every
served recommendation of a stored game goes into the bets ledger in the transaction that
writes its prediction, once per ``(prediction, market)``.
"""

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import Row
from sqlalchemy.orm import Session

from app import clock
from app.bets.fairline import FairLineRules
from app.bets.ledger import StoredPrediction, record_served_bets
from app.bets.quotes import Quotes, book_quotes, first_pitch
from app.bets.recommend import ChunkPrices, GamePrices, price_chunk, staking_for
from app.bets.strategies import Strategy, configured
from app.bets.strategies import live as live_strategies
from app.features.definitions import FEATURE_SET
from app.features.serving import spec_features, stored_game_rows
from app.markets import MARKETS, MONEYLINE
from app.ml.predict import ModelScores, model_refs, predict_probabilities
from app.ml.registry import LoadedModel
from app.predictions.results import write_job_results, write_results
from app.staking.pricing import CONFIDENCE_THRESHOLD, Gate, Staking

# The fields of each market in a payload, after its key.
MARKET_FIELDS = ("probability", "binary", "confidence", "market_probability", "edge")


@dataclass(frozen=True)
class Items:
    """What a job predicts: stored game ids, or the game specs a client described."""

    game_ids: Sequence[int] | None
    specs: Sequence[dict] | None

    @classmethod
    def of(cls, params: dict[str, Any]) -> "Items":
        if "games" in params:
            return cls(None, params["games"])
        return cls(params.get("game_ids") or [], None)

    def __len__(self) -> int:
        return len(self.specs if self.specs is not None else self.game_ids)


@dataclass(frozen=True)
class ChunkGames:
    """What a payload and pricing read of a chunk's games, one entry per game."""

    home_teams: list[str]
    away_teams: list[str]
    iso_dates: list[str]
    prices: GamePrices

    @classmethod
    def of_frame(cls, games: pd.DataFrame, game_ids: Sequence[int | None]) -> "ChunkGames":
        """From a games frame (``app.features``' layout), column by column."""
        return cls(
            games["home_team"].tolist(),
            games["away_team"].tolist(),
            _iso_dates(games["game_date"]),
            _game_prices(games, game_ids),
        )

    @classmethod
    def of_rows(cls, rows: Sequence[Row]) -> "ChunkGames":
        """From stored games' SQL rows (``load_game_rows``), without a frame (a frame of a
        chunk's games cost more than reading them), column by column."""
        if not rows:
            return cls([], [], [], GamePrices({}, [], [], []))
        columns = dict(zip(rows[0]._fields, zip(*rows, strict=True), strict=True))
        dates = list(columns["game_date"])
        return cls(
            list(columns["home_team"]),
            list(columns["away_team"]),
            [day.isoformat() for day in dates],
            GamePrices(
                columns={name: _floats(columns[name]) for name in _price_columns()},
                starts=[
                    None if start is None else start.astimezone(UTC)
                    for start in columns["start_time"]
                ],
                dates=dates,
                stored=[True] * len(rows),
            ),
        )

    def __len__(self) -> int:
        return len(self.iso_dates)


def predict_items(
    session: Session,
    resources: Any,
    job_id: uuid.UUID,
    params: dict[str, Any],
    items: Items,
    indexes: Iterable[int],
    models: dict[str, LoadedModel],
    live: Iterable[str] | None = None,
    game_rows: Sequence | None = None,
) -> None:
    """Predict the items at ``indexes`` and write their predictions and served bets, in
    ``session``'s transaction. ``live`` (the live strategies' names) and ``game_rows`` (the
    stored games' rows, ``app.games.queries.game_rows_statement``): when the caller read
    them in it; else they are read here."""
    indexes = list(indexes)
    settings = resources.settings
    moment = clock.now()
    # 1. features
    if items.specs is not None:
        games, features = spec_features(session, [items.specs[i] for i in indexes])
        keys = [f"spec-{i}" for i in indexes]
        game_ids: list[int | None] = [None] * len(indexes)
        quotes = None
    else:
        game_ids = [items.game_ids[i] for i in indexes]
        rows, features = stored_game_rows(session, resources.feature_store, game_ids, game_rows)
        games = ChunkGames.of_rows(rows)
        keys = [str(game_id) for game_id in game_ids]
        quotes = open_quotes(session, games, game_ids, moment)
    # 2-4. model probabilities, fair line, prices and stakes, the payloads
    staking = staking_for(params, settings)
    payloads = score(
        games,
        features,
        models,
        staking.bankroll,
        game_ids,
        staking=staking,
        quotes=quotes,
        max_ece=settings.max_ece,
        fair_rules=FairLineRules.from_settings(settings),
        strategies=configured(settings),
        live=live_strategies(session) if live is None else live,
        moment=moment,
    )
    # 5. results and ledger
    ids = write_results(session, job_id, indexes, keys, game_ids, payloads)
    record_served_bets(
        session,
        [
            StoredPrediction(ids[key], game_id, payload)
            for key, game_id, payload in zip(keys, game_ids, payloads, strict=True)
        ],
    )


def predict_games(
    session: Session,
    resources: Any,
    job_ids: Sequence[uuid.UUID],
    params: dict[str, Any],
    game_ids: Sequence[int],
    models: dict[str, LoadedModel],
    live: Iterable[str] | None = None,
    game_rows: Sequence | None = None,
) -> None:
    """Predict one-game jobs together (a micro-batch: the same params but the game, no game
    twice), in ``session``'s transaction: their features read and scored at once, each game
    priced as its own job (what it would have been alone), one statement for the results,
    one for the served bets. ``live`` and ``game_rows``: as :func:`predict_items`'."""
    settings = resources.settings
    moment = clock.now()
    rows, features = stored_game_rows(session, resources.feature_store, game_ids, game_rows)
    games = ChunkGames.of_rows(rows)
    staking = staking_for(params, settings)
    payloads = score(
        games,
        features,
        models,
        staking.bankroll,
        game_ids,
        staking=staking,
        quotes=open_quotes(session, games, game_ids, moment),
        max_ece=settings.max_ece,
        fair_rules=FairLineRules.from_settings(settings),
        strategies=configured(settings),
        live=live_strategies(session) if live is None else live,
        each_alone=True,
        moment=moment,
    )
    ids = write_job_results(session, job_ids, game_ids, payloads)
    record_served_bets(
        session,
        [
            StoredPrediction(ids[job_id], game_id, payload)
            for job_id, game_id, payload in zip(job_ids, game_ids, payloads, strict=True)
        ],
    )


def open_quotes(
    session: Session, games: ChunkGames, game_ids: Sequence[int], moment: datetime
) -> list[Quotes]:
    """Each stored game's book quotes, read only for the games whose betting is still open at
    ``moment``: at or after a game's first pitch nothing is served by any rule (``score``
    with fair-line rules; ``app.bets.recommend.price_chunk``), so its quotes would not be
    read (a batch of past games reads none)."""
    prices = games.prices
    open_ids = [
        game_id
        for game_id, start, day in zip(game_ids, prices.starts, prices.dates, strict=True)
        if moment < first_pitch(start, day)
    ]
    by_game = book_quotes(session, open_ids) if open_ids else {}
    return [by_game.get(game_id, {}) for game_id in game_ids]


def score(
    games: pd.DataFrame | ChunkGames,
    features: np.ndarray,
    models: dict[str, LoadedModel],
    bankroll: float,
    game_ids: Sequence[int | None],
    *,
    staking: Staking | None = None,
    quotes: Sequence[Quotes] | None = None,
    max_ece: float = 0.02,
    fair_rules: FairLineRules | None = None,
    strategies: Mapping[str, Strategy] | None = None,
    live: Iterable[str] = (),
    each_alone: bool = False,
    moment: datetime | None = None,
) -> list[dict]:
    """One prediction payload per row of ``games``/``features``: the models' probabilities
    (``app.ml.predict``), then the market, the fair line, the bets and their stakes
    (``app.bets.recommend``), put together. With ``strategies`` (``live``: the names of the
    live ones), each strategy prices a fair-line market on its own; the others' bets are
    ``paper_bets``. With ``each_alone``, every row is priced as a chunk of its own (each its
    own job: the daily exposure cap sees only its own game); the models still score all rows
    at once. ``moment``: when the games are priced (default: now)."""
    if len(games) == 0:
        return []
    if isinstance(games, pd.DataFrame):
        games = ChunkGames.of_frame(games, game_ids)
    staking = staking or Staking(bankroll=bankroll)
    moment = moment or clock.now()
    scores = predict_probabilities(models, features, max_ece=max_ece)
    gates = {
        target: Gate(scores.bets_enabled[target], scores.calibrated[target])
        for target in scores.probabilities
    }
    live = frozenset(live)
    common = {
        "moment": moment,
        "fair_rules": fair_rules,
        "blend_weights": scores.blend_weights,
        "strategies": strategies,
        "live": live,
    }
    if each_alone:
        prices = ChunkPrices.concat(
            [
                price_chunk(
                    games.prices.row(row),
                    {target: p[row : row + 1] for target, p in scores.probabilities.items()},
                    gates,
                    staking,
                    quotes=None if quotes is None else [quotes[row]],
                    iso_dates=games.iso_dates[row : row + 1],
                    **common,
                )
                for row in range(len(games))
            ]
        )
    else:
        prices = price_chunk(
            games.prices,
            scores.probabilities,
            gates,
            staking,
            quotes=quotes,
            iso_dates=games.iso_dates,
            **common,
        )
    return _payloads(games, game_ids, models, scores, prices, moment)


def _payloads(
    games: ChunkGames,
    game_ids: Sequence[int | None],
    models: dict[str, LoadedModel],
    scores: ModelScores,
    prices: ChunkPrices,
    moment: datetime,
) -> list[dict]:
    """The payloads: the game, the models, each market's fields, the lines, the bets, the
    explanation and the risk."""
    rows = len(game_ids)
    field_names: list[str] = []
    field_columns: list[list] = []
    confident = np.zeros(rows, dtype=bool)
    for target, market in MARKETS.items():
        field_names += [f"{market.key}_{field}" for field in MARKET_FIELDS]
        market_probabilities = prices.market_probabilities[market.key]
        probability = scores.probabilities.get(target)
        if probability is None:
            nothing = [None] * rows
            field_columns += [nothing, nothing, nothing, market_probabilities, nothing]
            continue
        confidence = np.maximum(probability, 1.0 - probability)
        confident |= confidence >= CONFIDENCE_THRESHOLD
        field_columns += [
            probability.tolist(),
            (probability >= 0.5).astype(int).tolist(),
            confidence.tolist(),
            market_probabilities,
            [
                None if market is None else model - market
                for model, market in zip(probability.tolist(), market_probabilities, strict=True)
            ],
        ]
    primary = models.get(MONEYLINE.name) or next(iter(models.values()), None)
    header = {
        "model_name": primary.name if primary else None,
        "model_version": primary.version if primary else None,
    }
    refs = model_refs(models)
    now = moment.isoformat()
    return [
        {
            "game_id": game_id,
            "game": {"home_team": home, "away_team": away, "game_date": game_date},
            **header,
            "models": {target: dict(ref) for target, ref in refs.items()},
            "feature_set": FEATURE_SET.label,
            "prediction_timestamp": now,
            **dict(zip(field_names, fields, strict=True)),
            "lines": prices.lines[row],
            "betting_recommendations": prices.recommendations[row],
            "paper_bets": prices.paper_bets[row],
            "explanation": scores.explanations[row],
            "confidence_threshold_met": met,
            "risk_level": prices.risk_levels[row],
        }
        for row, (game_id, home, away, game_date, fields, met) in enumerate(
            zip(
                game_ids,
                games.home_teams,
                games.away_teams,
                games.iso_dates,
                zip(*field_columns, strict=True),
                confident.tolist(),
                strict=True,
            )
        )
    ]


def _game_prices(games: pd.DataFrame, game_ids: Sequence[int | None]) -> GamePrices:
    """What pricing reads of a games frame."""
    names = _price_columns()
    columns = {
        name: games[name].to_numpy(dtype=np.float64, na_value=np.nan)
        for name in names
        if name in games
    }
    starts = (
        pd.to_datetime(games["start_time"], utc=True)
        if "start_time" in games
        else pd.Series(pd.NaT, index=games.index)
    )
    return GamePrices(
        columns=columns,
        starts=[None if pd.isna(start) else start.to_pydatetime() for start in starts],
        dates=pd.to_datetime(games["game_date"]).dt.date.tolist(),
        stored=[game_id is not None for game_id in game_ids],
    )


def _floats(values: Iterable[object]) -> np.ndarray:
    """float64, NaN for None."""
    return np.array([np.nan if value is None else value for value in values], dtype=np.float64)


def _price_columns() -> set[str]:
    return {name for market in MARKETS.values() for name in market.priced.columns}


def _iso_dates(dates: pd.Series) -> list[str]:
    """``YYYY-MM-DD`` of each date (a timezone-aware one at its own wall-clock date)."""
    stamps = pd.to_datetime(dates)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_localize(None)
    return stamps.to_numpy(dtype="datetime64[D]").astype(str).tolist()
