"""The enqueue's floor for ``bench/bench_queue.py``: a bare WSGI app doing only the work an
enqueue cannot do without, served by the same server with the same settings as ``bullpen api``.

``POST`` with a JSON body: parse it, INSERT a job-shaped row ... RETURNING (into
``bench_bare_jobs``, a copy of the ``jobs`` table's columns, defaults and indexes), its
durable COMMIT, an LPUSH of a message-sized JSON document to the broker, and a 202 with a
job-sized JSON body. No framework, no ORM, no schema; one psycopg connection per concurrent
request (kept for reuse), one Redis client per process. Settings from the environment:
``BENCH_BARE_CONNINFO`` (libpq) and ``BENCH_BARE_BROKER`` (a Redis URL).

Run as ``python -m gunicorn bench.bare_enqueue:app`` (gunicorn's gevent worker patches the
standard library before this module is imported, as it does for the API).
"""

import json
import os
import queue
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

import psycopg
import redis

TABLE = "bench_bare_jobs"
QUEUE = "bench-bare-enqueue"

_idle: queue.LifoQueue = queue.LifoQueue()
_broker = redis.Redis.from_url(os.environ.get("BENCH_BARE_BROKER", "redis://127.0.0.1:6379/0"))


def _connection() -> psycopg.Connection:
    try:
        return _idle.get_nowait()
    except queue.Empty:
        return psycopg.connect(os.environ["BENCH_BARE_CONNINFO"])


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = json.loads(environ["wsgi.input"].read(length) or b"{}")
    params = json.dumps({"game_ids": [body.get("game_id")], "targets": body.get("targets")})
    task_id = str(uuid.uuid4())
    conn = _connection()
    try:
        job_id, created_at = conn.execute(
            f"INSERT INTO {TABLE} (id, kind, status, params, idempotency_owner, progress_total,"
            " progress_done, attempts, send_count, task_id, sent_at)"
            " VALUES (%s, 'predict', 'queued', %s, '', 1, 0, 0, 1, %s, %s)"
            " RETURNING id, created_at",
            (uuid.uuid4(), params, task_id, datetime.now(UTC)),
        ).fetchone()
        conn.commit()
    except BaseException:
        conn.close()
        raise
    _idle.put(conn)
    message = {"id": task_id, "task": "tasks.jobs.predict", "args": [str(job_id)], "pad": "x" * 600}
    _broker.lpush(QUEUE, json.dumps(message))
    out = json.dumps(
        {"job_id": str(job_id), "kind": "predict", "status": "queued",
         "created_at": created_at.isoformat(), "results_url": f"/api/v1/jobs/{job_id}/results"}
    ).encode()  # fmt: skip
    start_response(
        "202 Accepted", [("Content-Type", "application/json"), ("Content-Length", str(len(out)))]
    )
    return [out]
