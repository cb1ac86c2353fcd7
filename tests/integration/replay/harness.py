"""`bullpen replay --keep` on the shipped sample, run as its own process, for tests to read.

The replay runs on a stack of its own (its own PostgreSQL, Redis, API and workers); while
the context is open its API answers at ``run["api"]``. Leaving the context stops it with
SIGINT and checks that it stopped cleanly.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import date
from pathlib import Path

START_TIMEOUT = 240
# The week every replay and page test reads (one replay serves them all; tests/integration/
# conftest.py). The calibration gate is opened through the ordinary settings (BULLPEN_MAX_ECE=1)
# so that the champions may price-shop.
FIRST, LAST = date(2019, 4, 1), date(2019, 4, 7)
WEEK_ENV = {"BULLPEN_MAX_ECE": "1"}


@contextmanager
def running_replay(
    sample_dir: Path,
    first: date,
    last: date,
    env: Mapping[str, str] | None = None,
    seasons: tuple[int, ...] | None = None,
) -> Iterator[dict]:
    """The replay of ``first``..``last`` (its season: ``first``'s year) kept running: its API
    URL, JSON, output, folder. The data folder links the files of ``sample_dir`` (and its
    subfolders) of ``seasons`` (default every one), the line histories among them."""
    root = Path(tempfile.mkdtemp(prefix="bullpen-replay-test-"))
    data = root / "data"
    patterns = (
        ("sbro", "mlb-odds-{}.xlsx"), ("retrosheet", "GL{}.TXT.gz"),
        ("pinnacle", "MLB{}_games.csv"), ("pinnacle", "MLB{}_lines.csv.gz"),
    )  # fmt: skip
    for folder, pattern in patterns:
        (data / folder).mkdir(parents=True, exist_ok=True)
        for season in seasons or ("*",):
            name = pattern.format(season)
            for path in {*sample_dir.glob(name), *sample_dir.glob(f"*/{name}")}:
                (data / folder / path.name).symlink_to(path)
    json_path = root / "replay.json"
    environment = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("BULLPEN_", "MLFLOW_"))},
        "BULLPEN_VAR_DIR": str(root / "var"),
        **(env or {}),
    }
    command = [
        sys.executable, "-m", "app.cli", "replay", "--season", str(first.year), "--data", str(data),
        "--from", first.isoformat(), "--to", last.isoformat(), "--json", str(json_path), "--keep",
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    api = None
    deadline = time.monotonic() + START_TIMEOUT
    try:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("replay API: "):
                api = line.split(": ", 1)[1].strip()
                break
            assert time.monotonic() < deadline, "".join(lines)
        assert api is not None, "".join(lines)
        yield {"api": api, "report": json.loads(json_path.read_text()), "output": lines,
               "root": root}  # fmt: skip
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=60)
        lines.append(rest)
        assert process.returncode == 0, "".join(lines)
        assert "stopping the replay stack" in rest
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        shutil.rmtree(root, ignore_errors=True)
