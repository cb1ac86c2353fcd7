"""Seasons with results but no odds archive: games curated per season, and what a later
season's game gains from them.

    python bench/results_only_seasons.py DATA_DIR [--json PATH]

DATA_DIR is shaped like the shared data (``sbro/mlb-odds-YYYY.xlsx``, ``retrosheet/
GLYYYY.TXT.gz``). Runs on the embedded stack of a var folder of its own (``var/bench-results-
only/``, emptied first). Two measurements:

1. Every workbook and log of DATA_DIR ingested, then three later seasons with results only:
   the logs of the last three seasons moved three years on (``tests/gamelogs.py``: a copy by
   field meaning, dates moved; a stand-in for logs of seasons the data does not have). The
   quality report's games per season and by source.
2. A game of the season after the last log, fed through the schedule feed as the provider
   shapes it (real teams and starters of that log's season), its features computed with no
   history, then again once the last log alone (no odds) is ingested.
"""

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.cli.common import resolved_settings  # noqa: E402
from app.db.session import session_scope  # noqa: E402
from app.features.definitions import FEATURE_SET  # noqa: E402
from app.features.refresh import refresh_features  # noqa: E402
from app.feeds.run import pull_schedule  # noqa: E402
from app.ingest.quality import quality_report  # noqa: E402
from app.ingest.sources import ingest  # noqa: E402
from tests.gamelogs import opener_schedule, shifted_game_log  # noqa: E402

VAR = ROOT / "var" / "bench-results-only"
SHOWN = (
    "home_win_rate", "home_pythag", "home_games_played", "home_home_win_rate",
    "away_win_rate", "away_pythag", "away_away_win_rate", "h2h_games", "h2h_home_win_rate",
    "home_sp_starts", "home_sp_runs_allowed_per_start", "home_sp_team_win_rate",
    "home_sp_win_credit_share", "away_sp_starts", "away_sp_runs_allowed_per_start",
    "away_sp_team_win_rate", "away_sp_win_credit_share",
)  # fmt: skip


class Captured:
    """A feature writer that keeps what it is given (the store's ``put_many``)."""

    feature_set = FEATURE_SET

    def __init__(self) -> None:
        self.rows: dict[int, np.ndarray] = {}

    def put_many(self, features: dict[int, np.ndarray]) -> int:
        self.rows.update(features)
        return len(features)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    shutil.rmtree(VAR, ignore_errors=True)
    os.environ["BULLPEN_VAR_DIR"] = str(VAR)
    for name in ("BULLPEN_DATABASE_URL", "BULLPEN_BROKER_URL", "BULLPEN_FEATURE_STORE_URL"):
        os.environ.pop(name, None)
    logs = sorted((args.data / "retrosheet").glob("GL*.TXT.gz"))
    workbooks = sorted((args.data / "sbro").glob("mlb-odds-*.xlsx"))
    out: dict = {}
    with resolved_settings() as settings:
        url = settings.database_url
        # 2. first, on the empty database: the later season's opener without, then with history.
        last_log = logs[-1]
        response = VAR / "opener.json"
        response.write_text(json.dumps(opener_schedule(last_log)))
        run = pull_schedule(settings, from_file=response)
        (game_id,) = run.reports[0].games_created
        measured = {}
        for case in ("without", "with"):
            if case == "with":
                with session_scope(url) as session:
                    (report,) = ingest(session, "retrosheet", [last_log])
                print(report.summary())
            store = Captured()
            with session_scope(url) as session:
                refresh_features(session, store, game_ids=[game_id])
            row = dict(zip(FEATURE_SET.names, store.rows[game_id].tolist(), strict=True))
            measured[case] = {name: row[name] for name in SHOWN}
        out["opener"] = {"log": last_log.name, "features": measured}
        print(f"\nA {int(last_log.name[2:6]) + 1} opener fed by the schedule feed, features:")
        print(f"| feature | no {last_log.name[2:6]} results | {last_log.name} ingested alone |")
        print("|---|---|---|")
        for name in SHOWN:
            without, with_ = measured["without"][name], measured["with"][name]
            print(f"| {name} | {_fmt(without)} | {_fmt(with_)} |")

        # 1. every workbook and log, then three later seasons with results only.
        started = time.perf_counter()
        with session_scope(url) as session:
            ingest(session, "sbro", workbooks)
        with session_scope(url) as session:
            ingest(session, "retrosheet", [log for log in logs if log != last_log])
        later = [shifted_game_log(log, 3, VAR / "later") for log in logs[-3:]]
        with session_scope(url) as session:
            for report in ingest(session, "retrosheet", later):
                print(report.summary())
        with session_scope(url) as session:
            seasons = quality_report(session)
        out["ingest_seconds"] = round(time.perf_counter() - started, 1)
        out["seasons"] = {
            report["season"]: {
                "games": report["games_curated"],
                "regular": report["regular_season_games"],
                "postseason": report["postseason_games"],
                "with_prices": report["games_with_prices"],
                "by_source": report["games_by_source"],
            }
            for report in seasons
        }
    print("\n| season | games | regular / postseason | with prices | by source |")
    print("|---|---|---|---|---|")
    for season, row in out["seasons"].items():
        sources = ", ".join(f"{name} {n}" for name, n in row["by_source"].items())
        print(
            f"| {season} | {row['games']} | {row['regular']} / {row['postseason']} |"
            f" {row['with_prices']} | {sources} |"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2))


def _fmt(value: float) -> str:
    return "missing" if value != value else f"{value:.4g}"


if __name__ == "__main__":
    main()
