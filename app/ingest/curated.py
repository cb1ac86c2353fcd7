"""The view of a curated game that matching a source's games to curated games needs."""

from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class CuratedGame:
    """What matching needs of a curated game."""

    game_id: int
    game_date: date
    home_team: str
    away_team: str
    game_number: int
    home_score: int | None
    away_score: int | None
