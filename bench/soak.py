"""A soak of the whole stack as ``make run`` starts it (issue 22): hours of steady work with a
fault every few minutes, memory and latency watched over time.

It runs ``bullpen up`` (embedded PostgreSQL and Redis under ``var/soak/``, supervisord, the API
under gunicorn, the Celery workers, the beat, Flower, MLflow) on free ports, with the live feeds
pointing at a local provider-shaped server (:mod:`app.replay.provider`) and, for the run:

- single predictions through the REST API at ``--rate`` a second, sent on schedule and
  each long-polled to its end apart (open-loop: see :class:`Load`);
- a batch of a whole season (``--batch-season``, the latest stored) every ``--batch-every`` s;
- the beat's own feeds and settlement: the provider lists ``--feed-games`` games of today and
  yesterday (US Eastern) spread so that one reaches its final every few minutes; the soak
  records a user bet on each once the schedule feed has stored it, and the beat settles it;
- a fault every ``--fault-every`` minutes, in turn: a prediction pool child killed, the
  prediction worker's main process killed (supervisord restarts it), the broker killed and
  restarted on its data after ``--broker-down`` s (60: longer than the beat's quick restarts
  last), PostgreSQL restarted (``pg_ctl restart -m immediate``).

Every ``--sample-every`` s it records the resident memory (RSS, and PSS: shared pages counted
once) of each component with its children, psutil. At the end it prints a table per
``--table-every`` minutes (requests by status, jobs by final status, enqueue and result latency
percentiles, memory), checks the goals and writes ``soak.json``, ``soak.png`` and ``soak.svg``
to ``--output`` (default ``var/bench/``); ``--report soak.json`` reports a finished run again.

The memory goal is checked on PSS: RSS counts a page shared by N processes N times, so it
"grows" as forked pool children touch inherited pages and as each PostgreSQL backend touches
more of ``shared_buffers`` (bounded by it), with no more memory used. Both are reported.
PostgreSQL's PSS is split in two: ``pg-shared``, the resident part of its shared memory segment
(``shared_buffers`` and the rest of ``shared_memory_size``, the ``/dev/zero`` mapping every
backend shares), which fills as pages are read and can never pass the segment's size; and
``pg-private``, every PostgreSQL process's own memory. The growth goal holds ``pg-private`` to
10% like every other component, and ``pg-shared`` to the segment's size.

Usage: ``make soak`` or ``.venv/bin/python bench/soak.py [--minutes 60] [--rate 5]``.
"""

import argparse
import contextlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psutil
import requests

from app.clock import eastern_date
from app.ingest.curated import game_key
from app.replay.provider import FINAL_AFTER, ProviderServer, SeasonProvider
from app.replay.season import load_season
from app.replay.stack import free_port
from app.stack.embedded import EmbeddedStack
from app.stack.supervisor import Supervisor

REPO = Path(__file__).resolve().parent.parent
VAR_DIR = REPO / "var" / "soak"
OUTPUT = REPO / "var" / "bench"
# The feed games' keys of every soak on the stack under VAR_DIR (see feed_provider).
FEED_KEYS = VAR_DIR / "soak-feed-games.json"
SAMPLE = REPO / "data" / "sample"
ODDS_API_KEY = "soak"
FINISHED = {"succeeded", "failed", "cancelled"}
FAULTS = ("pool child killed", "worker main killed", "broker restarted", "PostgreSQL restarted")
# The components whose memory is recorded: supervisord's program names, and the two servers.
COMPONENTS = ("worker", "worker-training", "api", "beat", "flower", "mlflow", "postgres", "redis")
# PostgreSQL's PSS in two (see the module's docstring): the shared segment and the rest.
PG_PARTS = ("pg-shared", "pg-private")
# Every process maps PostgreSQL's main shared memory segment (mmap'ed anonymous) under this
# name: "/dev/zero (deleted)" in /proc/PID/maps, which psutil reports without " (deleted)".
PG_SEGMENT = "/dev/zero"
READY_TIMEOUT_SECONDS = 900  # a first start ingests the sample and trains (minutes here)
JOB_TIMEOUT_SECONDS = 900
# How long a fault waits for /health/ready; meanwhile no memory is sampled.
READY_AFTER_FAULT_SECONDS = 300


# --- what is recorded --------------------------------------------------------------------------


@dataclass
class Request:
    at: float  # seconds since the soak began
    kind: str  # single | batch | bet
    status: int  # HTTP status, 0 for no answer
    enqueue_ms: float
    job_status: str | None = None
    result_ms: float | None = None
    error: str | None = None
    send_lag_ms: float = 0.0  # how late the client sent it (every sender busy)


@dataclass(frozen=True)
class Due:
    """When a request was due: seconds into the soak, and the monotonic and wall clocks."""

    at: float
    monotonic: float
    wall: float

    def ms(self) -> float:
        """Milliseconds since then."""
        return (time.monotonic() - self.monotonic) * 1000


@dataclass
class Record:
    started: float = field(default_factory=time.time)
    requests: list[Request] = field(default_factory=list)
    memory: list[dict] = field(default_factory=list)
    faults: list[dict] = field(default_factory=list)
    feeds: list[dict] = field(default_factory=list)
    poll_errors: list[dict] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def elapsed(self) -> float:
        return time.time() - self.started

    def add(self, request: Request) -> None:
        with self.lock:
            self.requests.append(request)

    def add_poll_error(self, status: int) -> None:
        """A job poll that did not answer 200 (0: no answer), with when it happened."""
        with self.lock:
            self.poll_errors.append({"at": self.elapsed(), "status": status})


