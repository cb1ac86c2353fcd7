"""The view of a curated game that matching a source's games to curated games needs."""

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.games.models import Game


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


def game_key(day: date, home_team: str, away_team: str, game_number: int) -> str:
    """The curated natural key "YYYYMMDD-HOME-AWAY-N" (N: 0 single game, 1/2 doubleheader)."""
    return f"{day.strftime('%Y%m%d')}-{home_team}-{away_team}-{game_number}"


def season_games(session: Session, season: int | None) -> list[CuratedGame]:
    """The curated games of ``season`` (none for no season), as matching sees them."""
    if season is None:
        return []
    found = session.execute(
        select(
            Game.id,
            Game.game_date,
            Game.home_team,
            Game.away_team,
            Game.game_number,
            Game.home_score,
            Game.away_score,
        ).where(Game.season == season)
    )
    return [CuratedGame(*row) for row in found]
