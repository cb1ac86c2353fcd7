"""``bullpen replay``: a past season day by day through the running system.

1. Training: the seasons before Y found in the data directory are ingested with the normal
   ingest code, their features computed, and a champion trained per target.
2. Day D (the replay clock, ``app/clock.py``, set for the system and the provider alike):
   - :data:`MORNING` UTC: the schedule and odds feeds pull D from the provider (games,
     probable pitchers, opening odds); D's features are refreshed; ONE batch prediction job
     for D goes through the REST API (``POST /api/v1/predict/batch {"date": D}``), which
     records the served bets;
   - at D's last first pitch: the pre-game odds pull (closing quotes, stamped before first
     pitch);
   - :data:`app.replay.provider.FINAL_AFTER` after D's last first pitch: the schedule pull
     with D's finals, settlement of the games that became final (CLV against the bet's book
     and against the sharp books' close), and the strategies' review.
3. The live metrics, read from the API: ``/api/v1/models/{name}/performance?source=live``
   per target and ``/api/v1/bankroll``; the served bets' CLV against the sharp close (mean,
   t clustered by date, a bootstrap interval over dates) and ROI with its interval, from the
   ledger; the arbitrages ``/api/v1/arbitrage`` showed at each morning's decision.
"""

import time as clock_time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import requests
from sqlalchemy import func, select

from app.bets.models import Bet
from app.bets.reports import cluster_bootstrap_ratio, clustered_mean
from app.bets.settlement import settle_then_review
from app.bets.strategies import configured, describe
from app.clock import set_clock
from app.config import Settings
from app.db.session import session_scope
from app.features.refresh import refresh_features
from app.feeds.run import FeedRun, pull_odds, pull_schedule
from app.games.models import Game
from app.ingest.sources import ingest
from app.markets import TARGETS
from app.ml.models import Prediction
from app.ml.predict import open_feature_store
from app.ml.train import train_targets
from app.replay.provider import FINAL_AFTER, ProviderServer, SeasonProvider
from app.replay.season import ReplayGame, load_season, training_files
from app.replay.stack import ODDS_API_KEY, ReplayStack

MORNING = time(13, 0)  # UTC: after the opening quotes (12:00 UTC), before any first pitch
JOB_TIMEOUT_SECONDS = 600
TERMINAL = ("succeeded", "failed", "cancelled")

Say = Callable[[str], None]


class ReplayError(RuntimeError):
    """The replay cannot go on (one clear line)."""


@dataclass
class DayResult:
    """What one replayed day did."""

    day: date
    games: int
    predictions: int
    bets: int
    graded: int
    job_id: str
    finals_at: datetime  # replay clock when D's finals were pulled
    arbitrages: int = 0  # the arbitrages the API showed at the morning's decision
    timings: dict[str, float] = field(default_factory=dict)

    def line(self) -> str:
        return (
            f"{self.day}: {self.games} games, {self.predictions} predictions, "
            f"{self.bets} bets, {self.graded} graded"
        )


class ReplayClock:
    """The replay's time: one value, shared by the provider and (through Redis) the system."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.moment = datetime(1970, 1, 1, tzinfo=UTC)

    def set(self, moment: datetime) -> None:
        self.moment = moment
        set_clock(self.url, moment)

    def __call__(self) -> datetime:
        return self.moment


@dataclass
class Replay:
    """One replay: its season, days, provider, stack and what it did."""

    season: int
    data_dir: Path
    games: list[ReplayGame]
    days: list[date]
    stack: ReplayStack
    provider: SeasonProvider
    server: ProviderServer
    clock: ReplayClock
    results: list[DayResult] = field(default_factory=list)
    profile: Counter = field(default_factory=Counter)

    @property
    def settings(self) -> Settings:
        return self.stack.settings

    @property
    def api(self) -> str:
        return self.stack.api_url

    def stop(self) -> None:
        """Stop the stack and the provider."""
        self.stack.stop()
        self.server.stop()


def replay_days(games: list[ReplayGame], first: date | None, last: date | None) -> list[date]:
    """The dates with games of the replayed window."""
    return sorted(
        {
            game.game_date
            for game in games
            if (first is None or game.game_date >= first)
            and (last is None or game.game_date <= last)
        }
    )


def start_replay(
    base: Settings, season: int, data_dir: Path, first: date | None, last: date | None
) -> Replay:
    """Read the season, start the provider and the replay's own stack (not yet trained)."""
    games = load_season(data_dir, season)
    days = replay_days(games, first, last)
    if not days:
        raise ReplayError(f"no games of {season} between {first or 'start'} and {last or 'end'}")
    clock = ReplayClock("")
    provider = SeasonProvider(games, clock, ODDS_API_KEY)
    server = ProviderServer(provider).start()
    try:
        stack = ReplayStack.start(base, season, server.url)
    except BaseException:
        server.stop()
        raise
    clock.url = stack.settings.clock_url or ""
    return Replay(season, data_dir, games, days, stack, provider, server, clock)


