"""Which seasons are stored: the query training, backtests and the first start share."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.games.models import Game


def stored_seasons(session: Session) -> list[int]:
    """Every season with at least one final game, oldest first."""
    return list(
        session.scalars(
            select(Game.season).distinct().where(Game.home_score.is_not(None)).order_by(Game.season)
        )
    )
