"""Feature refreshes as units of job work."""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.db.session import session_scope
from app.features.refresh import refresh_features
from app.features.store import FeatureStore
from app.games.models import Game
from app.jobs.runtime import JobContext


def refresh_for_params(session: Session, params: dict[str, Any], *, store: FeatureStore) -> dict:
    """Refresh the games a job's params select (``season``, ``date`` or ``game_id``)."""
    selector: dict[str, Any] = {}
    if params.get("season") is not None:
        selector["season"] = int(params["season"])
    if params.get("date") is not None:
        selector["date"] = date.fromisoformat(params["date"])
    if params.get("game_id") is not None:
        selector["game_ids"] = [int(params["game_id"])]
    return {"games_refreshed": refresh_features(session, store, **selector)}


def run_refresh(context: JobContext) -> dict:
    """The work of a feature refresh job (one unit)."""
    with session_scope(context.database_url) as session:
        return refresh_for_params(session, context.params, store=context.resources.feature_store)


def refresh_upcoming(session: Session, store: FeatureStore, today: date) -> int:
    """Refresh every stored game from ``today`` on that has no final score yet."""
    upcoming = session.scalars(
        select(Game.id).where(
            Game.game_date >= today, Game.home_score.is_(None), Game.retired_at.is_(None)
        )
    ).all()
    return refresh_features(session, store, game_ids=upcoming) if upcoming else 0