def train(replay: Replay, say: Say) -> None:
    """Ingest the seasons before the replayed one, compute their features, train champions."""
    files = training_files(replay.data_dir, replay.season)
    if not files["sbro"]:
        raise ReplayError(
            f"no odds workbook of a season before {replay.season} under {replay.data_dir}"
        )
    settings = replay.settings
    started = clock_time.perf_counter()
    with session_scope(settings.database_url) as session:
        for source in ("sbro", "retrosheet", "lines"):
            if files[source]:
                reports = ingest(session, source, files[source])
                say(f"ingested {source}: {sum(r.games_curated or 0 for r in reports)} games")
    replay.profile["ingest"] += clock_time.perf_counter() - started
    started = clock_time.perf_counter()
    store = open_feature_store(settings)
    with session_scope(settings.database_url) as session:
        seasons = sorted(
            season
            for (season,) in session.execute(select(Game.season).distinct())
            if season < replay.season
        )
        for season in seasons:
            refresh_features(session, store, season=season)
    replay.profile["features (training)"] += clock_time.perf_counter() - started
    started = clock_time.perf_counter()
    with session_scope(settings.database_url) as session:
        outcomes = train_targets(session, settings, TARGETS, seasons)
    replay.profile["training"] += clock_time.perf_counter() - started
    for outcome in outcomes:
        say(
            f"trained {outcome.model_name} v{outcome.version} on {seasons[0]}-{seasons[-1]}: "
            f"{outcome.decision}"
        )


def run_days(replay: Replay) -> Iterator[DayResult]:
    """Replay every day in order; yield each day's result as it is done."""
    session_http = requests.Session()
    by_day: dict[date, list[ReplayGame]] = {}
    for game in replay.games:
        by_day.setdefault(game.game_date, []).append(game)
    for day in replay.days:
        result = replay_day(replay, session_http, day, by_day[day])
        replay.results.append(result)
        for name, seconds in result.timings.items():
            replay.profile[name] += seconds
        yield result


def _check(run: FeedRun, what: str) -> FeedRun:
    if not run.ok:
        problems = run.errors + [r.refused for r in run.reports if r.refused]
        raise ReplayError(f"{what}: {'; '.join(problems)}")
    return run


def replay_day(
    replay: Replay, http: requests.Session, day: date, games: list[ReplayGame]
) -> DayResult:
    """Morning pulls, features, one prediction job, pre-game odds, finals and settlement."""
    settings, clock = replay.settings, replay.clock
    timings: dict[str, float] = {}

    def timed(name: str, started: float) -> None:
        timings[name] = timings.get(name, 0.0) + clock_time.perf_counter() - started

    # Morning: the day's schedule (probable pitchers) and opening odds arrive.
    clock.set(datetime.combine(day, MORNING, tzinfo=UTC))
    started = clock_time.perf_counter()
    _check(pull_schedule(settings, dates=[day], now=clock), f"{day} schedule")
    _check(pull_odds(settings, day=day, now=clock), f"{day} opening odds")
    timed("feeds", started)
    started = clock_time.perf_counter()
    with session_scope(settings.database_url) as session:
        refresh_features(session, open_feature_store(settings), date=day)
    timed("features", started)
    started = clock_time.perf_counter()
    job = _predict_day(replay.api, http, day)
    timed("prediction job", started)
    arbitrages = http.get(
        f"{replay.api}/api/v1/arbitrage", params={"date": day.isoformat()}, timeout=60
    )
    arbitrages.raise_for_status()

    # Pre-game: the closing quotes; then the finals, and settlement.
    last_pitch = max(game.start_time for game in games)
    clock.set(last_pitch)
    started = clock_time.perf_counter()
    _check(pull_odds(settings, day=day, now=clock), f"{day} closing odds")
    finals_at = last_pitch + FINAL_AFTER
    clock.set(finals_at)
    finals = _check(pull_schedule(settings, dates=[day], now=clock), f"{day} finals")
    timed("feeds", started)
    started = clock_time.perf_counter()
    settled = settle_then_review(settings, finals.became_final, now=finals_at)
    with session_scope(settings.database_url) as session:
        bets = session.scalar(
            select(func.count())
            .select_from(Bet)
            .join(Game, Game.id == Bet.game_id)
            .where(Game.game_date == day)
        )
        stored = session.scalar(select(func.count()).select_from(Game).where(Game.game_date == day))
    timed("settlement", started)
    return DayResult(
        day=day,
        games=int(stored or 0),
        predictions=int(job.get("progress", {}).get("done") or 0),
        bets=int(bets or 0),
        graded=len(settled.graded_bets),
        job_id=job["job_id"],
        finals_at=finals_at,
        arbitrages=len(arbitrages.json()["arbitrages"]),
        timings=timings,
    )


