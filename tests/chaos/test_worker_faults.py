"""Workers killed in the middle of fanned-out batches, and messages delivered twice: every job
succeeds with every result row exactly once."""

import os
import signal
import time
import uuid

import pytest
from sqlalchemy import func, select

from app.db.session import session_scope
from app.jobs.models import Job, JobChunk
from app.kinds import PREDICT
from tests.chaos.conftest import CHAOS_LEASE, PRODUCTION_LEASE, TRIALS, ChaosStack
from workers.celery_app import make_celery

# Each trial may take up to its waits (240 s at most): the session's 600 s cap would end a
# `make chaos` run of 20 trials, so the cap grows with the trials.
pytestmark = [pytest.mark.chaos, pytest.mark.timeout(120 + 300 * TRIALS)]

SEASONS = (2018, 2019)  # every sample game: four chunks


def _submit_batch(chaos: ChaosStack, client, game_ids: list[int]) -> uuid.UUID:
    response = client.post("/api/v1/predict/batch", json={"game_ids": game_ids})
    assert response.status_code == 202, response.get_json()
    return uuid.UUID(response.get_json()["job_id"])


def _wait_mid_batch(chaos: ChaosStack, job_id: uuid.UUID, timeout: float = 60) -> int:
    """Wait until some chunks are written and not all; the progress then."""
    deadline = time.monotonic() + timeout
    while True:
        job = chaos.job(job_id)
        if 0 < job.progress_done < job.progress_total and job.status == "running":
            return job.progress_done
        assert job.status in ("queued", "running"), f"ended before mid-batch: {job.status}"
        assert time.monotonic() < deadline, "never seen mid-batch"
        time.sleep(0.005)


def _assert_exactly_once(chaos: ChaosStack, job_id: uuid.UUID, game_ids: list[int]) -> None:
    job = chaos.job(job_id)
    keys = chaos.results(job_id)
    assert job.status == "succeeded", job.error
    assert sorted(keys) == sorted(str(game_id) for game_id in game_ids)  # each exactly once
    assert job.progress_done == job.progress_total == len(game_ids)


def test_kill_9_of_both_pool_children_mid_batch(chaos: ChaosStack):
    client = chaos.client()
    game_ids = chaos.game_ids(*SEASONS)
    for trial in range(TRIALS):
        others = [_submit_batch(chaos, client, game_ids[i::3]) for i in range(3)]
        job_id = _submit_batch(chaos, client, game_ids)
        _wait_mid_batch(chaos, job_id)
        victims = chaos.pool_children()
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        job = chaos.job(job_id)
        assert job.status == "running" and job.progress_done < len(game_ids)  # landed mid-job
        chaos.wait_finished([job_id, *others], timeout=180)
        _assert_exactly_once(chaos, job_id, game_ids)
        for i, other in enumerate(others):
            _assert_exactly_once(chaos, other, game_ids[i::3])
        chaos.note(
            f"pool children trial {trial + 1}/{TRIALS}: killed {victims} at "
            f"{job.progress_done}/{len(game_ids)}; the job and the 3 beside it succeeded, "
            "every row once"
        )


def test_kill_9_of_both_pool_children_mid_micro_batch(chaos: ChaosStack):
    """One-game jobs queued while the worker was paused run in micro-batches when it resumes;
    both pool children are SIGKILLed while batches are in flight. A killed batch's jobs are
    claimed again (by their leader's redelivered message, or the reaper after their lease)
    and every job succeeds with its one result row, exactly once."""
    client = chaos.client()
    celery = make_celery(chaos.settings)
    game_ids = chaos.game_ids(2019)[:200]
    for trial in range(TRIALS):
        assert celery.control.cancel_consumer(PREDICT.queue, reply=True, timeout=5, limit=1)
        try:
            job_ids = [
                uuid.UUID(
                    client.post("/api/v1/predict", json={"game_id": game_id}).get_json()["job_id"]
                )
                for game_id in game_ids
            ]
        finally:
            assert celery.control.add_consumer(PREDICT.queue, reply=True, timeout=5, limit=1)
        in_flight = _wait_batch_in_flight(chaos, job_ids)
        victims = chaos.pool_children()
        for pid in victims:
            os.kill(pid, signal.SIGKILL)
        chaos.wait_finished(job_ids, timeout=180)
        attempts = []
        for job_id, game_id in zip(job_ids, game_ids, strict=True):
            job = chaos.job(job_id)
            assert job.status == "succeeded", job.error
            assert chaos.results(job_id) == [str(game_id)]  # exactly once
            attempts.append(job.attempts)
        chaos.note(
            f"micro-batch trial {trial + 1}/{TRIALS}: killed {victims} with {in_flight} jobs "
            f"claimed in batches; all {len(job_ids)} succeeded, every row once, "
            f"{sum(a > 1 for a in attempts)} claimed again (attempts at most {max(attempts)})"
        )


