"""The enqueue's floor for ``bench/bench_queue.py``: a bare WSGI app doing only the work an
enqueue cannot do without, served by the same server with the same settings as ``bullpen api``.

``POST /`` with a JSON body: parse it, INSERT a job-shaped row ... RETURNING (into
``bench_bare_jobs``, a copy of the ``jobs`` table's columns, defaults and indexes), its
durable COMMIT, an LPUSH of a message-sized JSON document to the broker, and a 202 with a
job-sized JSON body. No framework, no ORM, no schema; one psycopg connection per concurrent
request (kept for reuse), one Redis client per process. Settings from the environment:
``BENCH_BARE_CONNINFO`` (libpq) and ``BENCH_BARE_BROKER`` (a Redis URL).

For the single job's pipeline with the guarantees (``bench/bare_consumer.py`` consumes it):
``POST /single`` enqueues the same way onto the consumer's list; ``GET /jobs/ID?wait=S``
answers the job's row once it has ended (on connections kept LISTENing, so no NOTIFY after
the read is missed) or after S seconds; ``GET /jobs/ID/results`` answers its one stored payload.

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
SINGLE_QUEUE = "bench-bare-single"
CONSUMERS_READY = "bench-bare-single:ready"  # each consumer adds one once it has loaded
DONE_CHANNEL = "bench_bare_done"
RESULTS_TABLE = "bench_copy_floor"

_idle: queue.LifoQueue = queue.LifoQueue()
_listening: queue.LifoQueue = queue.LifoQueue()
_broker = redis.Redis.from_url(os.environ.get("BENCH_BARE_BROKER", "redis://127.0.0.1:6379/0"))


def _connection(idle: queue.LifoQueue = _idle) -> psycopg.Connection:
    try:
        return idle.get_nowait()
    except queue.Empty:
        conn = psycopg.connect(os.environ["BENCH_BARE_CONNINFO"])
        if idle is _listening:  # each kept listening, as the API's one listener is
            conn.execute(f"LISTEN {DONE_CHANNEL}")
            conn.commit()
        return conn


def app(environ: dict, start_response: Callable) -> Iterable[bytes]:
    path = environ.get("PATH_INFO", "/")
    if environ["REQUEST_METHOD"] == "GET" and path.startswith("/jobs/"):
        return _job(environ, start_response, path.split("/")[2:])
    queue_name = SINGLE_QUEUE if path == "/single" else QUEUE
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
    _broker.lpush(queue_name, json.dumps(message))
    out = json.dumps(
        {"job_id": str(job_id), "kind": "predict", "status": "queued",
         "created_at": created_at.isoformat(), "results_url": f"/api/v1/jobs/{job_id}/results"}
    ).encode()  # fmt: skip
    return _answer(start_response, "202 Accepted", out)


def _answer(start_response: Callable, status: str, out: bytes) -> Iterable[bytes]:
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(out)))]
    )
    return [out]


def _job(environ: dict, start_response: Callable, parts: list[str]) -> Iterable[bytes]:
    """A job's row (long-polled with ``?wait=S``) or, under ``/results``, its payloads."""
    job_id = uuid.UUID(parts[0])
    idle = _idle if parts[1:] == ["results"] else _listening
    conn = _connection(idle)
    try:
        if parts[1:] == ["results"]:
            rows = conn.execute(
                f"SELECT payload::text FROM {RESULTS_TABLE} WHERE job_id = %s ORDER BY item_index",
                (job_id,),
            ).fetchall()
            conn.commit()
            out = ('{"items": [' + ",".join(row[0] for row in rows) + "]}").encode()
            return _answer(start_response, "200 OK", out)
        wait = float(dict(kv.split("=") for kv in environ["QUERY_STRING"].split("&") if kv)
                     .get("wait", 0))  # fmt: skip
        row = _row(conn, job_id)
        if row["status"] not in ("succeeded", "failed"):
            for notify in conn.notifies(timeout=wait):
                if notify.payload == str(job_id):
                    break
            row = _row(conn, job_id)
    except BaseException:
        conn.close()
        raise
    idle.put(conn)
    return _answer(start_response, "200 OK", json.dumps(row).encode())


def _row(conn: psycopg.Connection, job_id: uuid.UUID) -> dict:
    status, created, started, finished = conn.execute(
        f"SELECT status, created_at, started_at, finished_at FROM {TABLE} WHERE id = %s",
        (job_id,),
    ).fetchone()
    conn.commit()
    return {
        "job_id": str(job_id), "status": status,
        "created_at": created.isoformat(),
        "started_at": started and started.isoformat(),
        "finished_at": finished and finished.isoformat(),
        "results_url": f"/jobs/{job_id}/results",
    }  # fmt: skip