def _predict_day(api: str, http: requests.Session, day: date) -> dict[str, Any]:
    """One batch prediction job for the day through the REST API, waited for."""
    response = http.post(f"{api}/api/v1/predict/batch", json={"date": day.isoformat()}, timeout=30)
    if response.status_code != 202:
        raise ReplayError(f"{day}: predict/batch answered {response.status_code}: {response.text}")
    job = response.json()
    deadline = clock_time.monotonic() + JOB_TIMEOUT_SECONDS
    while job["status"] not in TERMINAL:
        if clock_time.monotonic() > deadline:
            raise ReplayError(f"{day}: prediction job {job['job_id']} did not end")
        job = http.get(f"{api}/api/v1/jobs/{job['job_id']}", params={"wait": 30}, timeout=40)
        job.raise_for_status()
        job = job.json()
    if job["status"] != "succeeded":
        raise ReplayError(f"{day}: prediction job {job['job_id']} {job['status']}: {job['error']}")
    return job


# --- the end: live metrics --------------------------------------------------------------------


def live_report(replay: Replay) -> dict[str, Any]:
    """The CONTRACT's replay summary, from the API's own metrics and the replay's counts."""
    settings = replay.settings
    http = requests.Session()
    targets = {}
    for target in TARGETS:
        name = settings.model_name(target)
        response = http.get(
            f"{replay.api}/api/v1/models/{name}/performance", params={"source": "live"}, timeout=60
        )
        response.raise_for_status()
        body = response.json()["live"]
        targets[target] = {
            "model": body.get("model"),
            "market_open": body.get("market_open"),
            "market_close": body.get("market_close"),
            "n": body.get("n"),
            "n_predictions": body.get("n_predictions"),
            "betting": body.get("betting"),
        }
    first, last = replay.days[0], replay.days[-1]
    bankroll = http.get(f"{replay.api}/api/v1/bankroll", timeout=60)
    bankroll.raise_for_status()
    bankroll_body = bankroll.json()
    summary = bankroll_body["summary"]
    with session_scope(settings.database_url) as session:
        in_window = Game.game_date.between(first, last)
        games = session.scalar(select(func.count()).select_from(Game).where(in_window))
        predictions = session.scalar(
            select(func.count())
            .select_from(Prediction)
            .join(Game, Game.id == Prediction.game_id)
            .where(in_window)
        )
        bets = session.scalar(
            select(func.count())
            .select_from(Bet)
            .join(Game, Game.id == Bet.game_id)
            .where(in_window)
        )
        graded = session.scalar(
            select(func.count())
            .select_from(Bet)
            .join(Game, Game.id == Bet.game_id)
            .where(in_window, Bet.status != "open")
        )
        betting = served_betting(session, first, last)
        strategies = {
            entry["name"]: {
                "state": entry["state"],
                "bets": entry["evidence"]["paper_bets"] + entry["evidence"]["live_bets"],
                "mean_clv": entry["evidence"]["mean_clv"],
                "clv_t": entry["evidence"]["clv_t"],
            }
            for entry in describe(session, configured(settings))
        }
    return {
        "season": replay.season,
        "from": first.isoformat(),
        "to": last.isoformat(),
        "days": len(replay.days),
        "games": int(games or 0),
        "predictions": int(predictions or 0),
        "bets": int(bets or 0),
        "graded": int(graded or 0),
        "targets": targets,
        "betting": betting
        | {
            "arbitrages": sum(result.arbitrages for result in replay.results),
            "max_drawdown": summary.get("max_drawdown"),
            "final_bankroll": summary.get("final_bankroll"),
            "initial_bankroll": summary.get("initial_bankroll"),
            "bankroll_bets": summary.get("bets"),
            "bankroll_roi": summary.get("roi"),
        },
        "strategies": strategies,
        "bankroll_curve": bankroll_body.get("curve", []),
        "days_detail": [
            {
                "date": result.day.isoformat(),
                "games": result.games,
                "predictions": result.predictions,
                "bets": result.bets,
                "graded": result.graded,
                "job_id": result.job_id,
                "arbitrages": result.arbitrages,
                "finals_clock": result.finals_at.isoformat(),
                "finals_first_shown_at": _iso_or_none(
                    replay.provider.first_final_shown.get(result.day)
                ),
            }
            for result in replay.results
        ],
        "clock": {
            "morning_utc": MORNING.isoformat(),
            "finals_after_last_first_pitch_hours": FINAL_AFTER.total_seconds() / 3600,
        },
    }


