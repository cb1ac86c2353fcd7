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
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from app import clock
from app.bets.strategies import LIVE
from app.db.filters import int_array
from app.db.session import pipelined, session_scope
from app.games.queries import game_rows_statement
from app.jobs.models import Job, JobChunk
from app.jobs.runtime import JobCancelled, JobContext
from app.jobs.service import UNFINISHED, finish, finishing, finishing_owned, lease_duration
from app.ml.predict import champions_for, model_refs, pinned_models
from app.predictions.pipeline import Items, predict_games, predict_items

log = logging.getLogger(__name__)

# Fewer, larger chunks: each costs ~20 ms of its own (its reads, done mark and commit, the
# staging table, its message) beside its games; on the bench's 4,930 games over 2 processes,
# 250/500/1000/1250/2500 took 4.1/3.6/3.3/3.05/3.1x the floor. Four chunks of that batch
# still give 4 processes one each.
CHUNK_SIZE = 1250
# How many other queued one-game jobs a one-game job's claim takes with it (a micro-batch).
MATES = 31


def run_prediction(context: JobContext) -> dict[str, Any] | None:
    """The work of a prediction job: predict it here when it is one chunk, else fan it out."""
    items = Items.of(context.params)
    resources = context.resources
    if len(items) <= CHUNK_SIZE:
        models = champions_for(resources.champions, context.params["targets"])
        result = {"predictions": len(items), "models": model_refs(models)}
        finishing_job = finishing(context.job_id, result, owner=context.task_id)
        stored = [game_rows_statement(items.game_ids)] if items.game_ids else []
        with session_scope(context.database_url) as session:
            # The job finished first, in the round trip that reads the live strategies and
            # the stored games: its row stays locked to the commit (a cancel waits, or came
            # first and wins).
            finished, live, *game_rows = pipelined(session, [finishing_job, LIVE, *stored])
            if not finished:
                raise JobCancelled(str(context.job_id))
            if len(items):
                predict_items(
                    session, resources, context.job_id, context.params, items,
                    range(len(items)), models, live={row.name for row in live},
                    game_rows=game_rows[0] if game_rows else None,
                )  # fmt: skip
        return None
    pending = plan_chunks(context, items)
    context.checkpoint()
    if pending:
        context.fan_out(context.job_id, pending)
    return None


def run_predictions(contexts: list[JobContext]) -> None:
    """The work of a micro-batch: one-game jobs with the same params but their game, claimed
    together (``app.jobs.runtime.MicroBatch``). Their games are scored as one frame and each
    priced as its own job (``predict_games``); each round of distinct games is one
    transaction that finishes the jobs still owned and writes their results. A game asked
    for twice goes to a later round, which sees the bets the earlier served, as a later job
    would."""
    first = contexts[0]
    models = champions_for(first.resources.champions, first.params["targets"])
    result = {"predictions": 1, "models": model_refs(models)}
    for jobs in _distinct_games(contexts):
        finishing_jobs = finishing_owned([job.job_id for job in jobs], first.task_id, result)
        stored = game_rows_statement([job.params["game_ids"][0] for job in jobs])
        with session_scope(first.database_url) as session:
            # First, so that the rows stay locked: a cancel waits, or came first and wins; in
            # the round trip that reads the live strategies and the games.
            owned, live, game_rows = pipelined(session, [finishing_jobs, LIVE, stored])
            jobs = [job for job in jobs if job.job_id in {row.id for row in owned}]
            if jobs:
                predict_games(
                    session, first.resources, [job.job_id for job in jobs], first.params,
                    [job.params["game_ids"][0] for job in jobs], models,
                    live={row.name for row in live}, game_rows=game_rows,
                )  # fmt: skip


def _distinct_games(contexts: list[JobContext]) -> list[list[JobContext]]:
    """The jobs in rounds, no game twice in a round, in claim order."""
    rounds: list[list[JobContext]] = []
    seen: list[set[int]] = []
    for context in contexts:
        game_id = context.params["game_ids"][0]
        at = next((i for i, games in enumerate(seen) if game_id not in games), len(rounds))
        if at == len(rounds):
            rounds.append([])
            seen.append(set())
        rounds[at].append(context)
        seen[at].add(game_id)
    return rounds


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
            _INSERT_CHUNKS, {"job_id": context.job_id, "chunks": [int_array(c) for c in chunks]}
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
    ids = int_array(sorted(set(items.game_ids)))
    dates = dict(session.execute(_GAME_DATES, {"ids": ids}).all())
    return [dates[game_id] for game_id in items.game_ids]


# A job's thousands of ids go as one array literal each (``int_array``), not as lists for the
# driver to dump element by element (that took most of a plan's time).
_GAME_DATES = text("SELECT id, game_date FROM games WHERE id = ANY(CAST(:ids AS integer[]))")
_INSERT_CHUNKS = text(
    """
    INSERT INTO job_chunks (job_id, chunk_index, items)
    SELECT :job_id, planned.at - 1, CAST(planned.items AS integer[])
    FROM unnest(CAST(:chunks AS text[])) WITH ORDINALITY AS planned (items, at)
    ON CONFLICT DO NOTHING
    """
)


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
            predict_items(session, resources, job_id, job.params, items, chunk.items, models)
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
