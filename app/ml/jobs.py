"""Training as a unit of job work, and the season ranges users write."""

from collections.abc import Callable
from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from app.config import Settings
from app.db.session import session_scope
from app.games.seasons import stored_seasons
from app.jobs.runtime import JobContext
from app.jobs.service import finish
from app.ml.train import TrainingOutcome, apply_decisions, train_targets


def parse_seasons(text: str) -> list[int]:
    """``"2010-2018"`` or ``"2016,2018"`` or ``"2019"`` -> a sorted list of seasons."""
    seasons: set[int] = set()
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        first, dash, last = (piece.strip() for piece in part.partition("-"))
        if not first.isdigit() or (dash and not last.isdigit()):
            raise ValueError(f"{part!r} is not a season or a range of seasons like 2013-2019")
        start, end = int(first), int(last or first)
        if end < start:
            raise ValueError(f"season range {part!r} runs backwards")
        seasons.update(range(start, end + 1))
    if not seasons:
        raise ValueError("no seasons given")
    return sorted(seasons)


def train_for_params(
    session: Session,
    params: dict[str, Any],
    *,
    settings: Settings,
    checkpoint: Callable[[], None] = lambda: None,
    promote: bool = True,
) -> tuple[list[TrainingOutcome], dict]:
    """Train ``params["target"]``, or every one of ``params["targets"]`` sharing their features,
    on ``params["seasons"]`` (default: every stored season).

    Returns the outcomes and the job's result: the target's outcome, or
    ``{"targets": {target: outcome}}`` for a list.
    """
    seasons = params.get("seasons") or stored_seasons(session)
    targets = params["targets"] if "targets" in params else [params["target"]]
    trained = train_targets(
        session, settings, targets, seasons, checkpoint=checkpoint, promote=promote
    )
    outcomes = {o.target: asdict(o) for o in trained}
    return trained, {"targets": outcomes} if "targets" in params else outcomes[params["target"]]


def run_training(context: JobContext) -> None:
    """The work of a training job. Each target is a unit of work; the new versions get their
    aliases only in the transaction that finishes the job, so a cancelled training never
    promotes."""
    settings = context.resources.settings
    with session_scope(context.database_url) as session:
        outcomes, result = train_for_params(
            session, context.params, settings=settings, checkpoint=context.checkpoint,
            promote=False,
        )  # fmt: skip
    with context.owned() as session:
        apply_decisions(settings, outcomes)
        finish(session, context.job_id, result)