def served_betting(session: Any, first: date, last: date) -> dict[str, Any]:
    """The served bets of the window (paper and live), from the ledger: how many, graded,
    hit rate, ROI (profit / stakes of won, lost and push) with a 95% interval, and CLV
    against the sharp books' de-vigged close (mean, t clustered by game date, a 95%
    interval), both intervals by bootstrap over game dates (a day's bets move together)."""
    rows = session.execute(
        select(Bet.status, Bet.stake, Bet.profit, Bet.paper, Bet.clv, Bet.sharp_clv, Game.game_date)
        .join(Game, Game.id == Bet.game_id)
        .where(Game.game_date.between(first, last), Bet.prediction_id.is_not(None))
    ).all()
    action = [row for row in rows if row.status in ("won", "lost", "push")]
    decided = [row for row in action if row.status != "push"]
    staked = sum(row.stake for row in action)
    profit = sum(row.profit or 0.0 for row in action)
    sharp = [row for row in rows if row.sharp_clv is not None]
    sharp_clv = np.array([row.sharp_clv for row in sharp], dtype=float)
    sharp_dates = np.array([row.game_date.toordinal() for row in sharp])
    sharp_stats = clustered_mean(sharp_clv, sharp_dates)
    own = np.array([row.clv for row in rows if row.clv is not None], dtype=float)
    return {
        "bets": len(rows),
        "paper_bets": sum(bool(row.paper) for row in rows),
        "graded": sum(row.status != "open" for row in rows),
        "action": len(action),
        "hit_rate": (
            sum(row.status == "won" for row in decided) / len(decided) if decided else None
        ),
        "staked": staked,
        "profit": profit,
        "roi": profit / staked if staked > 0 else None,
        "roi_interval": cluster_bootstrap_ratio(
            np.array([row.profit or 0.0 for row in action]),
            np.array([row.stake for row in action]),
            np.array([row.game_date.toordinal() for row in action]),
        )
        if action
        else None,
        "clv_bets": sharp_stats["n"],
        "mean_clv": sharp_stats["mean"],
        "clv_standard_error": sharp_stats["standard_error"],
        "clv_t": sharp_stats["t"],
        "clv_dates": sharp_stats["clusters"],
        "clv_interval": cluster_bootstrap_ratio(sharp_clv, np.ones(len(sharp)), sharp_dates)
        if len(sharp)
        else None,
        "clv_beat_rate": float(np.mean(sharp_clv > 0)) if len(sharp) else None,
        "clv_against": "the sharp books' de-vigged close",
        "own_book_mean_clv": float(np.mean(own)) if len(own) else None,
        "own_book_clv_bets": len(own),
    }


def _iso_or_none(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def bankroll_png(report: dict[str, Any]) -> bytes:
    """The bankroll curve (end of each settlement day) as a PNG."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curve = report.get("bankroll_curve") or []
    start = report["betting"].get("initial_bankroll")
    figure, axes = plt.subplots(figsize=(8, 4))
    if curve:
        days = [date.fromisoformat(point["date"]) for point in curve]
        values = [point["bankroll"] for point in curve]
        if start is not None:
            days = [days[0] - timedelta(days=1), *days]
            values = [start, *values]
        axes.plot(days, values, drawstyle="steps-post")
    else:
        axes.text(0.5, 0.5, "no settled bets", ha="center", va="center", transform=axes.transAxes)
    axes.set_title(f"Replay {report['season']} ({report['from']} to {report['to']}): bankroll")
    axes.set_ylabel("bankroll")
    figure.autofmt_xdate()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(figure)
    return buffer.getvalue()


def log_replay(settings: Settings, report: dict[str, Any], png: bytes) -> str:
    """One MLflow run (tag ``kind=replay``) with the replay's metrics and the bankroll PNG."""
    import mlflow

    from app.ml.registry import EXPERIMENT_NAME
    from app.ml.registry import client as mlflow_client
    from app.ml.train import flat_metrics, log_png

    mlflow_client(settings)
    mlflow.set_experiment(EXPERIMENT_NAME)
    with mlflow.start_run(run_name=f"replay-{report['season']}") as run:
        mlflow.set_tags({"kind": "replay", "season": str(report["season"])})
        mlflow.log_params({"from": report["from"], "to": report["to"], "days": report["days"]})
        metrics = {
            key: float(report[key]) for key in ("games", "predictions", "bets", "graded")
        } | flat_metrics("betting", {"betting": report["betting"]})
        for target, values in report["targets"].items():
            sections = {k: v for k, v in values.items() if isinstance(v, dict)}
            metrics |= flat_metrics(target, sections)
        mlflow.log_metrics(metrics)
        log_png(mlflow, png, f"replay-{report['season']}-bankroll.png")
        return run.info.run_id
