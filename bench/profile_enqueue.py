"""Where one enqueue's time goes: ``POST /api/v1/predict {"game_id"}`` timed layer by layer.

The API app runs in this process (Flask's test client: no HTTP server, no socket to the
API) against the installation the environment names, e.g. one made by ``bullpen init``::

    BULLPEN_DATABASE_URL=... BULLPEN_BROKER_URL=... BULLPEN_FEATURE_STORE_URL=... \\
    MLFLOW_TRACKING_URI=... .venv/bin/python bench/profile_enqueue.py

Each layer's function is wrapped with a clock (a profiler would slow the many small calls
of Flask and marshmallow far more than the few I/O calls, and misplace the time). It prints
the p50 of ``--requests`` submissions and the median time per request of each layer: the
job's INSERT (one autocommit statement holding the game's existence check and the commit),
the publish to the broker, the connection pool's checkout (the closed-connection check
included), and the rest (Flask, flask-smorest's argument parsing and response dump). The jobs it
makes are queued to the ``predict`` queue: run it with no worker consuming, on a scratch
installation.
"""

import argparse
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import sqlalchemy.engine
import sqlalchemy.pool
from sqlalchemy import text

from app.config import Settings
from app.db.session import session_scope
from workers.api import create_api
from workers.dispatch import CeleryJobQueue

# Layer -> (owner, attribute) of the function whose time it is.
LAYERS: dict[str, tuple[Any, str]] = {
    # One autocommit statement: the game's existence check and the durable commit in it.
    "job INSERT (existence check, COMMIT)": (sqlalchemy.engine.Connection, "execute"),
    "publish (Celery send_task)": (CeleryJobQueue, "send"),
    "pool checkouts (liveness check included)": (sqlalchemy.pool.Pool, "connect"),
}

spent: dict[str, float] = defaultdict(float)


def _clocked(layer: str, function: Callable) -> Callable:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return function(*args, **kwargs)
        finally:
            spent[layer] += time.perf_counter() - start

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    args = parser.parse_args()
    settings = Settings.from_env()
    client = create_api(settings).test_client()
    with session_scope(settings.database_url) as session:
        game_id = session.scalar(text("SELECT id FROM games ORDER BY id LIMIT 1"))
    for layer, (owner, name) in LAYERS.items():
        setattr(owner, name, _clocked(layer, getattr(owner, name)))

    per_request: dict[str, list[float]] = defaultdict(list)
    for index in range(50 + args.requests):  # the first 50 warm connections and caches
        spent.clear()
        start = time.perf_counter()
        response = client.post("/api/v1/predict", json={"game_id": game_id})
        total = time.perf_counter() - start
        assert response.status_code == 202, response.get_data(as_text=True)
        if index >= 50:
            per_request["whole request"].append(total)
            for layer in LAYERS:
                per_request[layer].append(spent[layer])
            # Nested layers (a checkout inside the existence check) are not subtracted twice.
            own = spent["job INSERT (existence check, COMMIT)"]
            own += spent["publish (Celery send_task)"]
            per_request["the rest (Flask, schemas, session)"].append(total - own)
    print(f"POST /api/v1/predict in process, {args.requests} requests: median ms per request")
    for layer, values in per_request.items():
        print(f"  {layer:40s} {statistics.median(values) * 1000:7.2f}")


if __name__ == "__main__":
    main()
