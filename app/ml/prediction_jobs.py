"""Prediction jobs: a job's games in chunks, each scored and written in one transaction.

A job that fits in one chunk is predicted where it was claimed, and finished in the
transaction that writes its results. A larger one is planned once into chunks
(``job_chunks``; the champion versions pinned in the job's result) and the chunks are fanned
out over every prediction worker. A chunk is idempotent: its results are upserts keyed by
(job, item), and the transaction that writes them marks the chunk done, adds its games to
the job's progress and, with the last chunk, marks the job succeeded. A redelivered chunk
that was written is skipped, one that was not is run again, and progress only grows.

A date is never split between chunks, so the daily exposure cap of a chunk sees every game
of its dates that the job asked for.
"""

import logging
import os
import socket
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app import clock
from app.bets.fairline import FairLineRules
from app.bets.ledger import StoredPrediction, record_served_bets
from app.bets.quotes import book_quotes
from app.bets.strategies import configured
from app.bets.strategies import states as strategy_states
from app.db.session import session_scope
from app.games.models import Game
from app.jobs.models import Job, JobChunk
from app.jobs.runtime import JobCancelled, JobContext
from app.jobs.service import UNFINISHED, finish, lease_duration
from app.ml.predict import (
    _spec_features,
    _stored_features,
    _upsert,
    champions_for,
    model_refs,
    pinned_models,
    score,
    staking_for,
)
from app.ml.registry import LoadedModel

log = logging.getLogger(__name__)

CHUNK_SIZE = 500


@dataclass(frozen=True)
class Items:
    """What a job predicts: stored game ids, or the game specs a client described."""

    game_ids: Sequence[int] | None
    specs: Sequence[dict] | None

    @classmethod
    def of(cls, params: dict[str, Any]) -> "Items":
        if "games" in params:
            return cls(None, params["games"])
        return cls(params.get("game_ids") or [], None)

    def __len__(self) -> int:
        return len(self.specs if self.specs is not None else self.game_ids)


def run_prediction(context: JobContext) -> dict[str, Any] | None:
    """The work of a prediction job: predict it here when it is one chunk, else fan it out."""
    items = Items.of(context.params)
    resources = context.resources
    if len(items) <= CHUNK_SIZE:
        models = champions_for(resources.champions, context.params["targets"])
        with session_scope(context.database_url) as session:
            if len(items):
                _predict(session, resources, context.job_id, context.params, items,
                         range(len(items)), models)  # fmt: skip
            result = {"predictions": len(items), "models": model_refs(models)}
            if not finish(session, context.job_id, result, owner=context.task_id):
                raise JobCancelled(str(context.job_id))
        return None
    pending = plan_chunks(context, items)
    context.checkpoint()
    if pending:
        context.fan_out(context.job_id, pending)
    return None


def plan_chunks(context: JobContext, items: Items) -> list[int]:
    """Split the job into chunks once (a re-planned job keeps its plan); the chunks not yet
    written."""
    with session_scope(context.database_url) as session:
        planned = session.execute(
            select(JobChunk.chunk_index, JobChunk.done_at)
            .where(JobChunk.job_id == context.job_id)
            .order_by(JobChunk.chunk_index)
        ).all()
        if planned:
            return [row.chunk_index for row in planned if row.done_at is None]
        models = champions_for(context.resources.champions, context.params["targets"])
        chunks = chunk_by_date(item_dates(session, items), CHUNK_SIZE)
        session.execute(
            insert(JobChunk)
            .values(
                [
                    {"job_id": context.job_id, "chunk_index": i, "items": chunk}
                    for i, chunk in enumerate(chunks)
                ]
            )
            .on_conflict_do_nothing()
        )
        # Every chunk predicts with the champions of the moment the job was planned.
        session.execute(
            update(Job)
            .where(Job.id == context.job_id, Job.result.is_(None))
            .values(result={"models": model_refs(models)})
        )
    return list(range(len(chunks)))


def item_dates(session: Session, items: Items) -> list[date]:
    """Each item's game date, in request order."""
    if items.specs is not None:
        starts = (datetime.fromisoformat(spec["start_time"]) for spec in items.specs)
        return [clock.local_date(start) for start in starts]
    dates = dict(
        session.execute(
            select(Game.id, Game.game_date).where(Game.id == func.any(list(items.game_ids)))
        ).all()
    )
    return [dates[game_id] for game_id in items.game_ids]


