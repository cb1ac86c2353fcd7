"""Live performance: graded predictions (stored games with final scores) vs the market."""

from typing import Any

import numpy as np
from sqlalchemy import Float, cast, select
from sqlalchemy.orm import Session

from app.games.models import Game
from app.games.queries import load_games_frame
from app.markets import MARKETS
from app.ml.evaluation import json_safe
from app.ml.metrics import probability_metrics
from app.ml.models import Prediction


def live_metrics(session: Session, target: str, model_name: str) -> dict[str, Any]:
    """Metrics of ``model_name``'s latest prediction of every game that has a final score.

    The market is the de-vigged probability the prediction carried (the prices the model
    saw); model and market are compared on the games where both exist. ``n_pre_game``
    counts the predictions made before the game's date (the rest were backfills).
    """
    prefix = MARKETS[target].key
    payload = Prediction.payload
    rows = session.execute(
        select(
            Prediction.game_id,
            payload[("models", target, "version")].astext.label("version"),
            cast(payload[f"{prefix}_probability"].astext, Float).label("p"),
            cast(payload[f"{prefix}_market_probability"].astext, Float).label("market"),
            Prediction.created_at,
            Game.game_date,
        )
        .join(Game, Game.id == Prediction.game_id)
        .where(
            payload[("models", target, "name")].astext == model_name,
            Game.home_score.is_not(None),
            Game.away_score.is_not(None),
        )
        .order_by(Prediction.game_id, Prediction.created_at.desc(), Prediction.id.desc())
        .distinct(Prediction.game_id)
    ).all()
    rows = [row for row in rows if row.p is not None]
    if not rows:
        return {
            "n_graded": 0,
            "n_pre_game": 0,
            "model": None,
            "same_games": {"n": 0, "model": None, "market": None},
            "by_version": {},
        }
    games = load_games_frame(session, game_ids=[row.game_id for row in rows]).set_index("game_id")
    labels = MARKETS[target].outcome(games.reset_index()).to_numpy()
    label_of = dict(zip(games.index.tolist(), labels, strict=True))
    y = np.array([label_of.get(row.game_id, np.nan) for row in rows], dtype=float)
    p = np.array([row.p for row in rows], dtype=float)
    market = np.array([np.nan if row.market is None else row.market for row in rows], dtype=float)
    graded = ~np.isnan(y)
    both = graded & ~np.isnan(market)
    versions: dict[str, int] = {}
    for row, is_graded in zip(rows, graded, strict=True):
        if is_graded:
            versions[str(row.version)] = versions.get(str(row.version), 0) + 1
    return json_safe(
        {
            "n_graded": int(graded.sum()),
            "n_pre_game": int(
                sum(
                    g and row.created_at.date() < row.game_date
                    for row, g in zip(rows, graded, strict=True)
                )
            ),
            "model": probability_metrics(y[graded], p[graded]) if graded.any() else None,
            "same_games": {
                "n": int(both.sum()),
                "model": probability_metrics(y[both], p[both]) if both.any() else None,
                "market": probability_metrics(y[both], market[both]) if both.any() else None,
            },
            "by_version": versions,
        }
    )
