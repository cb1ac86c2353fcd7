"""Training as a unit of job work, and the season ranges users write."""

from dataclasses import asdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.config import Settings
from app.games.models import Game
from app.ml.train import train_target


def parse_seasons(text: str) -> list[int]:
    """``"2010-2018"`` or ``"2016,2018"`` or ``"2019"`` -> a sorted list of seasons."""
    seasons: set[int] = set()
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        first, _, last = part.partition("-")
        start, end = int(first), int(last or first)
        if end < start:
            raise ValueError(f"season range {part!r} runs backwards")
        seasons.update(range(start, end + 1))
    if not seasons:
        raise ValueError("no seasons given")
    return sorted(seasons)


def stored_seasons(session: Session) -> list[int]:
    """Every season with at least one final game, oldest first."""
    return list(
        session.scalars(
            select(Game.season).distinct().where(Game.home_score.is_not(None)).order_by(Game.season)
        )
    )


def train_for_params(session: Session, params: dict[str, Any], *, settings: Settings) -> dict:
    """Train ``params["target"]`` on ``params["seasons"]`` (default: every stored season)."""
    seasons = params.get("seasons") or stored_seasons(session)
    outcome = train_target(session, settings, params["target"], seasons)
    return asdict(outcome)