def chunk_by_date(dates: Sequence[date], size: int) -> list[list[int]]:
    """Item indexes in chunks of about ``size``, dates in order, no date split between two
    chunks (a date with more items than ``size`` is a chunk of its own)."""
    by_date: dict[date, list[int]] = {}
    for index, day in enumerate(dates):
        by_date.setdefault(day, []).append(index)
    chunks: list[list[int]] = []
    current: list[int] = []
    for day in sorted(by_date):
        group = by_date[day]
        if current and len(current) + len(group) > size:
            chunks.append(current)
            current = []
        current.extend(group)
    if current:
        chunks.append(current)
    return [sorted(chunk) for chunk in chunks]


class _ChunkSkipped(Exception):
    """Roll a chunk's transaction back: it was written meanwhile, or its job ended."""


def predict_chunk(resources: Any, job_id: uuid.UUID, chunk_index: int) -> bool:
    """Write one chunk of a fanned-out job; False when there was nothing to do."""
    try:
        with session_scope(resources.settings.database_url) as session:
            job = session.execute(
                select(Job.status, Job.params, Job.result).where(Job.id == job_id)
            ).one_or_none()
            chunk = session.get(JobChunk, (job_id, chunk_index))
            if job is None or job.status not in UNFINISHED or chunk is None or chunk.done_at:
                return False
            refs = (job.result or {}).get("models", {})
            models = pinned_models(resources.champions, refs)
            items = Items.of(job.params)
            _predict(session, resources, job_id, job.params, items, chunk.items, models)
            _mark_done(session, job_id, chunk_index, len(chunk.items), refs)
        return True
    except _ChunkSkipped:
        return False


def _mark_done(
    session: Session, job_id: uuid.UUID, chunk_index: int, size: int, refs: dict
) -> None:
    """Mark the chunk done, add it to the job's progress, and finish the job with the last."""
    marked = session.execute(
        update(JobChunk)
        .where(
            JobChunk.job_id == job_id,
            JobChunk.chunk_index == chunk_index,
            JobChunk.done_at.is_(None),
        )
        # The writing process (not a module constant: pool children fork after import).
        .values(done_at=func.now(), written_by=f"{socket.gethostname()}:{os.getpid()}")
    ).rowcount
    if not marked:  # a duplicate delivery wrote it first
        raise _ChunkSkipped
    progress = session.execute(
        update(Job)
        .where(Job.id == job_id, Job.status.in_(UNFINISHED))
        .values(
            progress_done=Job.progress_done + size, lease_expires_at=func.now() + lease_duration()
        )
        .returning(Job.progress_done, Job.progress_total)
    ).one_or_none()
    if progress is None:  # cancelled meanwhile
        raise _ChunkSkipped
    if progress.progress_done >= progress.progress_total:
        finish(session, job_id, {"predictions": progress.progress_total, "models": refs})


def _predict(
    session: Session,
    resources: Any,
    job_id: uuid.UUID,
    params: dict[str, Any],
    items: Items,
    indexes: Iterable[int],
    models: dict[str, LoadedModel],
) -> None:
    """Score the items at ``indexes`` and write their predictions and served bets."""
    indexes = list(indexes)
    settings = resources.settings
    if items.specs is not None:
        games, features = _spec_features(session, [items.specs[i] for i in indexes])
        keys = [f"spec-{i}" for i in indexes]
        game_ids: list[int | None] = [None] * len(indexes)
        quotes = None
    else:
        game_ids = [items.game_ids[i] for i in indexes]
        games, features = _stored_features(session, resources.feature_store, game_ids)
        keys = [str(game_id) for game_id in game_ids]
        by_game = book_quotes(session, game_ids)
        quotes = [by_game.get(game_id, {}) for game_id in game_ids]
    staking = staking_for(params, settings)
    payloads = score(
        games,
        features,
        models,
        staking.bankroll,
        game_ids,
        staking=staking,
        quotes=quotes,
        max_ece=settings.max_ece,
        fair_rules=FairLineRules.from_settings(settings),
        strategies=configured(settings),
        live={name for name, row in strategy_states(session).items() if row.state == "live"},
    )
    ids = _upsert(session, job_id, indexes, keys, game_ids, payloads)
    record_served_bets(
        session,
        [
            StoredPrediction(ids[key], game_id, payload)
            for key, game_id, payload in zip(keys, game_ids, payloads, strict=True)
        ],
    )