def _wait_batch_in_flight(chaos: ChaosStack, job_ids: list[uuid.UUID]) -> int:
    """Wait until a micro-batch is running (jobs of one claim, not yet finished); how many
    jobs are claimed in batches then."""
    deadline = time.monotonic() + 60
    while True:
        with session_scope(chaos.database_url) as session:
            batches = session.execute(
                select(Job.claimed_by, func.count())
                .where(Job.id.in_(job_ids), Job.status == "running")
                .group_by(Job.claimed_by)
                .having(func.count() > 1)
            ).all()
        if batches:
            return sum(count for _, count in batches)
        assert not _all_ended(chaos, job_ids), (
            f"every job ended with no micro-batch seen: {_claimers(chaos, job_ids)} claimers"
        )
        assert time.monotonic() < deadline, "no micro-batch seen in flight"
        time.sleep(0.005)


def _claimers(chaos: ChaosStack, job_ids: list[uuid.UUID]) -> int:
    with session_scope(chaos.database_url) as session:
        return session.scalar(
            select(func.count(Job.claimed_by.distinct())).where(Job.id.in_(job_ids))
        )


def _all_ended(chaos: ChaosStack, job_ids: list[uuid.UUID]) -> bool:
    with session_scope(chaos.database_url) as session:
        return not session.scalar(
            select(func.count()).where(Job.id.in_(job_ids), Job.status.in_(["queued", "running"]))
        )


def test_kill_9_of_the_worker_main_process_mid_batch(chaos: ChaosStack):
    """The worker's messages in flight are lost with it; its job's lease runs out, the reaper
    re-queues the job and its unwritten chunks are sent again to the restarted worker. The
    first trial runs with the production lease and reap interval, the others with the chaos
    stack's short ones."""
    client = chaos.client()
    game_ids = chaos.game_ids(*SEASONS)
    for trial in range(TRIALS):
        timing = PRODUCTION_LEASE if trial == 0 else CHAOS_LEASE
        with chaos.timed(*timing):
            _kill_the_worker_main_mid_batch(chaos, client, game_ids, trial, timing)


def _kill_the_worker_main_mid_batch(
    chaos: ChaosStack, client, game_ids: list[int], trial: int, timing: tuple[float, float]
) -> None:
    """One trial: the worker's main process killed mid-batch, the job then succeeds with every
    row once (after a lease and a reap, under the stack's timing)."""
    job_id = _submit_batch(chaos, client, game_ids)
    done = _wait_mid_batch(chaos, job_id)
    os.kill(chaos.worker.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    chaos.kill_worker_group()  # orphaned pool children die too, as with a lost machine
    chaos.start_worker()  # what `bullpen up` does for a dead component
    chaos.wait_finished([job_id], timeout=240)
    _assert_exactly_once(chaos, job_id, game_ids)
    chaos.note(
        f"worker main trial {trial + 1}/{TRIALS} (lease {timing[0]:g} s, reap every "
        f"{timing[1]:g} s): killed at {done}/{len(game_ids)}; "
        f"succeeded {time.monotonic() - killed_at:.1f} s after the kill, attempts "
        f"{chaos.job(job_id).attempts}, every row once"
    )


def test_a_message_delivered_twice_runs_the_job_once(chaos: ChaosStack):
    """The same message (same task id) twice, for a one-game job and for a batch and one of
    its chunks: results exactly once, a served bet once."""
    client = chaos.client()
    celery = make_celery(chaos.settings)
    game_ids = chaos.game_ids(2019)
    single = client.post("/api/v1/predict", json={"game_id": game_ids[0]}).get_json()
    batch = _submit_batch(chaos, client, game_ids)
    for job_id in (uuid.UUID(single["job_id"]), batch):
        task_id = chaos.job(job_id).task_id
        celery.send_task(PREDICT.task_name, args=[str(job_id)], task_id=task_id)
    _wait_mid_batch(chaos, batch)
    with session_scope(chaos.database_url) as session:
        pending = session.scalar(
            select(JobChunk.chunk_index)
            .where(JobChunk.job_id == batch, JobChunk.done_at.is_(None))
            .limit(1)
        )
    if pending is not None:
        for _ in range(2):
            celery.send_task(PREDICT.chunk_task_name, args=[str(batch), pending])

    chaos.wait_finished([uuid.UUID(single["job_id"]), batch], timeout=120)
    _assert_exactly_once(chaos, uuid.UUID(single["job_id"]), game_ids[:1])
    _assert_exactly_once(chaos, batch, game_ids)
    with session_scope(chaos.database_url) as session:
        attempts = session.scalar(select(Job.attempts).where(Job.id == batch))
    chaos.note(f"message twice: one-game job and batch each succeeded once (batch attempts "
               f"{attempts}; a duplicated chunk {pending})")  # fmt: skip
