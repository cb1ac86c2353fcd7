"""Benchmark ingesting the shared data into an empty database.

Each run creates a fresh, migrated database, then ingests the ten SBRO workbooks, the ten
Retrosheet game logs and the 2016 line history (in that order, one transaction per source)
and times each. Prints every run and the medians. Target: workbooks + logs <= 60 s.

Usage: ``.venv/bin/python bench/bench_ingest.py [DATA_DIR] [--runs N]`` (default
``../shared/data``, 3 runs). Uses the server of ``BULLPEN_DATABASE_URL`` when set, else an
embedded PostgreSQL in a temporary folder. Only the benchmark's own databases are touched.
"""

import argparse
import os
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from app.db.migrate import upgrade
from app.db.session import dispose_engines, session_scope
from app.ingest.sources import ingest
from app.stack.embedded import EmbeddedStack

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"


def one_run(server_url: str, data: Path) -> dict[str, float]:
    name = f"bullpen_bench_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    timings: dict[str, float] = {}
    try:
        upgrade(url)
        steps = [
            ("sbro (10 workbooks)", "sbro", sorted((data / "sbro").glob("mlb-odds-*.xlsx"))),
            ("retrosheet (10 logs)", "retrosheet", sorted((data / "retrosheet").glob("GL*"))),
            ("lines (2016 pair)", "lines", [data / "pinnacle"]),
        ]
        for label, source, paths in steps:
            started = time.perf_counter()
            with session_scope(url) as session:
                reports = ingest(session, source, paths)
            timings[label] = time.perf_counter() - started
            assert not any(report.skipped_unchanged for report in reports)
    finally:
        dispose_engines()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
    timings["sbro + retrosheet"] = timings["sbro (10 workbooks)"] + timings["retrosheet (10 logs)"]
    timings["total"] = sum(timings[label] for label, _, _ in steps)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if not (args.data / "sbro").is_dir():
        print(f"no shared data at {args.data}: skipped")
        return
    stack = None
    server_url = os.environ.get("BULLPEN_DATABASE_URL")
    if not server_url:
        stack = EmbeddedStack(Path(tempfile.mkdtemp(prefix="bullpen-bench-")))
        server_url = stack.start(need_redis=False)["BULLPEN_DATABASE_URL"]
    try:
        runs = []
        for number in range(1, args.runs + 1):
            timings = one_run(server_url, args.data)
            runs.append(timings)
            print(f"run {number}: " + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items()))
        print(f"median of {len(runs)} runs (seconds):")
        for label in runs[0]:
            print(f"  {label:<22} {statistics.median(run[label] for run in runs):6.1f}")
    finally:
        if stack is not None:
            stack.stop()


if __name__ == "__main__":
    main()
