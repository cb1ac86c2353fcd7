"""Benchmark the queue core end to end, everything side by side in one run (issues 11, 21).

Through the public surfaces only: the REST API (``bullpen api``, real gunicorn), Celery worker
processes (``bullpen worker --queues predict --concurrency K``) and, for the floors, the
libraries directly. Every path is printed as a ratio to a floor measured in the same run
(``ROWS``; the table is in the JSON as ``table``, and ``bench/queue_table.py`` prints it as
the README's Markdown):

- enqueue: ``POST /api/v1/predict {"game_id": N}`` -> 202, p50/p99 with one client
  (sequential, keep-alive) and req/s with 16 concurrent clients (threads of this process, each
  its own keep-alive ``http.client`` connection), in alternating blocks with the same requests
  to a bare WSGI app (``bench/bare_enqueue.py``: INSERT ... RETURNING, durable COMMIT, LPUSH)
  under the same gunicorn settings: the floor. Twice: mode ``api``, the prediction workers
  paused (Celery ``cancel_consumer``), then the queued single-game jobs drained from
  ``add_consumer``; mode ``stack``, the workers consuming as the jobs come (as ``make run``
  starts it), the drain timed from the first request;
- single submit -> result: POST, ``GET /api/v1/jobs/{id}?wait=5`` until finished, its results;
  floor: the bare enqueue p50 plus one game's bare work (its features' GET, three boosters'
  predict and pred_contrib, one row INSERTed and committed);
- a 10,000-game batch: submit -> succeeded, and every result page fetched; floors: one MGET of
  the games' feature keys, the three boosters' predict and pred_contrib (every prediction is
  explained), COPY of the batch's own payloads into a table shaped like ``predictions``; and
  one COPY of the batch's stored rows out of PostgreSQL, each parsed as JSON by this client;
- batch throughput over 1, 2 and 4 prediction worker processes (``--workers``).

Its stack is its own, kept under ``var/bench-queue/`` (embedded PostgreSQL and Redis, MLflow
in SQLite): the first run ingests ``BULLPEN_BENCH_DATA`` (default ``../shared/data``; the
bundled sample when absent: fewer games), trains the champions on the seasons before the
benchmarked ones and computes the benchmarked games' features, and records how long that took.

Usage: ``.venv/bin/python bench/bench_queue.py [--games N] [--repeats R] [--workers 1,2,4]``.
Writes the figures to ``var/bench/queue.json``.
"""

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

