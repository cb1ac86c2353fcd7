"""A one-game prediction job run alone, against the real database, feature store and
champions: its work's transaction finishes the job in the round trip that reads the live
strategies and the game (BEGIN, the finish and the reads pipelined), and a job cancelled
before that transaction is neither finished nor written."""

import itertools
import uuid

import pytest
from sqlalchemy import func, select

from app.db.session import session_scope
from app.games.models import Game
from app.jobs.models import Job
from app.jobs.runtime import JobCancelled, JobContext, execute
from app.jobs.service import cancel, claim_now, create_job
from app.kinds import PREDICT, WorkerResources
from app.markets import TARGETS
from app.ml.models import Prediction
from app.predictions.jobs import run_prediction
from tests.round_trips import counting

pytestmark = pytest.mark.integration

# A bankroll of this module's own: no job of another test is ever a mate of these.
_bankrolls = itertools.count(2_000_011, 19)


class _NoQueue:
    def revoke(self, task_ids) -> None:
        pass


@pytest.fixture(scope="module")
def resources(seeded):
    return WorkerResources(seeded)


@pytest.fixture(scope="module")
def game_id(seeded) -> int:
    with session_scope(seeded.database_url) as session:
        return session.scalar(select(func.min(Game.id)).where(Game.season == 2019))


def _job(database_url: str, game_id: int) -> uuid.UUID:
    params = {"targets": list(TARGETS), "bankroll": next(_bankrolls), "game_ids": [game_id]}
    with session_scope(database_url) as session:
        job, _ = create_job(session, PREDICT.name, params, total=1)
        return job.id


def _written(database_url: str, job_id: uuid.UUID) -> tuple[str, list[str]]:
    with session_scope(database_url) as session:
        status = session.scalar(select(Job.status).where(Job.id == job_id))
        keys = session.scalars(select(Prediction.item_key).where(Prediction.job_id == job_id))
        return status, list(keys)


def test_a_one_game_job_is_claimed_predicted_and_finished_in_four_round_trips(
    seeded, resources, game_id
):
    url = seeded.database_url
    execute(PREDICT, _job(url, game_id), "warm-up", url, resources)  # caches and connections
    job_id = _job(url, game_id)

    with counting() as trips:
        assert execute(PREDICT, job_id, "one-task", url, resources)

    assert _written(url, job_id) == ("succeeded", [str(game_id)])
    # The claim; BEGIN, the finish, the live strategies' and the game's reads; the results'
    # INSERT; the COMMIT (a past game serves no bet: no ledger write).
    assert sum(trips.postgres.values()) == 4, trips.postgres


def test_a_one_game_job_cancelled_before_its_work_is_neither_finished_nor_written(
    seeded, resources, game_id
):
    url = seeded.database_url
    job_id = _job(url, game_id)
    (claimed,) = claim_now(url, job_id, "cancelled-task")
    cancel(url, job_id, _NoQueue())

    context = JobContext(job_id, "cancelled-task", claimed.params, url, resources)
    with pytest.raises(JobCancelled):
        run_prediction(context)

    assert _written(url, job_id) == ("cancelled", [])
