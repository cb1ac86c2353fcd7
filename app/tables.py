"""Every table of the project, imported in one place so that the metadata is complete."""

from app.bets.models import Bet
from app.db.base import Base
from app.feeds.models import FeedDay
from app.games.models import BettingSplit, Game, LineupSlot, Odds, OddsSnapshot, TeamBoxScore
from app.ingest.models import *  # noqa: F403 - the ingest domain's raw, staging and quarantine tables
from app.jobs.models import Job
from app.ml.models import Prediction

__all__ = [
    "Base",
    "Bet",
    "BettingSplit",
    "FeedDay",
    "Game",
    "Job",
    "LineupSlot",
    "Odds",
    "OddsSnapshot",
    "Prediction",
    "TeamBoxScore",
]
