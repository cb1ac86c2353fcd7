"""Predictions as served: the latest stored prediction of each game."""

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.ml.models import Prediction


def latest_predictions(session: Session, game_ids: Iterable[int]) -> dict[int, dict]:
    """{game id: payload} of the latest prediction of each of ``game_ids`` that has one."""
    ids = sorted({int(game_id) for game_id in game_ids})
    if not ids:
        return {}
    rows = session.execute(
        select(Prediction.game_id, Prediction.payload)
        .where(Prediction.game_id.in_(ids))
        .order_by(Prediction.game_id, Prediction.created_at.desc(), Prediction.id.desc())
        .distinct(Prediction.game_id)
    ).all()
    return {row.game_id: row.payload for row in rows}


def latest_prediction(session: Session, game_id: int) -> dict | None:
    """The payload of the latest prediction made for a stored game, or None."""
    return session.scalar(
        select(Prediction.payload)
        .where(Prediction.game_id == game_id)
        .order_by(Prediction.created_at.desc(), Prediction.id.desc())
        .limit(1)
    )