# --- the stack ---------------------------------------------------------------------------------


class Stack:
    """``bullpen up`` as a child process, its components found through supervisord."""

    def __init__(self, var_dir: Path, provider_url: str) -> None:
        self.var_dir = var_dir
        self.redis_port, self.api_port = free_port(), free_port()
        self.flower_port, self.mlflow_port = free_port(), free_port()
        self.api_url = f"http://127.0.0.1:{self.api_port}"
        self.provider_url = provider_url
        self.process: subprocess.Popen | None = None
        self.supervisor = Supervisor({}, {}, var_dir)
        self.redis_command: list[str] | None = None
        self.redis_process: subprocess.Popen | None = None
        self.broker_down = 60.0

    def env(self) -> dict[str, str]:
        inherited = {
            k: v for k, v in os.environ.items() if not k.startswith(("BULLPEN_", "MLFLOW"))
        }
        return {
            **inherited,
            "BULLPEN_VAR_DIR": str(self.var_dir),
            "BULLPEN_EMBEDDED_REDIS_PORT": str(self.redis_port),
            "BULLPEN_SCHEDULE_API_URL": self.provider_url,
            "BULLPEN_ODDS_API_URL": self.provider_url,
            "BULLPEN_ODDS_API_KEY": ODDS_API_KEY,
        }

    def database_url(self) -> str:
        from app.stack.embedded import DATABASE_NAME

        # pgserver's postmaster.pid: its fifth line is the unix socket's directory.
        socket_dir = (self.var_dir / "pgdata" / "postmaster.pid").read_text().split("\n")[4]
        return f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={socket_dir}"

    def pg_settings(self) -> dict[str, str]:
        """The shared memory settings, and how much of ``shared_buffers`` holds a page
        (pg_buffercache, when the server has it)."""
        import sqlalchemy as sa

        engine = sa.create_engine(self.database_url(), poolclass=sa.pool.NullPool)
        out: dict[str, str] = {}
        with engine.connect() as conn:
            for name in ("shared_buffers", "shared_memory_size", "max_connections"):
                out[name] = conn.execute(sa.text(f"SHOW {name}")).scalar_one()
            with contextlib.suppress(sa.exc.DBAPIError):
                conn.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_buffercache"))
                used = conn.execute(sa.text(
                    "SELECT count(*) FILTER (WHERE relfilenode IS NOT NULL), count(*) "
                    "FROM pg_buffercache"
                )).one()  # fmt: skip
                out["buffers_used"] = f"{used[0]} of {used[1]} (8 kB each)"
                conn.commit()
        engine.dispose()
        return out

    def start(self) -> None:
        self.var_dir.mkdir(parents=True, exist_ok=True)
        log = (self.var_dir / "soak-up.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "up", "--api-port", str(self.api_port),
             "--flower-port", str(self.flower_port), "--mlflow-port", str(self.mlflow_port)],
            env=self.env(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, cwd=REPO,
        )  # fmt: skip
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while not self.ready():
            if self.process.poll() is not None:
                raise SystemExit(f"bullpen up exited; see {self.var_dir / 'soak-up.log'}")
            if time.monotonic() > deadline:
                raise SystemExit(f"the stack was not ready after {READY_TIMEOUT_SECONDS} s")
            time.sleep(2)

    def ready(self) -> bool:
        return self.ready_status() == 200

    def ready_status(self) -> int:
        """``/health/ready``'s status code; 0 when it did not answer within 5 s."""
        try:
            return requests.get(f"{self.api_url}/health/ready", timeout=5).status_code
        except requests.RequestException:
            return 0

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=120)
            except subprocess.TimeoutExpired:
                self.process.kill()
        if self.postmaster_pid() is not None:
            # Seen after a run whose PostgreSQL was restarted (`pg_ctl restart`): the new
            # postmaster outlived `bullpen up`'s stop. A soak leaves nothing running.
            print("PostgreSQL outlived `bullpen up`; stopping it", flush=True)
            self._pg_ctl("-w", "-m", "fast", "stop")
        if self.redis_process is not None:
            # A broker this soak restarted is its child; `bullpen up` shut it down by its port.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.redis_process.wait(timeout=10)
            if self.redis_process.poll() is None:
                self.redis_process.kill()

    # --- the components' processes ---

    def component_pids(self) -> dict[str, int]:
        pids = {}
        with contextlib.suppress(OSError, Exception):
            pids = {name: pid for name, pid in self.supervisor.pids().items() if pid}
        if (postmaster := self.postmaster_pid()) is not None:
            pids["postgres"] = postmaster
        if (redis := self.redis_server()) is not None:
            pids["redis"] = redis.pid
        return pids

    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            pid = int((self.var_dir / "pgdata" / "postmaster.pid").read_text().split()[0])
            if psutil.pid_exists(pid):
                return pid
        return None

    def redis_server(self) -> psutil.Process | None:
        for proc in psutil.process_iter(["name", "cmdline"]):
            cmdline = proc.info["cmdline"] or []
            # Redis rewrites its title to "redis-server 127.0.0.1:PORT".
            port = f":{self.redis_port}"
            if "redis-server" in (proc.info["name"] or "") and any(
                part.endswith(port) for part in cmdline
            ):
                return proc
        return None

    # --- the faults ---

    def kill_pool_child(self) -> str:
        worker = psutil.Process(self.supervisor.pids()["worker"])
        child = random.choice(worker.children())
        child.kill()
        return f"SIGKILL pool child {child.pid} of worker {worker.pid}"

    def kill_worker_main(self) -> str:
        pid = self.supervisor.pids()["worker"]
        os.kill(pid, signal.SIGKILL)
        return f"SIGKILL worker main {pid} (supervisord restarts it)"

    def restart_broker(self) -> str:
        proc = self.redis_server()
        if proc is None:
            raise RuntimeError("no broker to restart")
        proc.kill()
        # `bullpen up` started it and reaps it only when it stops: gone means a zombie here.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(psutil.NoSuchProcess):
                if proc.status() != psutil.STATUS_ZOMBIE:
                    time.sleep(0.1)
                    continue
            break
        time.sleep(self.broker_down)  # longer than supervisord's quick restarts of the beat
        self.redis_process = subprocess.Popen(
            EmbeddedStack(self.var_dir, self.redis_port).redis_command(),
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        return (
            f"SIGKILL redis {proc.pid}, {self.broker_down:g} s down, started again on its "
            "append-only file"
        )

    def restart_postgres(self) -> str:
        self._pg_ctl("-w", "-m", "immediate", "restart")
        return "pg_ctl restart -m immediate (every connection cut)"

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl

        # pgserver runs the server as user pgserver when started as root.
        user = "pgserver" if os.geteuid() == 0 else None
        pg_ctl(list(args), pgdata=self.var_dir / "pgdata", user=user, timeout=120)


def tree_memory(pid: int, segment: str | None = None, attempts: int = 5) -> dict[str, float]:
    """RSS, PSS and USS (MB) of a process with all its descendants, how many processes, and
    with ``segment`` the PSS of the mappings of that name (a page there counted once).

    A shared page's PSS is its size divided by the processes mapping it when each process is
    read, so a process that starts or exits midway through the reads makes the sum wrong (a
    PostgreSQL backend exiting after its share was read raises the shares read after it: the
    sum passed the segment's size). The reads are taken again until the process tree is the
    same before and after them.
    """
    for _ in range(attempts):
        before = _tree(pid)
        if before is None:
            return {"rss_mb": 0.0, "pss_mb": 0.0, "uss_mb": 0.0, "processes": 0}
        totals: Counter = Counter()
        for proc in before.values():
            with contextlib.suppress(psutil.Error):
                info = proc.memory_full_info()
                mapped = (
                    sum(m.pss for m in proc.memory_maps() if m.path == segment) if segment else 0
                )
                totals.update(rss=info.rss, pss=info.pss, uss=info.uss, segment=mapped, processes=1)
        after = _tree(pid)
        if after is not None and after.keys() == before.keys():
            break
    out = {f"{key}_mb": round(totals[key] / 2**20, 1) for key in ("rss", "pss", "uss")}
    out["processes"] = totals["processes"]
    if segment:
        out["segment_pss_mb"] = round(totals["segment"] / 2**20, 1)
    return out


def _tree(pid: int) -> dict[tuple[int, float], psutil.Process] | None:
    """A process and its descendants by (pid, start time); None when it is gone."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.Error:
        return None
    tree = {}
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            tree[(proc.pid, proc.create_time())] = proc
    return tree


# --- the provider ------------------------------------------------------------------------------


def sample_season() -> int:
    """The latest season of the bundled sample (the bootstrap ingested it)."""
    return max(int(path.stem[-4:]) for path in SAMPLE.glob("mlb-odds-*.xlsx"))


def feed_provider(
    games: int, start: datetime, minutes: float, taken: frozenset[str] = frozenset()
) -> SeasonProvider:
    """A day of the sample's latest season, moved so that its games reach their finals one by
    one through the soak (the first a few minutes in).

    ``taken`` are the game keys an earlier soak on the same stack stored: a game of the same
    teams on the same date under another gamePk is a different game the schedule feed refuses
    (``feeds_game_key_taken``), so a second soak on one day takes pairings not yet played.
    """
    played = load_season(SAMPLE, sample_season())
    by_date = defaultdict(list)
    for game in played:
        by_date[game.game_date].append(game)
    spacing = timedelta(minutes=max(minutes, 10) / max(games, 1))
    first_pitches = [start - FINAL_AFTER + spacing * (index + 1) for index in range(games)]

    def free(day: list) -> list:
        return [
            game
            for game in day
            if all(
                game_key(eastern_date(at), game.home_team, game.away_team, 0) not in taken
                for at in first_pitches
            )
        ]

    day = max((free(day) for day in by_date.values()), key=len)[:games]
    moved = []
    for index, game in enumerate(day):
        first_pitch = first_pitches[index]
        moved.append(
            replace(
                game,
                game_pk=900_000_000 + int(start.timestamp()) % 1_000_000 * 100 + index,
                game_date=eastern_date(first_pitch),
                start_time=first_pitch,
                game_number=0,
            )
        )
    return SeasonProvider(moved, lambda: datetime.now(UTC), ODDS_API_KEY)


def feed_keys(provider: SeasonProvider) -> set[str]:
    """The curated keys of the provider's games."""
    return {
        game_key(game.game_date, game.home_team, game.away_team, game.game_number)
        for game in provider.games
    }


# --- the load ----------------------------------------------------------------------------------


class Load:
    """Open-loop load: requests leave on their schedule, whatever the earlier ones wait for.

    Senders only POST; each accepted job is handed to a separate pool of waiters that
    long-poll it to its end. A slow job therefore never delays the next submission, and
    latencies are measured from the moment a request was due (``scheduled``), so a
    submission the client could not send on time (every sender busy) counts its lateness
    too rather than hiding it. A result's latency is the job's ``finished_at`` (the server's
    clock, this machine's) minus that moment, so a waiter that came late does not add to it.
    """

    SENDERS = 64
    WAITERS = 256

    def __init__(self, stack: Stack, record: Record, game_ids: list[int], season: int) -> None:
        self.stack = stack
        self.record = record
        self.game_ids = game_ids
        self.season = season
        self.stopping = threading.Event()
        self.senders = ThreadPoolExecutor(max_workers=self.SENDERS, thread_name_prefix="send")
        self.waiters = ThreadPoolExecutor(max_workers=self.WAITERS, thread_name_prefix="wait")
        self.local = threading.local()
        self.placed: set[int] = set()  # games this soak has bet on

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def schedule(self, kind: str, path: str, body: dict) -> None:
        """Hand one request, due now, to the senders."""
        due = Due(self.record.elapsed(), time.monotonic(), time.time())
        self.senders.submit(self.submit, kind, path, body, due)

    def submit(self, kind: str, path: str, body: dict, due: "Due") -> None:
        url = f"{self.stack.api_url}/api/v1/{path}"
        lag_ms = (time.monotonic() - due.monotonic) * 1000
        try:
            # A connection of its own: a sender's kept-alive one sits idle for seconds between
            # its sends, and the server closing it just as a POST leaves lost that POST (seen
            # as "no answer"; a POST is not retried).
            response = requests.post(url, json=body, timeout=30)
            status = response.status_code
        except requests.RequestException as error:
            self.record.add(Request(due.at, kind, 0, due.ms(), None, None, type(error).__name__,
                                    lag_ms))  # fmt: skip
            return
        request = Request(due.at, kind, status, due.ms(), send_lag_ms=lag_ms)
        if status != 202:
            request.error = response.text[:200]
            self.record.add(request)
            return
        self.waiters.submit(self.finish, request, response.json()["job_id"], due)

    def finish(self, request: "Request", job_id: str, due: "Due") -> None:
        job = self.wait(job_id, due.monotonic)
        request.job_status = job.get("status", "unfinished")
        finished_at = job.get("finished_at")
        if finished_at:
            ended = datetime.fromisoformat(finished_at.replace("Z", "+00:00")).timestamp()
            request.result_ms = max(0.0, (ended - due.wall) * 1000)
        else:
            request.result_ms = due.ms()
        if request.job_status != "succeeded":
            request.error = job.get("error") or job.get("poll_error")
        self.record.add(request)

    def wait(self, job_id: str, begun: float) -> dict:
        url = f"{self.stack.api_url}/api/v1/jobs/{job_id}"
        last: dict = {}
        while time.monotonic() - begun < JOB_TIMEOUT_SECONDS:
            try:
                response = self.session().get(url, params={"wait": 10}, timeout=40)
                if response.status_code == 200:
                    last = response.json()
                    if last["status"] in FINISHED:
                        return last
                else:
                    last = {**last, "poll_error": f"poll {response.status_code}"}
                    self.record.add_poll_error(response.status_code)
                    time.sleep(1)
            except requests.RequestException as error:
                last = {**last, "poll_error": type(error).__name__}
                self.record.add_poll_error(0)
                time.sleep(1)
        return {**last, "status": "unfinished"}

    def singles(self, rate: float) -> None:
        interval = 1 / rate
        next_at = time.monotonic()
        while not self.stopping.is_set():
            self.schedule("single", "predict", {"game_id": random.choice(self.game_ids)})
            next_at += interval
            time.sleep(max(0.0, next_at - time.monotonic()))

    def batches(self, every: float) -> None:
        while not self.stopping.wait(every):
            self.schedule("batch", "predict/batch", {"season": self.season})

    def drain(self) -> None:
        """Wait for every request sent and then for every job waited on."""
        self.senders.shutdown(wait=True)
        self.waiters.shutdown(wait=True)

    def bets(self, provider: SeasonProvider) -> None:
        """A user bet on every game of this soak's feed once the schedule feed stored it."""
        keys = feed_keys(provider)
        dates = sorted({game.game_date for game in provider.games})
        while not self.stopping.wait(30):
            for day in dates:
                with contextlib.suppress(requests.RequestException, ValueError, KeyError):
                    response = self.session().get(
                        f"{self.stack.api_url}/api/v1/games",
                        params={"date": day.isoformat()}, timeout=30,
                    )  # fmt: skip
                    if response.status_code != 200:  # a 503 in an outage: the next round
                        continue
                    for game in response.json():
                        if game["id"] in self.placed or game["game_key"] not in keys:
                            continue
                        at = self.record.elapsed()
                        begun = time.monotonic()
                        answer = self.session().post(
                            f"{self.stack.api_url}/api/v1/bets",
                            json={"game_id": game["id"], "market": "home_ml",
                                  "side": "home", "odds": -110, "stake": 10},
                            timeout=30,
                        )  # fmt: skip
                        ms = (time.monotonic() - begun) * 1000
                        self.record.add(Request(at, "bet", answer.status_code, ms))
                        if answer.status_code == 201:
                            self.placed.add(game["id"])

    def feed_state(self, provider: SeasonProvider) -> dict:
        """What the provider was asked, and this soak's bets by status (a stack may hold an
        earlier soak's bets on the same dates)."""
        state: dict = {"at": self.record.elapsed(), "provider_requests": dict(provider.requests)}
        statuses: Counter = Counter()
        with contextlib.suppress(requests.RequestException, ValueError):
            for day in sorted({game.game_date for game in provider.games}):
                response = self.session().get(
                    f"{self.stack.api_url}/api/v1/bets",
                    params={"origin": "user", "date": day.isoformat(), "page_size": 100},
                    timeout=30,
                )  # fmt: skip
                if response.status_code != 200:
                    return state
                statuses.update(b["status"] for b in response.json() if b["game_id"] in self.placed)
            state["bets"] = dict(statuses)
        return state


# --- the run -----------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="how long the load runs")
    parser.add_argument("--rate", type=float, default=5.0, help="single predictions a second")
    parser.add_argument("--batch-every", type=float, default=60.0, help="seconds between batches")
    parser.add_argument("--batch-season", type=int, help="the batch's season (the sample's latest)")
    parser.add_argument("--fault-every", type=float, default=10.0, help="minutes between faults")
    parser.add_argument("--broker-down", type=float, default=60.0,
                        help="seconds the broker stays down in its fault")  # fmt: skip
    parser.add_argument("--sample-every", type=float, default=15.0, help="seconds between samples")
    parser.add_argument("--table-every", type=float, default=5.0, help="minutes a table row spans")
    parser.add_argument("--feed-games", type=int, default=12, help="games the feed provider lists")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="where the results go")
    parser.add_argument("--report", type=Path, help="only report again from a soak.json")
    args = parser.parse_args()
    if args.report:
        report_again(args)
        return

    started = datetime.now(UTC)
    taken = frozenset(json.loads(FEED_KEYS.read_text())) if FEED_KEYS.exists() else frozenset()
    provider = feed_provider(args.feed_games, started, args.minutes, taken)
    FEED_KEYS.parent.mkdir(parents=True, exist_ok=True)
    FEED_KEYS.write_text(json.dumps(sorted(taken | feed_keys(provider))))
    server = ProviderServer(provider).start()
    stack = Stack(VAR_DIR, server.url)
    stack.broker_down = args.broker_down
    record = Record()
    pg_settings: dict = {}
    print(
        f"starting the stack under {VAR_DIR.relative_to(REPO)} (a first start trains)", flush=True
    )
    try:
        stack.start()
        season, game_ids = stored_games(stack, args.batch_season)
        print(f"up: API {stack.api_url}; {len(game_ids)} games of {season}; load for "
              f"{args.minutes:g} min at {args.rate:g}/s", flush=True)  # fmt: skip
        record = Record()
        load = Load(stack, record, game_ids, season)
        threads = [
            threading.Thread(target=load.singles, args=(args.rate,), daemon=True),
            threading.Thread(target=load.batches, args=(args.batch_every,), daemon=True),
            threading.Thread(target=load.bets, args=(provider,), daemon=True),
        ]
        for thread in threads:
            thread.start()
        run_faults_and_samples(stack, load, record, args, provider)
        load.stopping.set()
        print("load stopped; waiting for the jobs in flight", flush=True)
        load.drain()
        record.feeds.append(load.feed_state(provider))
        with contextlib.suppress(Exception):  # a report without them rather than none
            pg_settings = stack.pg_settings()
    finally:
        stack.stop()
        server.stop()
    args.output.mkdir(parents=True, exist_ok=True)
    # What was recorded, first: a report that fails can be made again from it (--report).
    raw = {
        "args": {k: str(v) for k, v in vars(args).items()},
        "requests": [vars(r) for r in record.requests],
        "samples": record.memory,
        "faults": record.faults,
        "feeds": record.feeds[-1] if record.feeds else {},
        "poll_errors": record.poll_errors,
        "postgres_settings": pg_settings,
    }
    (args.output / "soak.json").write_text(json.dumps(raw, default=str))
    results = summarize(record, args, pg_settings)
    (args.output / "soak.json").write_text(json.dumps(results, indent=2, default=str))
    plot(results, args.output)
    print_report(results)
    print(f"wrote {args.output / 'soak.json'}, soak.png and soak.svg")


