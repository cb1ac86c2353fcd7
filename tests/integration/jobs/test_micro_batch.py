"""One-game prediction jobs claimed and run together (a micro-batch), against the real
database, feature store and champions: each job predicted as it would have been alone,
finished once, its own message skipped when it comes, and a batch whose worker died re-run
by the reaper (or by its redelivered message) exactly once."""

import itertools
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from app.db.session import session_scope
from app.games.models import Game
from app.jobs import service
from app.jobs.models import Job
from app.jobs.runtime import JobContext, execute
from app.jobs.service import cancel, claim_now, create_job, requeue_expired
from app.kinds import PREDICT, WorkerResources
from app.markets import TARGETS
from app.ml.models import Prediction
from app.outages import TRANSIENT_ERRORS
from app.predictions.jobs import MATES, run_predictions
from workers.celery_app import make_celery

pytestmark = pytest.mark.integration

# Each test's jobs carry a bankroll of their own: only they are each other's mates (a job
# left queued by another test of the session never joins them).
_bankrolls = itertools.count(1_000_003, 17)


class _RecordingQueue:
    def __init__(self) -> None:
        self.sent: list[service.JobMessage] = []

    def send(self, message: service.JobMessage) -> None:
        self.sent.append(message)

    def revoke(self, task_ids) -> None:
        pass

    def lost_messages(self) -> bool:
        return False


@pytest.fixture(scope="module")
def resources(seeded):
    return WorkerResources(seeded)


@pytest.fixture(scope="module")
def games(seeded) -> list[int]:
    """Stored games of one date and the next (the daily exposure cap is per date)."""
    with session_scope(seeded.database_url) as session:
        day = session.scalar(
            select(Game.game_date)
            .where(Game.season == 2019)
            .group_by(Game.game_date)
            .having(func.count() >= 6)
            .order_by(Game.game_date)
            .limit(1)
        )
        return list(
            session.scalars(
                select(Game.id)
                .where(Game.game_date.in_([day, day + timedelta(days=1)]))
                .order_by(Game.game_date, Game.id)
            )
        )[:8]


def _jobs(database_url: str, game_ids: list[int], bankroll: float) -> list[uuid.UUID]:
    params = {"targets": list(TARGETS), "bankroll": bankroll}
    ids = []
    for game_id in game_ids:
        with session_scope(database_url) as session:
            job, _ = create_job(session, PREDICT.name, {**params, "game_ids": [game_id]}, total=1)
            ids.append(job.id)
    return ids


def _state(database_url: str, job_ids: list[uuid.UUID]) -> dict[uuid.UUID, tuple]:
    """Each job's status, claimer, attempts and its predictions' (item key, payload)."""
    with session_scope(database_url) as session:
        jobs = {job.id: job for job in session.scalars(select(Job).where(Job.id.in_(job_ids)))}
        rows = session.execute(
            select(Prediction.job_id, Prediction.item_key, Prediction.payload).where(
                Prediction.job_id.in_(job_ids)
            )
        ).all()
    predictions: dict[uuid.UUID, list] = {job_id: [] for job_id in job_ids}
    for row in rows:
        predictions[row.job_id].append((row.item_key, row.payload))
    return {
        job_id: (jobs[job_id].status, jobs[job_id].claimed_by, jobs[job_id].attempts,
                 predictions[job_id])
        for job_id in job_ids
    }  # fmt: skip


def _comparable(value: object) -> object:
    """A payload but its timestamp, floats to 12 digits: numpy's vectorised math rounds the
    last bit of a row differently with the number of rows beside it."""
    if isinstance(value, dict):
        return {k: _comparable(v) for k, v in value.items() if k != "prediction_timestamp"}
    if isinstance(value, list):
        return [_comparable(v) for v in value]
    return float(f"{value:.12g}") if isinstance(value, float) else value


