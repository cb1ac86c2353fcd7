"""Every table of the project, imported in one place so that the metadata is complete."""

from app.bets.models import Bet
from app.db.base import Base
from app.feeds.models import RawFeedRow
from app.games.models import BettingSplit, Game, Odds, OddsSnapshot, TeamBoxScore
from app.ingest.models import *  # noqa: F403 - the ingest domain's raw, staging and quarantine tables
from app.jobs.models import Job, Prediction

__all__ = [
    "Base",
    "Bet",
    "BettingSplit",
    "Game",
    "Job",
    "Odds",
    "OddsSnapshot",
    "Prediction",
    "RawFeedRow",
    "TeamBoxScore",
]
