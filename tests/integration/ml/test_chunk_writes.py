"""A chunk's predictions and served bets are written once per (job, item): a re-run rewrites."""

import json
import uuid
from collections.abc import Iterator

import numpy as np
import pytest
from sqlalchemy import delete, select, text

from app.bets.ledger import StoredPrediction, record_served_bets
from app.bets.models import Bet
from app.config import Settings
from app.db.session import session_scope
from app.games.models import Game
from app.jobs.models import Job
from app.ml.models import Prediction
from app.predictions.results import write_results

pytestmark = pytest.mark.integration


@pytest.fixture
def job(seeded: Settings) -> Iterator[tuple[uuid.UUID, list[int]]]:
    """A running prediction job over 24 stored games (the tests take six, more than
    ``results._FEW`` or all); deleted with what it wrote."""
    with session_scope(seeded.database_url) as session:
        game_ids = list(
            session.scalars(select(Game.id).where(Game.season == 2019).order_by(Game.id).limit(24))
        )
        job = Job(id=uuid.uuid4(), kind="predict", status="running", params={})
        session.add(job)
    yield job.id, game_ids
    with session_scope(seeded.database_url) as session:
        written = select(Prediction.id).where(Prediction.job_id == job.id)
        session.execute(delete(Bet).where(Bet.prediction_id.in_(written)))
        session.execute(delete(Job).where(Job.id == job.id))


def _payload(game_id: int, stake: float | None, when: str) -> dict:
    bets = {}
    if stake is not None:
        bets["home_ml"] = {
            "side": "home", "odds": 120, "book": "pin", "line": None,
            "recommended_bet_size": stake, "fair_probability": 0.5,
        }  # fmt: skip
    return {
        "game_id": game_id,
        "game": {"home_team": "NYA", "away_team": "BOS", "game_date": "2019-06-01"},
        "models": {"moneyline": {"name": "bullpen-moneyline", "version": "1"}},
        "prediction_timestamp": when,
        "home_ml_probability": 0.5 + game_id % 7 / 100,
        "note": 'quotes " and \\ backslashes, tabs\tand\nnewlines survive COPY',
        "betting_recommendations": bets,
    }


def _write(settings: Settings, job_id, game_ids, payloads) -> tuple[dict, int]:
    keys = [str(game_id) for game_id in game_ids]
    with session_scope(settings.database_url) as session:
        ids = write_results(session, job_id, range(len(keys)), keys, game_ids, payloads)
        new_bets = record_served_bets(
            session,
            [
                StoredPrediction(ids[k], g, p)
                for k, g, p in zip(keys, game_ids, payloads, strict=True)
            ],
        )
    return ids, new_bets


