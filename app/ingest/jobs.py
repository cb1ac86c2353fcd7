"""Ingest as a unit of job work, and what an ingest that changed results must refresh."""

import gzip
import zipfile
from collections.abc import Callable, Sequence
from typing import Any

from openpyxl.utils.exceptions import InvalidFileException
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from app.db.session import session_scope
from app.features.refresh import FeatureWriter, refresh_features
from app.games.models import Game
from app.ingest.lines import LinesFormatError, LinesOrderError
from app.ingest.runner import FileReport
from app.ingest.sbro.layout import SbroFormatError
from app.ingest.sources import ingest
from app.ingest.splits import SplitsFormatError
from app.jobs.runtime import JobContext

# What a caller did wrong: a file of the wrong format, or ingested in the wrong order.
INGEST_USER_ERRORS: tuple[type[Exception], ...] = (
    SbroFormatError,
    LinesFormatError,
    LinesOrderError,
    SplitsFormatError,
    gzip.BadGzipFile,
    EOFError,
    zipfile.BadZipFile,
    InvalidFileException,
    UnicodeDecodeError,
)


def run_ingest(context: JobContext) -> dict:
    """The work of an ingest job: its files in one transaction, checking in before each."""
    with session_scope(context.database_url) as session:
        return ingest_for_params(
            session,
            context.params,
            store=context.resources.feature_store,
            checkpoint=context.checkpoint,
        )


def ingest_for_params(
    session: Session,
    params: dict[str, Any],
    *,
    store: FeatureWriter | None = None,
    checkpoint: Callable[[], None] = lambda: None,
) -> dict:
    """Ingest ``params["paths"]`` as ``params["source"]`` (``force`` re-runs current files).

    With a feature store, the features of every game that a changed result feeds are
    recomputed in the same transaction. The per-file reports are the result.
    """
    reports = ingest(
        session,
        params["source"],
        params["paths"],
        force=bool(params.get("force", False)),
        checkpoint=checkpoint,
    )
    refreshed = refresh_after_changed_results(session, store, reports) if store else 0
    return {"files": [report.to_json() for report in reports], "features_refreshed": refreshed}


def refresh_after_changed_results(
    session: Session, store: FeatureWriter, reports: Sequence[FileReport]
) -> int:
    """Recompute the features of every game on or after a season's first changed result,
    and of every game of the season after it (also after a season new to the database).

    A game's features read the results of the earlier games of its season and the whole
    previous season (the carried prior), so a corrected final makes every later game's
    stored features stale, this season's and next season's. Returns how many were refreshed.
    """
    first_changed = {}
    for report in reports:
        for change in report.results_changed:
            day = first_changed.get(change.season)
            first_changed[change.season] = min(day, change.from_date) if day else change.from_date
    # A season new to the database (e.g. a results-only log) changes only the next one.
    added = {season for report in reports for season in report.seasons_added} - set(first_changed)
    if not first_changed and not added:
        return 0
    game_ids = session.scalars(
        select(Game.id).where(
            or_(
                *(
                    ((Game.season == season) & (Game.game_date >= day))
                    | (Game.season == season + 1)
                    for season, day in first_changed.items()
                ),
                *(Game.season == season + 1 for season in added),
            )
        )
    ).all()
    return refresh_features(session, store, game_ids=game_ids) if game_ids else 0
