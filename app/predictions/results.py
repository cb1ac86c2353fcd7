"""A chunk's predictions written: one row per (job, item), rewritten when a chunk runs again."""

import uuid
from collections.abc import Sequence
from datetime import datetime

import orjson
from sqlalchemy.orm import Session

from app.db.session import autocommit_cursor, driver_connection

# A chunk's rows are COPYed into a temporary table of the session's connection (created
# once per connection, emptied at every commit) and upserted from there in one statement,
# which empties it again. The payload JSON is encoded once per row and parsed once by
# PostgreSQL, and there are no bind parameters per row to build, send or parse: on 500
# rows a multi-row VALUES (compiled by SQLAlchemy) or one INSERT over unnest() of arrays
# of JSON text took two to three times as long. A re-run of a chunk rewrites its rows:
# (job_id, item_key) is unique.
_STAGE_PREDICTIONS = """
    CREATE TEMPORARY TABLE IF NOT EXISTS staged_predictions (
        item_key text, item_index integer, game_id integer, payload jsonb,
        created_at timestamptz
    ) ON COMMIT DELETE ROWS
"""
_COPY_PREDICTIONS = (
    "COPY staged_predictions (item_key, item_index, game_id, payload, created_at) FROM STDIN"
)
_UPSERT_PREDICTIONS = """
    WITH staged AS (DELETE FROM staged_predictions RETURNING *)
    INSERT INTO predictions (job_id, item_key, item_index, game_id, payload, created_at)
    SELECT %(job_id)s, item_key, item_index, game_id, payload, created_at FROM staged
    ON CONFLICT (job_id, item_key)
    DO UPDATE SET payload = excluded.payload, created_at = excluded.created_at
    RETURNING item_key, id
"""


# A few rows (a one-game job) go in one statement from arrays: one round trip, where the
# staging table costs three (its CREATE, the COPY, the upsert).
_FEW = 8
# Rows as arrays, one statement: one job's ({job} set), or one row per job ({jobs} set).
_INSERT_ARRAYS = """
    INSERT INTO predictions (job_id, item_key, item_index, game_id, payload, created_at)
    SELECT {job}* FROM unnest(
        {jobs}%(keys)s::text[], %(indexes)s::integer[], %(game_ids)s::integer[],
        %(payloads)s::text[]::jsonb[], %(made)s::timestamptz[]
    )
    ON CONFLICT (job_id, item_key)
    DO UPDATE SET payload = excluded.payload, created_at = excluded.created_at
    RETURNING {key}, id
"""
_INSERT_FEW = _INSERT_ARRAYS.format(job="%(job_id)s, ", jobs="", key="item_key")
# One row for each of several one-game jobs (a micro-batch).
_INSERT_EACH = _INSERT_ARRAYS.format(job="", jobs="%(job_ids)s::uuid[], ", key="job_id")


def payload_json(payload: dict) -> str:
    """A payload as JSON text for its jsonb column."""
    # orjson: 0.6 ms for a chunk's 497 payloads (~1.3 kB each) where json.dumps took 7.5. Its
    # text differs (no spaces, 0.00001 for 1e-05) but parses to the same values, which is all
    # that jsonb keeps; numpy scalars are encoded as the numbers they hold.
    return orjson.dumps(payload, option=orjson.OPT_SERIALIZE_NUMPY).decode()


def write_results(
    session: Session,
    job_id: uuid.UUID,
    indexes: Sequence[int],
    keys: Sequence[str],
    game_ids: Sequence[int | None],
    payloads: Sequence[dict],
) -> dict[str, int]:
    """Write the predictions (COPY, then one upsert; a few rows, one INSERT); {item_key:
    prediction id}."""
    if len(payloads) <= _FEW:
        return _insert_arrays(session, _INSERT_FEW, job_id, keys, indexes, game_ids, payloads)
    # The time each prediction was made (the replay's clock in a replay).
    made = [datetime.fromisoformat(payload["prediction_timestamp"]) for payload in payloads]
    with driver_connection(session) as connection, connection.cursor() as cursor:
        cursor.execute(_STAGE_PREDICTIONS)
        with cursor.copy(_COPY_PREDICTIONS) as copy:
            rows = zip(indexes, keys, game_ids, payloads, made, strict=True)
            for index, key, game_id, payload, at in rows:
                copy.write_row((key, index, game_id, payload_json(payload), at))
        cursor.execute(_UPSERT_PREDICTIONS, {"job_id": job_id})
        return dict(cursor.fetchall())


def write_job_results(
    session: Session,
    job_ids: Sequence[uuid.UUID],
    game_ids: Sequence[int],
    payloads: Sequence[dict],
) -> dict[uuid.UUID, int]:
    """Write the one prediction of each one-game job (its item 0, keyed by its game, as
    :func:`write_results` keys it); {job id: prediction id}."""
    keys = [str(game_id) for game_id in game_ids]
    return _insert_arrays(
        session, _INSERT_EACH, list(job_ids), keys, [0] * len(keys), game_ids, payloads
    )


def _insert_arrays(
    session: Session,
    statement: str,
    job_id: uuid.UUID | list[uuid.UUID],
    keys: Sequence[str],
    indexes: Sequence[int],
    game_ids: Sequence[int | None],
    payloads: Sequence[dict],
) -> dict:
    """One INSERT of the rows as arrays (``job_id``: one for all, or one per row); what it
    returns, as a dict."""
    if not payloads:
        return {}
    with driver_connection(session) as connection, connection.cursor() as cursor:
        cursor.execute(
            statement,
            {
                ("job_ids" if isinstance(job_id, list) else "job_id"): job_id,
                "keys": list(keys),
                "indexes": list(indexes),
                "game_ids": list(game_ids),
                "payloads": [payload_json(payload) for payload in payloads],
                "made": [
                    datetime.fromisoformat(payload["prediction_timestamp"]) for payload in payloads
                ],
            },
        )
        return dict(cursor.fetchall())


# A page of a job's results in one statement: the job's status and its count of results on
# every row, and the page's payloads as JSON text in request order, rendered by PostgreSQL
# only for the page's own rows (the cast outside the LIMIT); one row with no payload when
# the page is empty, none when there is no such job.
_PAGE = """
    SELECT jobs.status, counted.total, page.payload
    FROM jobs
    CROSS JOIN (SELECT count(*) AS total FROM predictions WHERE job_id = %(job_id)s) AS counted
    LEFT JOIN (
        SELECT CAST(payload AS text) AS payload, item_index FROM (
            SELECT payload, item_index FROM predictions WHERE job_id = %(job_id)s
            ORDER BY item_index OFFSET %(offset)s LIMIT %(limit)s
        ) AS rows
    ) AS page ON true
    WHERE jobs.id = %(job_id)s
    ORDER BY page.item_index
"""


def read_page(
    database_url: str, job_id: uuid.UUID, offset: int, limit: int
) -> tuple[str, int, list[str]] | None:
    """The job's status, its count of results and the payloads (JSON text) of ``limit``
    results from ``offset`` in request order; None when there is no such job. One autocommit
    statement (no BEGIN and COMMIT round trips)."""
    values = {"job_id": job_id, "offset": offset, "limit": limit}
    with autocommit_cursor(database_url) as cursor:  # no SQLAlchemy result: plain tuples
        rows = cursor.execute(_PAGE, values).fetchall()
    if not rows:
        return None
    return rows[0][0], rows[0][1], [payload for _, _, payload in rows if payload is not None]
