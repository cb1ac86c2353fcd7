"""The consumer of ``bench/bare_enqueue.py``'s single jobs: one game's bare work with the
guarantees a job of ours keeps, and nothing else (no Celery, no framework, no ORM).

Per message: BLMOVE from the list to a processing list (the message stays in Redis until the
job's work is committed: a late ack), the job claimed in one durable COMMIT (``UPDATE ...
WHERE status = 'queued' RETURNING params``: exactly one attempt runs it), its features' GET,
three boosters' ``predict`` and ``pred_contrib`` on one thread, then in one durable COMMIT the
result row INSERTed, the job finished and a NOTIFY for its long poll, and the message
dropped from the processing list (the ack). One process: the prefork hand-off of a Celery
pool (which hard time limits need) is not in it.

Settings: ``bullpen``'s environment (the database, the feature store, MLflow) and
``BENCH_BARE_BROKER`` (a Redis URL). Run as ``python bench/bare_consumer.py``.
"""

import json
import os

import psycopg
import redis
from bare_enqueue import CONSUMERS_READY, DONE_CHANNEL, RESULTS_TABLE, SINGLE_QUEUE, TABLE
from bench_queue import libpq_url, load_boosters, mget_matrix

from app.config import Settings
from app.features.definitions import FEATURE_SET
from app.features.store import FeatureStore

PROCESSING = f"{SINGLE_QUEUE}:processing"


def main() -> None:
    settings = Settings.from_env()
    boosters = load_boosters(settings)
    features = redis.Redis.from_url(settings.feature_store_url)
    store = FeatureStore(features, FEATURE_SET)
    broker = redis.Redis.from_url(os.environ["BENCH_BARE_BROKER"])
    pg = psycopg.connect(libpq_url(settings.database_url))
    broker.incr(CONSUMERS_READY)
    while True:
        # A bounded wait: the broker's client reads with a socket timeout of its own.
        raw = broker.blmove(SINGLE_QUEUE, PROCESSING, timeout=1, src="RIGHT", dest="LEFT")
        if raw is None:
            continue
        job_id = json.loads(raw)["args"][0]
        claimed = pg.execute(
            f"UPDATE {TABLE} SET status = 'running', started_at = now(),"
            " attempts = attempts + 1 WHERE id = %s AND status = 'queued' RETURNING params",
            (job_id,),
        ).fetchone()
        pg.commit()
        if claimed is not None:
            game_id = claimed[0]["game_ids"][0]
            matrix = mget_matrix(features, [store.key(game_id)])
            payload = {
                target: [booster.predict(matrix, num_threads=1).tolist(),
                         booster.predict(matrix, pred_contrib=True, num_threads=1).tolist()]
                for target, booster in boosters.items()
            }  # fmt: skip
            pg.execute(
                f"INSERT INTO {RESULTS_TABLE} (job_id, item_key, item_index, game_id, payload)"
                " VALUES (%s, %s, 0, %s, %s)",
                (job_id, str(game_id), game_id, json.dumps(payload)),
            )
            pg.execute(
                f"UPDATE {TABLE} SET status = 'succeeded', finished_at = now() WHERE id = %s",
                (job_id,),
            )
            pg.execute("SELECT pg_notify(%s, %s)", (DONE_CHANNEL, job_id))
            pg.commit()
        broker.lrem(PROCESSING, 1, raw)


if __name__ == "__main__":
    main()