@pytest.mark.parametrize("games", [6, 24], ids=["one INSERT", "COPY and upsert"])
def test_a_rerun_chunk_rewrites_its_rows_and_adds_no_bet(seeded, job, games):
    job_id, game_ids = job[0], job[1][:games]
    first = [_payload(g, 10.0 if i % 2 else None, "2019-06-01T12:00:00+00:00")
             for i, g in enumerate(game_ids)]  # fmt: skip
    again = [_payload(g, 10.0 if i % 2 else None, "2019-06-01T12:05:00+00:00")
             for i, g in enumerate(game_ids)]  # fmt: skip

    ids, bets = _write(seeded, job_id, game_ids, first)
    rewritten, bets_again = _write(seeded, job_id, game_ids, again)

    assert ids == rewritten and set(ids) == {str(g) for g in game_ids}
    assert (bets, bets_again) == (games // 2, 0)
    with session_scope(seeded.database_url) as session:
        rows = session.execute(
            select(Prediction).where(Prediction.job_id == job_id).order_by(Prediction.item_index)
        ).scalars()
        stored = [
            (r.id, r.item_key, r.item_index, r.game_id, r.payload, r.created_at) for r in rows
        ]
        assert (
            len(session.scalars(select(Bet).where(Bet.prediction_id.in_(ids.values()))).all())
            == games // 2
        )
    assert [(key, index, game) for _, key, index, game, _, _ in stored] == [
        (str(g), i, g) for i, g in enumerate(game_ids)
    ]
    assert {key: id_ for id_, key, *_ in stored} == ids
    assert [payload for *_, payload, _ in stored] == again
    assert {made.isoformat() for *_, made in stored} == {"2019-06-01T12:05:00+00:00"}


def test_a_chunk_partly_written_before_keeps_those_rows_ids_and_adds_the_others(seeded, job):
    """A chunk of more than a few rows (COPY, upsert) that meets rows already written, in
    the same transaction: those rewritten under their ids, the others added once."""
    job_id, game_ids = job
    keys = [str(g) for g in game_ids]
    payloads = [_payload(g, None, "2019-06-01T12:00:00+00:00") for g in game_ids]
    with session_scope(seeded.database_url) as session:
        first = write_results(session, job_id, range(12), keys[:12], game_ids[:12], payloads[:12])
        both = write_results(session, job_id, range(6, 24), keys[6:], game_ids[6:], payloads[6:])
        stored = dict(
            session.execute(
                select(Prediction.item_key, Prediction.id).where(Prediction.job_id == job_id)
            ).all()
        )

    assert {key: both[key] for key in keys[6:12]} == {key: first[key] for key in keys[6:12]}
    assert stored == {**first, **both} and len(stored) == 24


def test_two_chunks_in_one_transaction_write_each_once(seeded, job):
    """The staging table is emptied by each upsert, not only at commit."""
    job_id, game_ids = job[0], job[1][:6]
    payloads = [_payload(g, 5.0, "2019-06-01T12:00:00+00:00") for g in game_ids]
    keys = [str(g) for g in game_ids]
    with session_scope(seeded.database_url) as session:
        first = write_results(session, job_id, [0, 1, 2], keys[:3], game_ids[:3], payloads[:3])
        second = write_results(session, job_id, [3, 4, 5], keys[3:], game_ids[3:], payloads[3:])
        indexes = session.execute(
            select(Prediction.item_key, Prediction.item_index).where(Prediction.job_id == job_id)
        ).all()

    assert set(first) == set(keys[:3]) and set(second) == set(keys[3:])
    assert sorted(indexes, key=lambda row: row[1]) == [(k, i) for i, k in enumerate(keys)]


@pytest.mark.parametrize("games", [6, 24], ids=["one INSERT", "COPY and upsert"])
def test_payloads_are_stored_as_the_values_they_hold(seeded, job, games):
    """Whatever text the payloads are encoded to, the stored jsonb is what the standard
    library's JSON of the same values gives (numbers compared as numbers); numpy scalars (as
    scoring yields them) are stored as the numbers they hold."""
    job_id, game_ids = job[0], job[1][:games]
    keys = [str(g) for g in game_ids]
    payloads = []
    for i, g in enumerate(game_ids):
        payload = _payload(g, 10.0 if i % 2 else None, "2019-06-01T12:00:00+00:00")
        payload.update({
            "tiny": 1e-05 * (i + 1), "huge": 1.5e16 * (i + 1), "third": 1 / 3,
            "numpy": {"float": np.float64(0.1) * i, "int": np.int64(i), "bool": np.bool_(i % 2)},
            "unicode": "Montréal — ½ ✓", "nothing": None, "empty": {}, "list": [1, 2.5, None],
        })  # fmt: skip
        payloads.append(payload)
    plain = [json.loads(json.dumps(p, default=lambda v: v.item())) for p in payloads]

    with session_scope(seeded.database_url) as session:
        write_results(session, job_id, range(games), keys, game_ids, payloads)
        same = session.scalars(
            text(
                "SELECT p.payload = CAST(r.payload AS jsonb) FROM predictions p JOIN"
                " unnest(CAST(:keys AS text[]), CAST(:plain AS text[])) AS r (key, payload)"
                " ON r.key = p.item_key WHERE p.job_id = :job_id ORDER BY p.item_index"
            ),
            {"keys": keys, "plain": [json.dumps(p) for p in plain], "job_id": job_id},
        ).all()
        stored = session.scalars(
            select(Prediction.payload)
            .where(Prediction.job_id == job_id)
            .order_by(Prediction.item_index)
        ).all()

    assert same == [True] * games
    assert stored == plain