def report_again(args: argparse.Namespace) -> None:
    """The table, goals and plot of a finished soak, from its ``soak.json``."""
    saved = json.loads(args.report.read_text())
    for name in ("minutes", "table_every"):
        setattr(args, name, float(saved["args"][name]))
    record = Record(
        requests=saved["requests"], memory=saved["samples"], faults=saved["faults"],
        feeds=[saved["feeds"]], poll_errors=_poll_error_events(saved),
    )  # fmt: skip
    results = summarize(record, args, saved.get("postgres_settings", {}))
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / "soak.json").write_text(json.dumps(results, indent=2, default=str))
    plot(results, args.output)
    print_report(results)


def _poll_error_events(saved: dict) -> list[dict]:
    """The job polls not answered 200: the raw record's list, or a report's counts."""
    if "poll_error_events" in saved:
        return saved["poll_error_events"]
    errors = saved.get("poll_errors", [])
    if isinstance(errors, dict):  # a report's counts by status, without their times
        return [{"status": int(code)} for code, n in errors.items() for _ in range(n)]
    return errors


def stored_games(stack: Stack, season: int | None) -> tuple[int, list[int]]:
    from sqlalchemy import select

    from app.db.session import session_scope
    from app.games.models import Game

    with session_scope(stack.database_url()) as session:
        # Not the latest stored season: the feed's games of today are stored in theirs.
        season = season or sample_season()
        ids = list(session.scalars(select(Game.id).where(Game.season == season)))
    return season, ids