def test_one_game_jobs_claimed_together_are_each_predicted_as_it_would_be_alone(
    seeded, resources, games
):
    url, bankroll = seeded.database_url, next(_bankrolls)
    # A game asked for twice: its second job is written in a later round of the batch.
    chosen = [*games[:6], games[0]]
    job_ids = _jobs(url, chosen, bankroll)

    assert execute(PREDICT, job_ids[0], "batch-task", url, resources)

    batched = _state(url, job_ids)
    for job_id, game_id in zip(job_ids, chosen, strict=True):
        status, claimer, attempts, predictions = batched[job_id]
        assert (status, claimer, attempts) == ("succeeded", "batch-task", 1)
        assert [key for key, _ in predictions] == [str(game_id)]  # exactly one, its game
        assert predictions[0][1]["explanation"], "every prediction is explained"
    # The same games and params, each a job alone (none is queued beside it: no mates).
    for job_id, game_id in zip(job_ids, chosen, strict=True):
        (alone,) = _jobs(url, [game_id], bankroll)
        assert execute(PREDICT, alone, f"alone-{alone}", url, resources)
        ((_, payload),) = _state(url, [alone])[alone][3]
        assert _comparable(batched[job_id][3][0][1]) == _comparable(payload)


def test_a_mate_s_own_message_is_skipped_while_the_batch_runs_and_after(seeded, resources, games):
    url = seeded.database_url
    job_ids = _jobs(url, games[:3], next(_bankrolls))
    claimed = claim_now(url, job_ids[0], "batch-task", mates=MATES, key="game_ids")
    assert [row.id for row in claimed] == job_ids  # the job first, its mates oldest first

    # A mate's message while the batch runs: its job is another attempt's, alive.
    assert not execute(PREDICT, job_ids[1], "mate-task", url, resources)
    contexts = [JobContext(row.id, "batch-task", row.params, url, resources) for row in claimed]
    run_predictions(contexts)
    done = _state(url, job_ids)
    # And after: its job is done; nothing runs, nothing is written again.
    assert not execute(PREDICT, job_ids[2], "late-mate-task", url, resources)
    assert _state(url, job_ids) == done
    assert all(status == "succeeded" and len(rows) == 1 for status, _, _, rows in done.values())


def test_a_claim_takes_only_queued_one_game_mates_of_the_same_params(seeded, games):
    url, bankroll = seeded.database_url, next(_bankrolls)
    leader, *mates = _jobs(url, games[:3], bankroll)
    (other_params,) = _jobs(url, games[3:4], bankroll + 1)
    with session_scope(url) as session:
        two_games, _ = create_job(
            session, PREDICT.name,
            {"targets": list(TARGETS), "bankroll": bankroll, "game_ids": games[4:6]},
        )  # fmt: skip
    (running,) = _jobs(url, games[6:7], bankroll)
    assert claim_now(url, running, "someone-else")

    claimed = claim_now(url, leader, "batch-task", mates=MATES, key="game_ids")

    assert [row.id for row in claimed] == [leader, *mates]
    state = _state(url, [other_params, two_games.id, running])
    assert [state[job][:2] for job in (other_params, two_games.id, running)] == [
        ("queued", None), ("queued", None), ("running", "someone-else")
    ]  # fmt: skip
    # A job that is not one game itself takes no mates.
    (another,) = _jobs(url, games[3:4], bankroll)
    assert [row.id for row in claim_now(url, two_games.id, "t", mates=MATES, key="game_ids")] == [
        two_games.id
    ]
    assert _state(url, [another])[another][0] == "queued"


def test_a_claim_while_postgresql_is_down_is_an_outage_the_task_retries(tmp_path) -> None:
    """The claim reads on a pooled connection's cursor: a refused connection is still the
    SQLAlchemy error a task retries (``TRANSIENT_ERRORS``), not another one that fails it."""
    down = f"postgresql+psycopg://postgres@/bullpen?host={tmp_path}"  # nothing listens there

    with pytest.raises(TRANSIENT_ERRORS):
        claim_now(down, uuid.uuid4(), "task", mates=MATES, key="game_ids")