import msgpack
import numpy as np
import psycopg
import redis
from bare_enqueue import CONSUMERS_READY, SINGLE_QUEUE  # this script's folder is on the path
from celery import Celery
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.api.bounds import MAX_RESULTS_PAGE_SIZE
from app.config import Settings
from app.db.migrate import upgrade
from app.db.session import session_scope
from app.features.definitions import FEATURE_SET
from app.features.store import FeatureStore
from app.markets import TARGETS
from app.replay.stack import free_port
from app.stack.bootstrap import stale_targets
from app.stack.embedded import EmbeddedStack
from app.stack.supervisor import Supervisor

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / "var" / "bench-queue"
OUTPUT = REPO / "var" / "bench" / "queue.json"
DEFAULT_DATA = REPO.parent / "shared" / "data"
GAMES = 10_000
CLIENTS = 16
FINISHED = {"succeeded", "failed", "cancelled"}
# Issue 21's table: each path as a ratio to its floor measured in the same run.
# name -> (path, floor, goal text)
ROWS = {
    "enqueue_p50": ("enqueue p50, 1 client",
                    "bare WSGI app, same server: INSERT RETURNING + COMMIT + LPUSH (p50)",
                    "<= 2x"),
    "enqueue_p99": ("enqueue p99, 1 client", "", "<= 10 ms"),
    "enqueue_rps": ("enqueue, 16 clients", "the same bare app, 16 clients (req/s)", ">= 0.5x"),
    "single_p50": ("single submit -> result p50",
                   "bare enqueue p50 + one game: MGET, 3 predict + explanations, a row committed",
                   "<= 20 ms and <= 3x"),
    "single_p99": ("single submit -> result p99", "", "<= 50 ms"),
    # Not goals of the issue: how much of a path the guarantees alone cost (a bare pipeline's
    # jobs consumed as they come, as ours are in stack mode).
    "enqueue_p50_guarded": ("enqueue p50, 1 client, beside guarantees",
                            "the bare app's jobs consumed as they come by 2 bare consumers (p50)",
                            ""),
    "enqueue_rps_guarded": ("enqueue, 16 clients, beside guarantees",
                            "the same, 16 clients (req/s)", ""),
    "single_guarded": ("single submit -> result p50, beside guarantees",
                       "bare app + bare consumer: the job committed before its message, a "
                       "durable claim, late ack, result + finish + NOTIFY committed, long poll",
                       ""),
    "batch": ("10,000-game batch, submit -> succeeded",
              "MGET + 3 predict + 3 explanations (pred_contrib) + COPY of the rows", "<= 1.5x"),
    "results": ("10,000 results fetched and parsed",
                "one COPY of the same rows out of PostgreSQL, parsed by this client", "<= 1.5x"),
    "drain": ("single-game jobs drained, 2 worker processes",
              "the batch's per-game rate (games/s)", ">= 150 jobs/s"),
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--games", type=int, default=GAMES, help="games in the batch")
    parser.add_argument("--sequential", type=int, default=1000, help="one-client enqueues")
    parser.add_argument(
        "--per-game", type=int, default=GAMES, help="(a) single-game jobs (enqueue measures them)"
    )
    parser.add_argument("--single", type=int, default=100, help="single submit -> result runs")
    parser.add_argument("--repeats", type=int, default=3, help="batches per configuration")
    parser.add_argument(
        "--workers", default="1,2,4", help="prediction worker processes ('' to skip the rounds)"
    )
    parser.add_argument("--base-workers", type=int, default=2, help="processes of the rest")
    parser.add_argument("--prepare-only", action="store_true", help="prepare the stack, stop")
    parser.add_argument(
        "--enqueue-only",
        action="store_true",
        help="only the enqueue rows and their drains (no single, batch or scaling runs)",
    )
    args = parser.parse_args()
    data_dir = Path(os.environ.get("BULLPEN_BENCH_DATA", DEFAULT_DATA))
    bench = QueueBench(BENCH_DIR, data_dir)
    try:
        figures = bench.run(args)
    finally:
        bench.stop()
    if args.prepare_only:
        return
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(json.dumps(figures, indent=2, default=str))
    print(f"wrote {OUTPUT.relative_to(REPO)}")


# --- the HTTP client ------------------------------------------------------------------------


class Client:
    """One keep-alive HTTP/1.1 connection to the API (``http.client``: little client cost)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def request(self, method: str, path: str, body: object = None) -> tuple[int, dict, object]:
        """(status, headers, decoded JSON body); one reconnect when the server closed."""
        payload = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if payload is not None else {}
        for attempt in (0, 1):
            try:
                self.conn.request(method, path, body=payload, headers=headers)
                response = self.conn.getresponse()
                raw = response.read()
                break
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()
                if attempt:
                    raise
        return response.status, dict(response.getheaders()), json.loads(raw) if raw else None

    def close(self) -> None:
        self.conn.close()


def _submit_one(client: Client, game_id: int) -> str:
    status, _, body = client.request("POST", "/api/v1/predict", {"game_id": int(game_id)})
    if status != 202:
        raise RuntimeError(f"POST /api/v1/predict answered {status}: {body}")
    return body["job_id"]


def _submit_bare(client: "Client", game_id: int) -> str:
    status, _, body = client.request("POST", "/", {"game_id": int(game_id), "targets": TARGETS})
    if status != 202:
        raise RuntimeError(f"the bare enqueue app answered {status}: {body}")
    return body["job_id"]


def _submit_single_bare(client: "Client", game_id: int) -> str:
    status, _, body = client.request("POST", "/single", {"game_id": int(game_id),
                                                          "targets": TARGETS})  # fmt: skip
    if status != 202:
        raise RuntimeError(f"the bare app answered {status}: {body}")
    return body["job_id"]


def _wait_job(
    client: Client, job_id: str, wait: float = 30, timeout: float = 600, prefix: str = "/api/v1"
) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        _, _, body = client.request("GET", f"{prefix}/jobs/{job_id}?wait={wait:g}")
        if body["status"] in FINISHED or time.monotonic() > deadline:
            return body


# --- the stack --------------------------------------------------------------------------------


@dataclass
class QueueBench:
    """The benchmark's own stack under ``var_dir`` and the measurements made on it."""

    var_dir: Path
    data_dir: Path
    embedded: EmbeddedStack | None = None
    settings: Settings | None = None
    api: Supervisor | None = None
    worker: Supervisor | None = None
    api_port: int = 0
    notes: list[str] = field(default_factory=list)

    # -- processes

    def start_stack(self) -> None:
        redis_port = free_port()
        self.embedded = EmbeddedStack(self.var_dir, redis_port)
        urls = self.embedded.start()
        base = Settings.from_env({})
        self.settings = replace(
            base, var_dir=self.var_dir, embedded_redis_port=redis_port, api_keys={}
        ).with_urls(urls)
        upgrade(self.settings.database_url)

    def env(self) -> dict[str, str]:
        """The bench stack's settings and nothing of the caller's ``BULLPEN_``/``MLFLOW_``."""
        inherited = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("BULLPEN_", "MLFLOW_"))
        }
        return {**inherited, **self.settings.as_env()}

    def cli(self, *args: str) -> str:
        """Run ``bullpen ARGS`` against the bench stack; its output (raises on failure)."""
        result = subprocess.run(
            [sys.executable, "-m", "app.cli", *args],
            env=self.env(),
            capture_output=True,
            text=True,
            cwd=REPO,
        )
        if result.returncode != 0:
            raise RuntimeError(f"bullpen {' '.join(args)} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def start_api(self) -> None:
        self.api_port = free_port()
        command = [sys.executable, "-m", "app.cli", "api", "--port", str(self.api_port)]
        self.api = Supervisor({"api": command}, self.env(), self.var_dir / "api")
        self.api.start()

    def start_worker(self, concurrency: int) -> None:
        """(Re)start the prediction worker: one Celery worker of ``concurrency`` processes."""
        self.stop_worker()
        command = [
            sys.executable, "-m", "app.cli", "worker",
            "--queues", "predict", "--concurrency", str(concurrency),
        ]  # fmt: skip
        self.worker = Supervisor({"worker-predict": command}, self.env(), self.var_dir / "worker")
        self.worker.start()
        celery = self.celery()
        deadline = time.monotonic() + 120
        while not celery.control.ping(timeout=0.5):
            if time.monotonic() > deadline:
                raise RuntimeError("the prediction worker did not answer a ping in 120 s")
            self._check(self.worker)

    def stop_worker(self) -> None:
        if self.worker is not None:
            self.worker.stop()
            self.worker = None

    def stop(self) -> None:
        self.stop_bare()  # a run that failed half-way leaves it up otherwise
        self.stop_worker()
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.embedded is not None:
            self.embedded.stop()
            self.embedded = None

    def celery(self) -> Celery:
        """A bare Celery client of the broker (control commands only; sends no task)."""
        if not hasattr(self, "_celery"):
            self._celery = Celery("bench", broker=self.settings.broker_url)
        return self._celery

    def wait_ready(self, timeout: float = 180) -> None:
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            self._check(self.api)
            with contextlib.suppress(OSError, http.client.HTTPException):
                client = Client(self.api_port)
                status, _, body = client.request("GET", "/health/ready")
                client.close()
                if status == 200:
                    return
                last = f"{status} {body}"
            time.sleep(0.3)
        raise RuntimeError(f"the bench API was not ready after {timeout:g} s: {last}")

    def _check(self, supervisor: Supervisor | None) -> None:
        """A component that stopped or restarted would make every later figure wrong."""
        for name, state in (supervisor.states() if supervisor else {}).items():
            if state not in {"STARTING", "RUNNING"}:
                raise RuntimeError(
                    f"{name} is {state}; see {supervisor.run_dir / 'logs' / (name + '.log')}"
                )

    # -- preparation (once; kept under var_dir)

    def prepare(self, games: int) -> tuple[list[int], dict]:
        """Data, champions and features of the benchmarked games; the ids and how it went."""
        marker = self.var_dir / "prepared.json"
        record = json.loads(marker.read_text()) if marker.exists() else {}
        timings: dict[str, float] = {}
        requested = str(self.data_dir)
        if record.get("data_dir") != requested:
            sbro, logs, source = self._data_files()
            start = time.perf_counter()
            self.cli("ingest", "sbro", *map(str, sbro))
            self.cli("ingest", "retrosheet", *map(str, logs))
            timings["ingest_s"] = time.perf_counter() - start
            record = {"data_dir": requested, "source": source}
        seasons = self._season_counts()
        bench_seasons = _latest_seasons_holding(seasons, games)
        training = [season for season in seasons if season < bench_seasons[0]]
        if not training:
            training = [bench_seasons[0]]
            self.notes.append(
                f"only {len(seasons)} seasons stored: the champions were trained on "
                f"{training[0]}, which is also benchmarked"
            )
        if stale_targets(self.settings):
            start = time.perf_counter()
            self.cli("ml", "train", "--seasons", f"{training[0]}-{training[-1]}")
            timings["train_s"] = time.perf_counter() - start
        game_ids = self._game_ids(bench_seasons)[:games]
        missing = self._missing_features(game_ids)
        if missing:
            start = time.perf_counter()
            for season in bench_seasons:
                self.cli("features", "refresh", "--season", str(season))
            timings["features_s"] = time.perf_counter() - start
            if still := self._missing_features(game_ids):
                raise RuntimeError(f"{len(still)} benchmarked games have no stored features")
        if timings:
            record.update(
                timings,
                prepared_at=datetime.now(UTC).isoformat(timespec="seconds"),
                training_seasons=f"{training[0]}-{training[-1]}",
                bench_seasons=f"{bench_seasons[0]}-{bench_seasons[-1]}",
            )
            marker.write_text(json.dumps(record, indent=2))
        record["this_run"] = timings
        return game_ids, record

    def _data_files(self) -> tuple[list[Path], list[Path], str]:
        sbro = sorted((self.data_dir / "sbro").glob("mlb-odds-*.xlsx"))
        logs = sorted((self.data_dir / "retrosheet").glob("GL*.TXT.gz"))
        if sbro and logs:
            return sbro, logs, str(self.data_dir)
        sample = Settings.from_env({}).sample_dir
        self.notes.append(f"{self.data_dir} has no sbro/retrosheet files: the bundled sample")
        self.data_dir = sample
        return (
            sorted(sample.glob("mlb-odds-*.xlsx")),
            sorted(sample.glob("GL*.TXT.gz")),
            "bundled sample",
        )

    def _season_counts(self) -> dict[int, int]:
        with session_scope(self.settings.database_url) as session:
            rows = session.execute(
                text("SELECT season, count(*) FROM games GROUP BY season ORDER BY season")
            ).all()
        return {int(season): int(count) for season, count in rows}

    def _game_ids(self, seasons: Sequence[int]) -> list[int]:
        with session_scope(self.settings.database_url) as session:
            return [
                int(game_id)
                for (game_id,) in session.execute(
                    text(
                        "SELECT id FROM games WHERE season = ANY(:seasons) ORDER BY game_date, id"
                    ),
                    {"seasons": list(seasons)},
                )
            ]

    def _missing_features(self, game_ids: Sequence[int]) -> list[int]:
        client = redis.Redis.from_url(self.settings.feature_store_url)
        try:
            found = FeatureStore(client, FEATURE_SET).get_many(game_ids).found
        finally:
            client.close()
        return [game_id for game_id, ok in zip(game_ids, found, strict=True) if not ok]

    def truncate_jobs(self) -> None:
        """Start from an empty jobs table so that every run measures the same table sizes."""
        try:
            with session_scope(self.settings.database_url) as session:
                session.execute(text("TRUNCATE jobs CASCADE"))
        except Exception as error:  # a changed schema: measure on the grown tables instead
            self.notes.append(f"jobs not truncated ({type(error).__name__})")

    # -- the run

    def run(self, args: argparse.Namespace) -> dict:
        started, load_start = time.perf_counter(), os.getloadavg()
        self.start_stack()
        game_ids, prepared = self.prepare(args.games)
        if args.prepare_only:
            print(json.dumps(prepared, indent=2))
            return {"preparation": prepared}
        n = len(game_ids)
        if n < args.games:
            self.notes.append(f"only {n:,} games stored ({prepared['source']}): not {args.games:,}")
        self.truncate_jobs()
        self.start_api()
        self.start_worker(args.base_workers)
        self.wait_ready()
        self.warm_up(game_ids, args.base_workers)
        setup_s = time.perf_counter() - started

        figures: dict = {"games": n, "preparation": prepared, "setup_s": setup_s}
        progress(f"stack ready in {setup_s:.1f} s")
        self.start_bare()
        per_game = game_ids[: args.per_game]
        # Mode "api": the prediction workers paused while the enqueue is measured (the API,
        # PostgreSQL and the broker alone), then the queued jobs drained.
        self.celery().control.cancel_consumer("predict", reply=True, timeout=5, limit=1)
        figures["api"] = self.enqueue(per_game, args.sequential)
        progress(f"api mode: {figures['api']}")
        figures["api"]["drain"] = self.drain(len(per_game))
        progress(f"api mode drain: {figures['api']['drain']}")
        # Mode "stack": as `make run` starts it, the workers consuming what is enqueued.
        start = time.perf_counter()
        figures["stack"] = self.enqueue(per_game, args.sequential)
        figures["stack"]["drain"] = self.drain(len(per_game), since=start, resume=False)
        figures["stack"] |= self.enqueue(per_game, args.sequential, guarded=True)
        self.drain_bare()
        progress(f"stack mode: {figures['stack']}")
        figures["enqueue_floor"] = self.enqueue_floor(game_ids[0], args.sequential)
        progress(f"enqueue floor, part by part: {figures['enqueue_floor']}")
        if args.enqueue_only:
            self.stop_bare()
            return self.finish(figures, load_start, args)
        figures["single"] = self.single_results(game_ids, args.single)
        figures["single_floor"] = self.single_floor(game_ids[-args.single :])
        figures["single_guarded"] = self.single_results(game_ids, args.single, bare=True)
        progress(f"single: {figures['single']}; floor {figures['single_floor']}")
        batches, floors = [], []
        for _ in range(args.repeats):
            batches.append(self.batch(game_ids))
            floors.append(self.floor(game_ids, batches[-1].pop("payloads"),
                                     batches[-1].pop("job_id")))  # fmt: skip
            progress(f"batch: {batches[-1]}; floor: {floors[-1]}")
        figures["batch"] = _medians(batches)
        figures["floor"] = _medians(floors)
        self.stop_bare()
        # Rounds of 1, 2, 4 processes rather than all runs of one size in a row: the machine's
        # load drifts over minutes, and it must not pass for a speed-up.
        scaling: dict[int, list[dict]] = {int(k): [] for k in args.workers.split(",") if k}
        for _ in range(args.repeats if scaling else 0):
            for concurrency, runs in scaling.items():
                self.start_worker(concurrency)
                self.warm_up(game_ids, concurrency)
                runs.append(self.batch(game_ids, fetch=False))
                progress(f"{concurrency} worker processes: {runs[-1]}")
        figures["scaling"] = {k: _medians(runs) for k, runs in scaling.items()}
        return self.finish(figures, load_start, args)

    def finish(self, figures: dict, load_start: tuple, args: argparse.Namespace) -> dict:
        """The run's figures with its load averages, notes and table, printed."""
        figures["load_average"] = {"start": load_start, "end": os.getloadavg()}
        figures["notes"] = self.notes
        figures["table"] = table(figures)
        report(figures, args)
        return figures

    def warm_up(self, game_ids: Sequence[int], processes: int) -> None:
        """Every worker process loads the champions; the first batch of the run is not timed."""
        client = Client(self.api_port)
        _, _, job = client.request("POST", "/api/v1/predict/batch", {"game_ids": game_ids[:500]})
        ids = _concurrently(
            lambda c, gid: _submit_one(c, gid), game_ids[: 4 * processes], self.api_port
        )
        for job_id in [job["job_id"], *ids]:
            if _wait_job(client, job_id)["status"] != "succeeded":
                raise RuntimeError(f"warm-up job {job_id} did not succeed")
        client.close()

    def enqueue(
        self, game_ids: Sequence[int], sequential: int, block: int = 50, guarded: bool = False
    ) -> dict:
        """POST each game to the API and to the bare app, side by side: in alternating blocks
        of ``block`` one after the other on one keep-alive connection each (p50/p99), then the
        rest in alternating blocks of ``4 * block`` over ``CLIENTS`` threads (req/s). The
        floor sees the same machine, load and background work (workers consuming, or not).
        With ``guarded``, only the bare app's jobs that its bare consumers run: a pass of its
        own, since their consumption beside ours would slow our workers' drain."""
        sides = {"enqueue": (self.api_port, _submit_one), "bare": (self.bare_port, _submit_bare)}
        if guarded:
            sides = {"guarded": (self.bare_port, _submit_single_bare)}
        latencies: dict[str, list[float]] = {name: [] for name in sides}
        walls = dict.fromkeys(sides, 0.0)
        cpus = dict.fromkeys(sides, 0.0)
        clients = {name: Client(port) for name, (port, _) in sides.items()}
        first = list(game_ids[:sequential])
        for at in range(0, len(first), block):
            for name, (_, submit) in sides.items():
                for game_id in first[at : at + block]:
                    start = time.perf_counter()
                    submit(clients[name], game_id)
                    latencies[name].append(time.perf_counter() - start)
        for client in clients.values():
            client.close()
        rest = list(game_ids[sequential:])
        for at in range(0, len(rest), 4 * block):
            for name, (port, submit) in sides.items():
                cpu, start = time.process_time(), time.perf_counter()
                _concurrently(submit, rest[at : at + 4 * block], port)
                walls[name] += time.perf_counter() - start
                cpus[name] += time.process_time() - cpu
        figures = {}
        for name in sides:
            ms = np.array(latencies[name]) * 1000
            figures[name] = {
                "sequential_requests": len(ms),
                "p50_ms": float(np.percentile(ms, 50)),
                "p99_ms": float(np.percentile(ms, 99)),
                "concurrent_requests": len(rest),
                "clients": CLIENTS,
                "rps": len(rest) / walls[name] if walls[name] else float("nan"),
                "concurrent_wall_s": walls[name],
                "client_cpu_s": cpus[name],
                "load_average": os.getloadavg()[0],
            }
        return figures

    def start_bare(self) -> None:
        """The enqueue's floor (``bench/bare_enqueue.py``) under gunicorn as ``bullpen api``
        runs it: 2 processes, the gevent worker, 1,000 connections each."""
        with psycopg.connect(libpq_url(self.settings.database_url)) as pg:
            pg.execute("DROP TABLE IF EXISTS bench_bare_jobs")
            pg.execute("CREATE TABLE bench_bare_jobs (LIKE jobs INCLUDING DEFAULTS "
                       "INCLUDING INDEXES)")  # fmt: skip
        self.bare_port = free_port()
        command = [
            sys.executable, "-m", "gunicorn", "bench.bare_enqueue:app",
            "--bind", f"127.0.0.1:{self.bare_port}", "--workers", "2",
            "--worker-class", "gevent", "--worker-connections", "1000", "--timeout", "60",
        ]  # fmt: skip
        env = {**self.env(), "PYTHONPATH": str(REPO),
               "BENCH_BARE_CONNINFO": libpq_url(self.settings.database_url),
               "BENCH_BARE_BROKER": self.settings.broker_url}  # fmt: skip
        # Two consumers, as a prediction worker has two pool processes.
        consumer = [sys.executable, str(REPO / "bench" / "bare_consumer.py")]
        commands = {"bare": command, "bare-consumer-1": consumer, "bare-consumer-2": consumer}
        broker = redis.Redis.from_url(self.settings.broker_url)
        broker.delete(CONSUMERS_READY)
        self.bare = Supervisor(commands, env, self.var_dir / "bare")
        self.bare.start()
        deadline = time.monotonic() + 60
        while True:
            self._check(self.bare)
            # Nothing is measured while the consumers still load their boosters.
            with contextlib.suppress(OSError, http.client.HTTPException, RuntimeError):
                client = Client(self.bare_port)
                _submit_bare(client, 0)
                client.close()
                if int(broker.get(CONSUMERS_READY) or 0) >= 2:
                    broker.close()
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("the bare app or its consumers were not ready in 60 s")
            time.sleep(0.2)

    def drain_bare(self, timeout: float = 600) -> None:
        """Until the bare consumers have run every job of the bare app's ``POST /single``."""
        broker = redis.Redis.from_url(self.settings.broker_url)
        deadline = time.monotonic() + timeout
        while broker.llen(SINGLE_QUEUE) + broker.llen(f"{SINGLE_QUEUE}:processing"):
            if time.monotonic() > deadline:
                raise RuntimeError("the bare consumers did not drain their list")
            time.sleep(0.05)
        broker.close()

    def stop_bare(self) -> None:
        if getattr(self, "bare", None) is not None:
            self.bare.stop()
            self.bare = None
            redis.Redis.from_url(self.settings.broker_url).delete("bench-bare-enqueue")

    def enqueue_floor(self, game_id: int, runs: int) -> dict:
        """p50 of each part an enqueue cannot do without, one at a time, sequentially.

        An HTTP round trip to the same API (``GET /health/live``: gunicorn, Flask, no I/O),
        the game's existence check, a job-sized row INSERT and its durable COMMIT, and a
        message-sized LPUSH to the broker's Redis. What the enqueue p50 spends above their
        sum is our own Python (request schema, ORM, kombu's publish).
        """
        client = Client(self.api_port)
        pg = psycopg.connect(libpq_url(self.settings.database_url))
        # A logged table, as ``jobs`` is (a TEMP table's commit would not wait on the WAL).
        pg.execute("DROP TABLE IF EXISTS bench_enqueue_floor")
        pg.execute("CREATE TABLE bench_enqueue_floor (id uuid PRIMARY KEY, params jsonb)")
        pg.commit()
        broker = redis.Redis.from_url(self.settings.broker_url)
        message = json.dumps({"body": "x" * 900, "headers": {"task": "bench"}})
        params = json.dumps({"game_ids": [game_id], "targets": list(TARGETS)})

        def http() -> None:
            client.request("GET", "/health/live")

        def exists() -> None:
            pg.execute("SELECT EXISTS (SELECT 1 FROM games WHERE id = %s)", (game_id,)).fetchone()
            pg.commit()

        def insert_commit() -> None:
            pg.execute("INSERT INTO bench_enqueue_floor VALUES (%s, %s)", (uuid.uuid4(), params))
            pg.commit()

        def publish() -> None:
            broker.lpush("bench-enqueue-floor", message)

        parts = {"http_ms": http, "exists_ms": exists, "insert_commit_ms": insert_commit,
                 "publish_ms": publish}  # fmt: skip
        figures = {}
        for name, call in parts.items():
            latencies = []
            for _ in range(runs):
                start = time.perf_counter()
                call()
                latencies.append(time.perf_counter() - start)
            figures[name] = float(np.median(latencies) * 1000)
        broker.delete("bench-enqueue-floor")
        pg.execute("DROP TABLE bench_enqueue_floor")
        pg.commit()
        client.close()
        pg.close()
        figures["sum_ms"] = sum(figures.values())
        return figures

    def drain(self, jobs: int, since: float | None = None, resume: bool = True) -> dict:
        """Until no prediction job is left queued or running: (a) with ``resume``, from
        ``add_consumer`` (the jobs were queued while the workers paused); else from ``since``
        (the workers consumed as the jobs came)."""
        client = Client(self.api_port)
        start = since if since is not None else time.perf_counter()
        if resume:
            # limit=1: the one prediction worker's reply ends the wait; without it a broadcast
            # waits out its whole timeout, and every drain read at least 5 s (295 jobs/s).
            self.celery().control.add_consumer("predict", reply=True, timeout=5, limit=1)
        while True:
            open_jobs = sum(_count(client, status) for status in ("queued", "running"))
            if open_jobs == 0 or time.perf_counter() - start > 1800:
                break
            time.sleep(0.05)
        wall = time.perf_counter() - start
        failed = _count(client, "failed")
        client.close()
        return {"jobs": jobs, "drain_s": wall, "jobs_per_s": jobs / wall,
                "failed": failed, "unfinished": open_jobs}  # fmt: skip

    def single_results(self, game_ids: Sequence[int], runs: int, bare: bool = False) -> dict:
        """POST, long poll until it ended, its results: ``runs`` one-game jobs one by one, on
        the API, or with ``bare`` on the bare app and its bare consumer (the same client)."""
        if bare:
            self._floor_clients()  # the results' table
        client = Client(self.bare_port if bare else self.api_port)
        submit, prefix = (_submit_single_bare, "") if bare else (_submit_one, "/api/v1")
        timings, queued, worked = [], [], []
        for game_id in game_ids[-runs:]:
            start = time.perf_counter()
            job = _wait_job(client, submit(client, game_id), wait=5, timeout=60, prefix=prefix)
            status, _, page = client.request("GET", job["results_url"])
            timings.append(time.perf_counter() - start)
            if job["status"] != "succeeded" or status != 200 or not page["items"]:
                raise RuntimeError(f"single job {job['job_id']} ended {job['status']}")
            queued.append(_seconds(job["created_at"], job["started_at"]))
            worked.append(_seconds(job["started_at"], job["finished_at"]))
        client.close()
        ms = np.array(timings) * 1000
        return {
            "runs": runs,
            "p50_ms": float(np.median(ms)),
            "p99_ms": float(np.percentile(ms, 99)),
            # Where the time goes, from the job's own timestamps (database clock).
            "queued_p50_ms": float(np.median(queued) * 1000),
            "worker_p50_ms": float(np.median(worked) * 1000),
        }

    def batch(self, game_ids: Sequence[int], *, fetch: bool = True) -> dict:
        client = Client(self.api_port)
        posted_at = time.time()
        start = time.perf_counter()
        status, _, job = client.request("POST", "/api/v1/predict/batch", {"game_ids": game_ids})
        if status != 202:
            raise RuntimeError(f"POST /api/v1/predict/batch answered {status}: {job}")
        submitted = time.perf_counter() - start
        job = _wait_job(client, job["job_id"])
        wall = time.perf_counter() - start
        if job["status"] != "succeeded":
            raise RuntimeError(f"batch {job['job_id']} ended {job['status']}: {job['error']}")
        figures = {
            "submit_s": submitted,
            "wall_s": wall,
            "worker_s": _seconds(job["started_at"], job["finished_at"]),
            "queued_s": _seconds(job["created_at"], job["started_at"]),
            "games_per_s": len(game_ids) / wall,
        }
        progress(f"batch timeline: {self.timeline(job['job_id'], posted_at, posted_at + wall)}")
        if fetch:
            start = time.perf_counter()
            payloads: list[dict] = []
            for page in range(1, -(-len(game_ids) // MAX_RESULTS_PAGE_SIZE) + 1):
                url = f"{job['results_url']}?page={page}&page_size={MAX_RESULTS_PAGE_SIZE}"
                payloads += client.request("GET", url)[2]["items"]
            figures["fetch_s"] = time.perf_counter() - start
            if len(payloads) != len(game_ids):
                raise RuntimeError(f"fetched {len(payloads)} results of {len(game_ids)}")
            figures["payloads"] = payloads
            figures["job_id"] = job["job_id"]
        client.close()
        return figures

    def timeline(self, job_id: str, posted_at: float, answered_at: float) -> str:
        """Where a batch's wall time went, in ms from the POST: the job's created, started and
        finished stamps, each chunk's transaction start (``done_at`` is its ``now()``) and its
        scoring moment (its predictions' ``created_at``) by writing process, and the poll's
        answer (one machine, one clock)."""
        self._floor_clients()
        with self._pg.cursor() as cursor:
            cursor.execute(
                "SELECT extract(epoch FROM created_at), extract(epoch FROM started_at),"
                " extract(epoch FROM finished_at) FROM jobs WHERE id = %s",
                (job_id,),
            )
            created, started, finished = cursor.fetchone()
            cursor.execute(
                "SELECT c.chunk_index, c.written_by, cardinality(c.items),"
                " extract(epoch FROM c.done_at), extract(epoch FROM min(p.created_at))"
                " FROM job_chunks c LEFT JOIN predictions p"
                " ON p.job_id = c.job_id AND p.item_index = ANY(c.items)"
                " WHERE c.job_id = %s GROUP BY c.job_id, c.chunk_index ORDER BY 4",
                (job_id,),
            )
            chunks = cursor.fetchall()
        self._pg.commit()

        def ms(at) -> str:
            return "-" if at is None else f"{(float(at) - posted_at) * 1000:.0f}"

        parts = [f"created {ms(created)}", f"started {ms(started)}"]
        parts += [
            f"chunk {index} ({size}, {writer.rsplit(':', 1)[-1]}) tx {ms(began)} scored {ms(at)}"
            for index, writer, size, began, at in chunks
        ]
        parts += [f"finished {ms(finished)}", f"answered {ms(answered_at)}"]
        return "; ".join(parts)

    def _floor_clients(self) -> None:
        if not hasattr(self, "_boosters"):
            self._boosters = load_boosters(self.settings)
            self._redis = redis.Redis.from_url(self.settings.feature_store_url)
            self._pg = psycopg.connect(libpq_url(self.settings.database_url))
            create_floor_table(self._pg)

    def floor(self, game_ids: Sequence[int], payloads: list[dict], job_id: str) -> dict:
        """(b) MGET + three boosters' predict and explanations + COPY of the same rows, and
        one COPY of the batch's stored rows out, parsed, in this process."""
        self._floor_clients()
        store = FeatureStore(self._redis, FEATURE_SET)
        keys = [store.key(game_id) for game_id in game_ids]
        rows = [json.dumps(payload) for payload in payloads]
        self._redis.ping()
        with self._pg.cursor() as cursor:
            cursor.execute("TRUNCATE bench_copy_floor")
        self._pg.commit()

        start = time.perf_counter()
        matrix = mget_matrix(self._redis, keys)
        mget = time.perf_counter() - start
        start = time.perf_counter()
        for booster in self._boosters.values():
            booster.predict(matrix)
        predict = time.perf_counter() - start
        start = time.perf_counter()
        for booster in self._boosters.values():
            booster.predict(matrix, pred_contrib=True)
        contrib = time.perf_counter() - start
        start = time.perf_counter()
        copy_rows(self._pg, game_ids, rows)
        copy = time.perf_counter() - start
        start = time.perf_counter()
        fetched = copy_out_parsed(self._pg, job_id)
        copy_out = time.perf_counter() - start
        if len(fetched) != len(game_ids):
            raise RuntimeError(f"COPY out read {len(fetched)} rows of {len(game_ids)}")
        return {
            "mget_s": mget,
            "predict_s": predict,
            "pred_contrib_s": contrib,
            "copy_s": copy,
            "floor_s": mget + predict + contrib + copy,
            "copy_out_parsed_s": copy_out,
            "payload_bytes": sum(map(len, rows)) / len(rows),
        }

    def single_floor(self, game_ids: Sequence[int]) -> dict:
        """One game's necessary work, p50 over ``game_ids`` one at a time: its features' GET,
        three predictions with their explanations, its row INSERTed and durably committed."""
        self._floor_clients()
        store = FeatureStore(self._redis, FEATURE_SET)
        timings = []
        for game_id in game_ids:
            start = time.perf_counter()
            matrix = mget_matrix(self._redis, [store.key(game_id)])
            payload = {}
            for target, booster in self._boosters.items():
                # One thread for one row, as the workers predict (an OpenMP team's start-up
                # would be most of the floor on a busy machine).
                payload[target] = [booster.predict(matrix, num_threads=1).tolist(),
                                   booster.predict(matrix, pred_contrib=True,
                                                   num_threads=1).tolist()]  # fmt: skip
            self._pg.execute(
                "INSERT INTO bench_copy_floor (job_id, item_key, item_index, game_id, payload)"
                " VALUES (%s, %s, 0, %s, %s)",
                (uuid.uuid4(), str(game_id), game_id, json.dumps(payload)),
            )
            self._pg.commit()
            timings.append(time.perf_counter() - start)
        return {"work_p50_ms": float(np.median(timings) * 1000)}


def on_stack(
    run: Callable[[QueueBench, argparse.Namespace], None], args: argparse.Namespace
) -> None:
    """``run(bench, args)`` on the benchmark's prepared stack (its embedded PostgreSQL and
    Redis started for it, stopped after): the in-process profiles' way onto it."""
    bench = QueueBench(BENCH_DIR, Path("/nonexistent"))
    bench.start_stack()
    try:
        run(bench, args)
    finally:
        bench.stop()


# --- the raw floor's parts ---------------------------------------------------------------------


def load_boosters(settings: Settings) -> dict:
    """The champion booster of every target, straight from the MLflow registry."""
    import mlflow
    import mlflow.lightgbm

    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_tracking_uri)
    return {
        target: _OwnColumns(
            mlflow.lightgbm.load_model(f"models:/{settings.model_name(target)}@champion")
        )
        for target in TARGETS
    }


class _OwnColumns:
    """A booster fed its own columns of the stored vector, by name, as the workers feed it (a
    champion reads only the features known when its market's price is posted)."""

    def __init__(self, booster) -> None:
        self.booster = booster
        names = booster.feature_name()
        self.positions = (
            None
            if tuple(names) == FEATURE_SET.names
            else np.array([FEATURE_SET.names.index(name) for name in names])
        )

    def predict(self, matrix: np.ndarray, **options) -> np.ndarray:
        columns = matrix if self.positions is None else matrix[:, self.positions]
        return self.booster.predict(columns, **options)


def mget_matrix(client: redis.Redis, keys: Sequence[str]) -> np.ndarray:
    """One MGET of every key, decoded (msgpack ``[fingerprint, computed_at, vector]``)."""
    blobs = [msgpack.unpackb(raw)[2] for raw in client.mget(keys)]
    return np.frombuffer(b"".join(blobs), dtype="<f8").reshape(len(keys), -1)


def libpq_url(sqlalchemy_url: str) -> str:
    """The libpq form of a ``postgresql+psycopg://`` URL (host may be a socket directory)."""
    return make_url(sqlalchemy_url).set(drivername="postgresql").render_as_string(False)


def create_floor_table(conn: psycopg.Connection) -> None:
    """A table shaped like ``predictions`` (same key and indexes), for the COPY floor."""
    conn.execute(
        """
        CREATE TABLE IF NOT EXISTS bench_copy_floor (
            id bigserial PRIMARY KEY,
            job_id uuid NOT NULL,
            item_key varchar(32) NOT NULL,
            item_index integer NOT NULL,
            game_id integer,
            payload jsonb NOT NULL,
            created_at timestamptz NOT NULL DEFAULT now(),
            UNIQUE (job_id, item_key)
        )
        """
    )
    conn.execute(
        "CREATE INDEX IF NOT EXISTS bench_copy_floor_game ON bench_copy_floor (game_id, created_at)"
    )
    conn.commit()


def copy_rows(conn: psycopg.Connection, game_ids: Sequence[int], payloads: Sequence[str]) -> None:
    """COPY one row per game with its JSON payload, and commit."""
    job_id = uuid.uuid4()
    with conn.cursor() as cursor:
        columns = "job_id, item_key, item_index, game_id, payload"
        with cursor.copy(f"COPY bench_copy_floor ({columns}) FROM STDIN") as copy:
            for index, (game_id, payload) in enumerate(zip(game_ids, payloads, strict=True)):
                copy.write_row((job_id, str(game_id), index, game_id, payload))
    conn.commit()


def copy_out_parsed(conn: psycopg.Connection, job_id: str) -> list:
    """One COPY of a job's stored payloads out of PostgreSQL, each parsed as JSON."""
    with conn.cursor() as cursor:
        statement = ("COPY (SELECT payload FROM predictions WHERE job_id = %s"
                     " ORDER BY item_index) TO STDOUT")  # fmt: skip
        with cursor.copy(statement, (job_id,)) as copy:
            parsed = [json.loads(row[0]) for row in copy.rows()]
    conn.commit()
    return parsed


# --- helpers -------------------------------------------------------------------------------------


def progress(message: str) -> None:
    """One line on stderr as each phase ends (a run takes minutes)."""
    print(f"[{datetime.now():%H:%M:%S}] {message}", file=sys.stderr, flush=True)


def _latest_seasons_holding(counts: dict[int, int], games: int) -> list[int]:
    """The fewest latest seasons that hold ``games`` games (every season if none do)."""
    chosen: list[int] = []
    for season in sorted(counts, reverse=True):
        chosen.insert(0, season)
        if sum(counts[s] for s in chosen) >= games:
            break
    return chosen


def _concurrently(call: Callable[[Client, int], str], items: Sequence[int], port: int) -> list[str]:
    """``call(client, item)`` for every item over ``CLIENTS`` threads, each its own connection."""
    results: list[str | None] = [None] * len(items)
    errors: list[BaseException] = []
    cursor = iter(range(len(items)))
    lock = threading.Lock()

    def worker() -> None:
        client = Client(port)
        try:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None or errors:
                    return
                results[index] = call(client, items[index])
        except BaseException as error:  # reported by the caller
            errors.append(error)
        finally:
            client.close()

    threads = [threading.Thread(target=worker) for _ in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results  # type: ignore[return-value]


def _count(client: Client, status: str) -> int:
    """How many prediction jobs have ``status`` (the ``X-Pagination`` total of the jobs list)."""
    _, headers, _ = client.request("GET", f"/api/v1/jobs?kind=predict&status={status}&page_size=1")
    return int(json.loads(headers["X-Pagination"])["total"])


def _seconds(start: str | None, end: str | None) -> float:
    if not start or not end:
        return float("nan")
    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def _medians(runs: list[dict]) -> dict:
    """The median of every figure over ``runs`` (and the runs themselves)."""
    figures = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    return {**figures, "runs": runs}


def _row(
    name: str, mode: str, value: float, unit: str, floor: float | None, met: bool | None
) -> dict:
    path, floor_text, goal = ROWS[name]
    ratio = value / floor if floor else None
    return {"name": name, "mode": mode, "path": path, "value": value, "unit": unit,
            "floor": floor, "floor_is": floor_text, "ratio": ratio, "goal": goal,
            "met": met}  # fmt: skip


def table(figures: dict) -> list[dict]:
    """Issue 21's table: every path with its floor, ratio and goal, in both modes where the
    mode changes it (``api``: the workers paused; ``stack``: the workers consuming)."""
    rows = []
    for mode in ("api", "stack"):
        e, bare, drain = (figures[mode][k] for k in ("enqueue", "bare", "drain"))
        p50_ratio = e["p50_ms"] / bare["p50_ms"]
        rows.append(_row("enqueue_p50", mode, e["p50_ms"], "ms", bare["p50_ms"], p50_ratio <= 2))
        rows.append(_row("enqueue_p99", mode, e["p99_ms"], "ms", None, e["p99_ms"] <= 10))
        rows.append(_row("enqueue_rps", mode, e["rps"], "req/s", bare["rps"],
                         e["rps"] >= 0.5 * bare["rps"]))  # fmt: skip
        per_game = figures["games"] / figures["batch"]["wall_s"] if "batch" in figures else None
        rows.append(_row("drain", mode, drain["jobs_per_s"], "jobs/s", per_game,
                         drain["jobs_per_s"] >= 150))  # fmt: skip
        if "guarded" in figures[mode]:
            guarded = figures[mode]["guarded"]
            rows.append(_row("enqueue_p50_guarded", mode, e["p50_ms"], "ms",
                             guarded["p50_ms"], None))  # fmt: skip
            rows.append(_row("enqueue_rps_guarded", mode, e["rps"], "req/s",
                             guarded["rps"], None))  # fmt: skip
    if "single" not in figures:  # --enqueue-only
        return rows
    single = figures["single"]
    floor = figures["stack"]["bare"]["p50_ms"] + figures["single_floor"]["work_p50_ms"]
    p50 = single["p50_ms"]
    rows.append(_row("single_p50", "stack", p50, "ms", floor, p50 <= 20 and p50 <= 3 * floor))
    rows.append(_row("single_p99", "stack", single["p99_ms"], "ms", None,
                     single["p99_ms"] <= 50))  # fmt: skip
    if "single_guarded" in figures:
        guarded = figures["single_guarded"]["p50_ms"]
        rows.append(_row("single_guarded", "stack", p50, "ms", guarded, None))
    b, f = figures["batch"], figures["floor"]
    rows.append(_row("batch", "stack", b["wall_s"], "s", f["floor_s"],
                     b["wall_s"] <= 1.5 * f["floor_s"]))  # fmt: skip
    rows.append(_row("results", "stack", b["fetch_s"], "s", f["copy_out_parsed_s"],
                     b["fetch_s"] <= 1.5 * f["copy_out_parsed_s"]))  # fmt: skip
    return rows


def _verdict(met: bool | None, shout: bool = False) -> str:
    """A goal's row: met or missed (MISSED, shouted, on the terminal); a row for information
    only: nothing."""
    return "" if met is None else "met" if met else "MISSED" if shout else "missed"


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    return f"{value:,.0f} {unit}" if unit in {"req/s", "jobs/s"} and value >= 100 else (
        f"{value:.3g} {unit}" if unit == "s" else f"{value:.1f} {unit}")  # fmt: skip


def report(figures: dict, args: argparse.Namespace) -> None:
    """Print the table (each path, its floor and ratio, its goal) and where the time went."""
    n, prep = figures["games"], figures["preparation"]
    print(f"bench_queue: {n:,} games of {prep.get('bench_seasons')} ({prep['source']}); "
          f"champions trained on {prep.get('training_seasons')}; stack start + warm-up "
          f"{figures['setup_s']:.1f} s")  # fmt: skip
    print(f"  {'path':50s} {'mode':5s} {'measured':>12s} {'floor':>12s} {'ratio':>7s}  goal")
    for row in figures["table"]:
        ratio = f"{row['ratio']:.2f}x" if row["ratio"] is not None else ""
        print(f"  {row['path']:50s} {row['mode']:5s} {_figure(row['value'], row['unit']):>12s} "
              f"{_figure(row['floor'], row['unit']):>12s} {ratio:>7s}  {row['goal']}: "
              f"{_verdict(row['met'], shout=True)}")  # fmt: skip
    print("floors:")
    for path, floor, _ in ROWS.values():
        if floor:
            print(f"  {path}: {floor}")
    for mode in ("api", "stack"):
        m = figures[mode]
        print(f"{mode} mode: enqueue {m['enqueue']['p50_ms']:.2f} / {m['enqueue']['p99_ms']:.2f} ms"
              f" (bare {m['bare']['p50_ms']:.2f} / {m['bare']['p99_ms']:.2f}), "
              f"{m['enqueue']['rps']:.0f} req/s (bare {m['bare']['rps']:.0f}), load "
              f"{m['enqueue']['load_average']:.1f}; {m['drain']['jobs']:,} single-game jobs "
              f"in {m['drain']['drain_s']:.1f} s, {m['drain']['failed']} failed")  # fmt: skip
    ef = figures["enqueue_floor"]
    print(
        f"enqueue's parts (p50): HTTP {ef['http_ms']:.2f}, existence {ef['exists_ms']:.2f}, "
        f"INSERT+COMMIT {ef['insert_commit_ms']:.2f}, LPUSH {ef['publish_ms']:.2f} ms"
    )
    if "single" in figures:
        _report_work(figures, args)
    load = figures["load_average"]
    print(
        f"load average (1, 5, 15 min) at the start {', '.join(f'{x:.1f}' for x in load['start'])}"
        f", at the end {', '.join(f'{x:.1f}' for x in load['end'])}; cores {os.cpu_count()}"
    )
    for note in figures["notes"]:
        print(f"note: {note}")


def _report_work(figures: dict, args: argparse.Namespace) -> None:
    """Where the single, batch and scaling runs' time went."""
    s, f, b = figures["single"], figures["floor"], figures["batch"]
    print(
        f"single: created -> started {s['queued_p50_ms']:.1f} ms, started -> finished "
        f"{s['worker_p50_ms']:.1f} ms (p50); one game's work floor "
        f"{figures['single_floor']['work_p50_ms']:.2f} ms"
    )
    print(
        f"batch (median of {args.repeats}): submit {b['submit_s']:.3f} s, worker "
        f"{b['worker_s']:.3f} s, queued {b['queued_s']:.3f} s; floor MGET "
        f"{f['mget_s'] * 1000:.0f} + predict {f['predict_s'] * 1000:.0f} + pred_contrib "
        f"{f['pred_contrib_s'] * 1000:.0f} + COPY {f['copy_s'] * 1000:.0f} ms; "
        f"COPY out + parse {f['copy_out_parsed_s'] * 1000:.0f} ms"
    )
    base = None
    for k, run in figures["scaling"].items():
        base = base or run["wall_s"]
        print(
            f"batch over {k} process(es): {run['wall_s']:.2f} s (worker {run['worker_s']:.2f}"
            f" s), x{base / run['wall_s']:.2f} over the first"
        )


if __name__ == "__main__":
    main()