def run_faults_and_samples(
    stack: Stack, load: Load, record: Record, args: argparse.Namespace, provider: SeasonProvider
) -> None:
    end = args.minutes * 60
    fault_at = [
        args.fault_every * 60 * k for k in range(1, int(args.minutes // args.fault_every) + 1)
    ]
    fault_at = [moment for moment in fault_at if moment < end]
    next_sample = 0.0
    while (now := record.elapsed()) < end:
        if now >= next_sample:
            sample_memory(stack, record)
            record.feeds.append(load.feed_state(provider))
            next_sample += args.sample_every
        if fault_at and now >= fault_at[0]:
            fault_at.pop(0)
            inject(stack, record, FAULTS[len(record.faults) % len(FAULTS)])
        time.sleep(0.5)
    sample_memory(stack, record)


def sample_memory(stack: Stack, record: Record) -> None:
    row: dict = {"at": record.elapsed()}
    with contextlib.suppress(Exception):  # supervisord's states: was any component given up?
        row["states"] = stack.supervisor.states()
    for name, pid in stack.component_pids().items():
        row[name] = tree_memory(pid, PG_SEGMENT if name == "postgres" else None)
    if "postgres" in row:
        shared = row["postgres"]["segment_pss_mb"]
        row["pg-shared"] = {"pss_mb": shared}
        row["pg-private"] = {"pss_mb": round(row["postgres"]["pss_mb"] - shared, 1)}
    record.memory.append(row)


def inject(stack: Stack, record: Record, fault: str) -> None:
    actions: dict[str, Callable[[], str]] = {
        "pool child killed": stack.kill_pool_child,
        "worker main killed": stack.kill_worker_main,
        "broker restarted": stack.restart_broker,
        "PostgreSQL restarted": stack.restart_postgres,
    }
    at = record.elapsed()
    print(f"[{at / 60:5.1f} min] fault: {fault}", flush=True)
    try:
        detail = actions[fault]()
    except Exception as error:
        detail = f"not injected: {error!r}"
    begun = time.monotonic()
    probes: Counter = Counter()
    while time.monotonic() - begun < READY_AFTER_FAULT_SECONDS:
        probes[status := stack.ready_status()] += 1
        if status == 200:
            break
        time.sleep(0.5)
    ready = probes[200] > 0
    ready_s = time.monotonic() - begun if ready else None  # None: not ready within the wait
    record.faults.append({
        "at": at, "fault": fault, "detail": detail, "ready_after_s": ready_s,
        # How /health/ready answered meanwhile (0: not within 5 s): a 503 says what is down.
        "ready_probes": {str(code): n for code, n in sorted(probes.items())},
    })  # fmt: skip
    answer = f"200 after {ready_s:.1f} s" if ready else f"not 200 in {READY_AFTER_FAULT_SECONDS} s"
    print(f"           {detail}; /health/ready {answer} {dict(probes)}", flush=True)


# --- the report --------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=1000, method="inclusive")[int(q * 10) - 1]


def window(record_requests: list[dict], start: float, end: float) -> dict:
    inside = [r for r in record_requests if start <= r["at"] < end]
    singles = [r for r in inside if r["kind"] == "single"]
    batches = [r for r in inside if r["kind"] == "batch"]
    enqueue = [r["enqueue_ms"] for r in singles if r["status"] == 202]
    result = [r["result_ms"] for r in singles if r["job_status"] == "succeeded"]
    batch_result = [r["result_ms"] / 1000 for r in batches if r["job_status"] == "succeeded"]
    return {
        "requests": dict(Counter(str(r["status"]) for r in inside)),
        "jobs": dict(Counter(r["job_status"] for r in inside if r["job_status"])),
        "enqueue_p50_ms": percentile(enqueue, 50),
        "enqueue_p99_ms": percentile(enqueue, 99),
        "result_p50_ms": percentile(result, 50),
        "result_p99_ms": percentile(result, 99),
        "batch_p50_s": percentile(batch_result, 50),
    }


def memory_at(memory: list[dict], moment: float, metric: str = "rss_mb") -> dict[str, float]:
    """Each component's memory: the median of the samples of the minute up to ``moment``."""
    near = [row for row in memory if moment - 60 <= row["at"] <= moment] or memory[-1:]
    out = {}
    for name in (*COMPONENTS, *PG_PARTS):
        values = [row[name][metric] for row in near if metric in row.get(name, {})]
        if values:
            out[name] = statistics.median(values)
    out["total"] = sum(value for name, value in out.items() if name in COMPONENTS)
    return out


def megabytes(setting: str) -> float:
    """A PostgreSQL memory setting as SHOW prints it (``128MB``, ``1GB``, ``8kB``) in MB."""
    units = {"kB": 1 / 1024, "MB": 1, "GB": 1024, "TB": 1024**2}
    number = setting.rstrip("kMGTB")
    return float(number) * units[setting[len(number) :]]


def given_up(memory: list[dict]) -> list[str]:
    """The components that supervisord gave up (FATAL) in any sample."""
    return sorted(
        {
            name
            for row in memory
            for name, state in row.get("states", {}).items()
            if state == "FATAL"
        }
    )


def shared_within(memory: list[dict], size: str | None) -> bool:
    """Whether the resident part of PostgreSQL's shared segment never passed its size."""
    peak = max((row["pg-shared"]["pss_mb"] for row in memory if "pg-shared" in row), default=0)
    return size is not None and peak <= megabytes(size)


def summarize(record: Record, args: argparse.Namespace, pg_settings: dict) -> dict:
    requests_ = [r if isinstance(r, dict) else vars(r) for r in record.requests]
    end = args.minutes * 60
    span = args.table_every * 60
    rows = []
    start = 0.0
    while start < end:
        row = {"from_min": start / 60, "to_min": min(start + span, end) / 60,
               **window(requests_, start, start + span)}  # fmt: skip
        row["memory_mb"] = memory_at(record.memory, min(start + span, end))
        row["pss_mb"] = memory_at(record.memory, min(start + span, end), "pss_mb")
        rows.append(row)
        start += span
    first, last = window(requests_, 0, 600), window(requests_, end - 600, end)
    memory = {
        metric: {
            "start": memory_at(record.memory, 60, metric),
            "10_min": memory_at(record.memory, 600, metric),
            "end": memory_at(record.memory, end, metric),
        }
        for metric in ("rss_mb", "pss_mb")
    }
    for figures in memory.values():
        figures["growth_after_10_min"] = {
            name: (figures["end"][name] / value - 1) if value else None
            for name, value in figures["10_min"].items()
            if name in figures["end"]
        }
    growth = memory["pss_mb"]["growth_after_10_min"]
    statuses = Counter(r["status"] for r in requests_)
    unexplained = [r for r in requests_ if r["job_status"] == "failed" and not r["error"]]
    unfinished = [r for r in requests_ if r["job_status"] not in (None, *FINISHED)]
    server_errors = {s: n for s, n in statuses.items() if s >= 500 and s != 503}
    # The job polls' answers other than 200 count too (the first soak missed two 500s there).
    poll_statuses = Counter(error["status"] for error in record.poll_errors)
    poll_server_errors = {s: n for s, n in poll_statuses.items() if s >= 500 and s != 503}
    goals = {
        "every job ended, a failure with its reason": not unexplained and not unfinished,
        "no 5xx but 503 (submissions and job polls)": not server_errors and not poll_server_errors,
        "/health/ready 200 again after every fault": all(
            fault["ready_after_s"] is not None for fault in record.faults
        ),
        # PostgreSQL's whole PSS includes the shared segment filling up to its size: its
        # private part is held to 10%, its shared part to the segment's size.
        "memory (PSS) after 10 min grows <= 10%": all(
            g is not None and g <= 0.10
            for name, g in growth.items()
            if name not in ("postgres", "pg-shared")
        ),
        "PostgreSQL's shared memory within shared_memory_size": shared_within(
            record.memory, pg_settings.get("shared_memory_size")
        ),
        "no component given up by supervisord (FATAL)": not given_up(record.memory),
        "enqueue p99 last 10 min <= 1.5x first 10": _ratio(last, first, "enqueue_p99_ms"),
        "result p99 last 10 min <= 1.5x first 10": _ratio(last, first, "result_p99_ms"),
    }
    return {
        "args": {k: str(v) for k, v in vars(args).items()},
        "rows": rows,
        "first_10_min": first,
        "last_10_min": last,
        "memory": memory,
        "faults": [{**fault, **fault_cost(requests_, fault["at"])} for fault in record.faults],
        "failed_jobs": Counter(r["error"] for r in requests_ if r["job_status"] == "failed"),
        "server_errors": server_errors,
        "poll_errors": {str(s): n for s, n in poll_statuses.items()},
        "poll_error_events": record.poll_errors,
        "feeds": record.feeds[-1] if record.feeds else {},
        "postgres_settings": pg_settings,
        "states_seen": {
            name: sorted(
                {row["states"][name] for row in record.memory if name in row.get("states", {})}
            )
            for name in {name for row in record.memory for name in row.get("states", {})}
        },
        "goals": goals,
        "samples": record.memory,
        "requests": requests_,
    }


def _ratio(last: dict, first: dict, key: str) -> bool:
    return bool(first[key] and last[key] and last[key] <= 1.5 * first[key])


def fault_cost(requests_: list[dict], at: float) -> dict:
    """What the two minutes after a fault cost: non-2xx answers, failed jobs, worst latency."""
    after = window(requests_, at, at + 120)
    inside = [r for r in requests_ if at <= r["at"] < at + 120 and r["kind"] == "single"]
    worst = max((r["result_ms"] or 0 for r in inside), default=0)
    return {
        "requests_2min": after["requests"],
        "jobs_2min": after["jobs"],
        "worst_single_result_s": round(worst / 1000, 1),
    }


def _fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_report(results: dict) -> None:
    print("\nminutes   requests by status         jobs by status              enqueue ms "
          "p50/p99  result ms p50/p99  batch s  RSS MB: workers  api  pg  redis  "
          "PSS MB: pg-private pg-shared")  # fmt: skip
    for row in results["rows"]:
        memory = row["memory_mb"]
        print(
            f"{row['from_min']:3.0f}-{row['to_min']:<3.0f}  "
            f"{json.dumps(row['requests']):26.26}  {json.dumps(row['jobs']):26.26}  "
            f"{_fmt(row['enqueue_p50_ms'], 1):>6}/{_fmt(row['enqueue_p99_ms'], 1):<7}  "
            f"{_fmt(row['result_p50_ms']):>6}/{_fmt(row['result_p99_ms']):<7}  "
            f"{_fmt(row['batch_p50_s'], 1):>6}  {_fmt(memory.get('worker')):>7}  "
            f"{_fmt(memory.get('api')):>4}  {_fmt(memory.get('postgres')):>4}  "
            f"{_fmt(memory.get('redis')):>5}  "
            f"{_fmt(row['pss_mb'].get('pg-private')):>10} {_fmt(row['pss_mb'].get('pg-shared')):>9}"
        )
    for metric, figures in results["memory"].items():
        print(f"\nmemory ({metric[:3].upper()} MB, with children): start / 10 min / end / "
              "growth after 10 min")  # fmt: skip
        for name in (*COMPONENTS, *PG_PARTS, "total"):
            if name not in figures["end"]:
                continue
            growth = figures["growth_after_10_min"].get(name)
            print(f"  {name:16} {_fmt(figures['start'].get(name)):>6} "
                  f"{_fmt(figures['10_min'].get(name)):>6} {_fmt(figures['end'].get(name)):>6}  "
                  f"{'-' if growth is None else f'{growth:+.1%}'}")  # fmt: skip
    print("\nfaults:")
    for fault in results["faults"]:
        ready = fault["ready_after_s"]
        print(f"  {fault['at'] / 60:5.1f} min {fault['fault']}: ready "
              f"{'NOT within the wait' if ready is None else f'after {ready:.1f} s'}; "
              f"next 2 min: requests {fault['requests_2min']}, "
              f"jobs {fault['jobs_2min']}, "
              f"worst single {fault['worst_single_result_s']} s")  # fmt: skip
    print(f"\nfailed jobs by reason: {dict(results['failed_jobs'])}")
    print(f"job polls not answered 200, by status (0: no answer): {results.get('poll_errors')}")
    print(f"feeds: {results['feeds']}")
    print(f"PostgreSQL: {results['postgres_settings']}")
    print(f"supervisord states seen: {results.get('states_seen', {})}")
    print("\ngoals:")
    for goal, met in results["goals"].items():
        print(f"  {'met   ' if met else 'MISSED'} {goal}")


def plot(results: dict, output: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (mem, pss, lat, counts) = plt.subplots(4, 1, figsize=(11, 14), sharex=True)
    samples = results["samples"]
    for axis, metric, label in ((mem, "rss_mb", "RSS"), (pss, "pss_mb", "PSS")):
        for name in (*COMPONENTS, *(PG_PARTS if metric == "pss_mb" else ())):
            points = [
                (row["at"] / 60, row[name][metric])
                for row in samples
                if metric in row.get(name, {})
            ]
            if points:
                axis.plot(*zip(*points, strict=True), label=name)
        axis.set_ylabel(f"{label} with children (MB)")
        axis.legend(loc="upper left", ncol=4, fontsize=8)
    mem.set_title("Bullpen soak: memory, latency and outcomes over time")
    requests_ = results["requests"]
    minutes = int(max((r["at"] for r in requests_), default=0) // 60) + 1
    per_minute = [window(requests_, m * 60, (m + 1) * 60) for m in range(minutes)]
    xs = [m + 0.5 for m in range(minutes)]
    for key, label in (("enqueue_p99_ms", "enqueue p99"), ("result_p99_ms", "result p99"),
                       ("result_p50_ms", "result p50")):  # fmt: skip
        lat.plot(xs, [row[key] or float("nan") for row in per_minute], label=label)
    lat.set_yscale("log")
    lat.set_ylabel("single prediction (ms)")
    lat.legend(loc="upper left", fontsize=8)
    statuses = sorted({s for row in per_minute for s in row["requests"]})
    for status in statuses:
        counts.plot(xs, [row["requests"].get(status, 0) for row in per_minute],
                    label=f"HTTP {status}")  # fmt: skip
    counts.plot(xs, [row["jobs"].get("failed", 0) for row in per_minute], label="jobs failed")
    counts.set_ylabel("per minute")
    counts.set_xlabel("minutes")
    counts.legend(loc="upper left", fontsize=8)
    for axis in (mem, pss, lat, counts):
        for fault in results["faults"]:
            axis.axvline(fault["at"] / 60, color="grey", linestyle=":", linewidth=1)
    for fault in results["faults"]:
        mem.annotate(fault["fault"], (fault["at"] / 60, mem.get_ylim()[1]), fontsize=7,
                     rotation=90, va="top", ha="right")  # fmt: skip
    fig.tight_layout()
    fig.savefig(output / "soak.png", dpi=110)
    fig.savefig(output / "soak.svg")
    plt.close(fig)


if __name__ == "__main__":
    main()