def test_a_batch_whose_worker_died_is_rerun_by_the_reaper_exactly_once(seeded, resources, games):
    url = seeded.database_url
    job_ids = _jobs(url, games[:5], next(_bankrolls))
    # The worker claimed the batch and died before its write committed: the claim is all
    # that is left of it.
    assert len(claim_now(url, job_ids[0], "dead-task", mates=MATES, key="game_ids")) == 5
    with session_scope(url) as session:
        session.execute(
            update(Job)
            .where(Job.id.in_(job_ids))
            .values(lease_expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    queue = _RecordingQueue()
    with session_scope(url) as session:
        assert requeue_expired(session, max_attempts=3) >= 5
    service.reap(url, queue, unclaimed_for=timedelta(minutes=2))

    resent = [message for message in queue.sent if message.job_id in job_ids]
    assert sorted(message.job_id for message in resent) == sorted(job_ids)  # each once
    # Every message is delivered (the first run takes the others as its mates).
    ran = [execute(PREDICT, m.job_id, m.task_id, url, resources) for m in resent]
    assert ran.count(True) >= 1
    state = _state(url, job_ids)
    for job_id, game_id in zip(job_ids, games[:5], strict=True):
        status, claimer, attempts, predictions = state[job_id]
        assert status == "succeeded" and claimer != "dead-task" and attempts == 2
        assert [key for key, _ in predictions] == [str(game_id)]


def test_a_redelivered_batch_message_takes_its_mates_back_and_runs_each_once(
    seeded, resources, games
):
    url = seeded.database_url
    job_ids = _jobs(url, games[:4], next(_bankrolls))
    assert len(claim_now(url, job_ids[0], "task-a", mates=MATES, key="game_ids")) == 4
    # The worker died; late acks give the same message (the same task id) to another.
    assert execute(PREDICT, job_ids[0], "task-a", url, resources)

    state = _state(url, job_ids)
    assert all(s[:3] == ("succeeded", "task-a", 2) and len(s[3]) == 1 for s in state.values())


def test_a_job_that_fails_in_a_batch_fails_alone(seeded, resources, games):
    url, bankroll = seeded.database_url, next(_bankrolls)
    job_ids = _jobs(url, games[:4], bankroll)
    with session_scope(url) as session:
        missing = session.scalar(select(func.max(Game.id))) + 1000
    (doomed,) = _jobs(url, [missing], bankroll)  # a game that is not stored

    assert execute(PREDICT, job_ids[0], "batch-task", url, resources)

    state = _state(url, [*job_ids, doomed])
    assert all(state[job][0] == "succeeded" and len(state[job][3]) == 1 for job in job_ids)
    assert state[doomed][0] == "failed" and state[doomed][2] == 1 and not state[doomed][3]


def test_a_mate_cancelled_before_the_write_is_not_written(seeded, resources, games):
    url = seeded.database_url
    job_ids = _jobs(url, games[:3], next(_bankrolls))
    claimed = claim_now(url, job_ids[0], "batch-task", mates=MATES, key="game_ids")
    cancel(url, job_ids[1], _RecordingQueue())

    run_predictions([JobContext(r.id, "batch-task", r.params, url, resources) for r in claimed])

    state = _state(url, job_ids)
    assert state[job_ids[1]][0] == "cancelled" and not state[job_ids[1]][3]
    assert all(state[job][0] == "succeeded" for job in (job_ids[0], job_ids[2]))


def test_one_game_jobs_queued_together_run_in_micro_batches_each_once(seeded, client, worker):
    """Through the API and a real worker: one-game jobs queued while the worker was paused
    run in micro-batches once it resumes; each mate's own message is dismissed or skipped,
    and a message sent again later changes nothing."""
    celery = make_celery(seeded)
    game_ids = client.get("/api/v1/games?date=2019-08-03").get_json()
    game_ids = [game["id"] for game in game_ids][:12]
    bankroll = next(_bankrolls)
    assert celery.control.cancel_consumer(PREDICT.queue, reply=True, timeout=5, limit=1)
    try:
        job_ids = []
        for game_id in game_ids * 2:  # each game twice
            response = client.post(
                "/api/v1/predict", json={"game_id": game_id, "bankroll": bankroll}
            )
            assert response.status_code == 202, response.get_json()
            job_ids.append(uuid.UUID(response.get_json()["job_id"]))
    finally:
        assert celery.control.add_consumer(PREDICT.queue, reply=True, timeout=5, limit=1)
    for job_id in job_ids:
        assert client.get(f"/api/v1/jobs/{job_id}?wait=30").get_json()["status"] == "succeeded"
    time.sleep(1)  # every mate's own message delivered (and dismissed or skipped)
    before = _state(seeded.database_url, job_ids)
    for job_id in job_ids[:3]:  # a message sent again, another task id
        celery.send_task(PREDICT.task_name, args=[str(job_id)])
    time.sleep(2)

    after = _state(seeded.database_url, job_ids)
    assert after == before
    claimers = [claimer for _, claimer, _, _ in after.values()]
    assert len(set(claimers)) < len(job_ids), "no micro-batch ran"
    for job_id, game_id in zip(job_ids, game_ids * 2, strict=True):
        status, _, attempts, predictions = after[job_id]
        assert (status, attempts) == ("succeeded", 1)
        assert [key for key, _ in predictions] == [str(game_id)]
