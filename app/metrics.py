"""The Prometheus metrics of the CONTRACT, read at scrape time from where the truth lives.

Jobs, predictions, bets and feed runs are rows in PostgreSQL and the queues are lists in the
broker's Redis, so every API process reports the same numbers without a multi-process
registry: a scrape runs a handful of aggregate queries. Counters (``*_total``) count rows by
their current state; a job's row moves from ``queued`` to ``running`` to its end, so only
the terminal statuses of ``bullpen_jobs_total`` only ever grow.
"""

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from sqlalchemy import Float, cast, func, select
from sqlalchemy.orm import Session

from app.bets.models import Bet
from app.ingest.models import IngestedFile
from app.jobs.models import Job
from app.markets import MARKETS
from app.ml.models import Prediction

# Seconds: a single prediction takes tens of milliseconds, a training several minutes.
JOB_DURATION_BUCKETS: tuple[float, ...] = (
    0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 1800.0,
)  # fmt: skip
FEEDS: Mapping[str, str] = {"schedule": "schedule_feed", "odds": "odds_feed"}


@dataclass(frozen=True)
class MetricSources:
    """Where a scrape reads from: a session factory, queue lengths and champion versions."""

    session: Callable[[], Session]
    queue_lengths: Callable[[], Mapping[str, int]]
    champion_versions: Callable[[], Mapping[str, str | None]]


class BullpenCollector(Collector):
    """Collects every ``bullpen_*`` metric of the CONTRACT on each scrape."""

    def __init__(self, sources: MetricSources) -> None:
        self.sources = sources

    def collect(self) -> Iterator[Metric]:
        with self.sources.session() as session:
            yield jobs_total(session)
            yield job_durations(session)
            yield predictions_total(session)
            yield bets_total(session)
            yield feed_last_success(session)
        yield queue_depth(self.sources.queue_lengths())
        yield champion_version(self.sources.champion_versions())


def jobs_total(session: Session) -> Metric:
    """``bullpen_jobs_total{kind,status}``."""
    metric = CounterMetricFamily(
        "bullpen_jobs", "Jobs by kind and current status.", labels=["kind", "status"]
    )
    for kind, status, count in session.execute(
        select(Job.kind, Job.status, func.count()).group_by(Job.kind, Job.status)
    ):
        metric.add_metric([kind, status], count)
    return metric


def job_durations(session: Session) -> Metric:
    """``bullpen_job_duration_seconds{kind}``: from start to end of every finished job."""
    seconds = func.extract("epoch", Job.finished_at - Job.started_at)
    finished = Job.finished_at.is_not(None) & Job.started_at.is_not(None)
    columns = [
        func.count().filter(seconds <= bound).label(f"le_{index}")
        for index, bound in enumerate(JOB_DURATION_BUCKETS)
    ]
    rows = session.execute(
        select(Job.kind, func.count(), func.coalesce(func.sum(cast(seconds, Float)), 0.0), *columns)
        .where(finished)
        .group_by(Job.kind)
    )
    metric = HistogramMetricFamily(
        "bullpen_job_duration_seconds", "Run time of finished jobs.", labels=["kind"]
    )
    for kind, count, total, *cumulative in rows:
        buckets = [
            (_bucket_label(b), n) for b, n in zip(JOB_DURATION_BUCKETS, cumulative, strict=True)
        ]
        metric.add_metric([kind], [*buckets, ("+Inf", count)], float(total))
    return metric


def _bucket_label(bound: float) -> str:
    return f"{bound:g}"


def predictions_total(session: Session) -> Metric:
    """``bullpen_predictions_total{target}``: stored predictions with a probability for it."""
    metric = CounterMetricFamily(
        "bullpen_predictions", "Predictions stored, per target.", labels=["target"]
    )
    has = {
        target: func.count().filter(
            Prediction.payload[f"{market.key}_probability"].as_float().is_not(None)
        )
        for target, market in MARKETS.items()
    }
    counts = session.execute(select(*has.values())).one()
    for target, count in zip(has, counts, strict=True):
        metric.add_metric([target], count)
    return metric


def bets_total(session: Session) -> Metric:
    """``bullpen_bets_total{market,status}``: the ledger."""
    metric = CounterMetricFamily(
        "bullpen_bets", "Bets in the ledger by market and status.", labels=["market", "status"]
    )
    for market, status, count in session.execute(
        select(Bet.market, Bet.status, func.count()).group_by(Bet.market, Bet.status)
    ):
        metric.add_metric([market, status], count)
    return metric


def feed_last_success(session: Session) -> Metric:
    """``bullpen_feed_last_success_timestamp{feed}``: the last response a feed registered."""
    metric = GaugeMetricFamily(
        "bullpen_feed_last_success_timestamp",
        "Unix time of the last provider response a feed stored.",
        labels=["feed"],
    )
    found = dict(
        session.execute(
            select(IngestedFile.source, func.max(IngestedFile.ingested_at))
            .where(IngestedFile.source.in_(list(FEEDS.values())))
            .group_by(IngestedFile.source)
        ).all()
    )
    for feed, source in FEEDS.items():
        if found.get(source) is not None:
            metric.add_metric([feed], found[source].timestamp())
    return metric


def queue_depth(lengths: Mapping[str, int]) -> Metric:
    """``bullpen_queue_depth{queue}``: messages waiting in each Celery queue."""
    metric = GaugeMetricFamily(
        "bullpen_queue_depth", "Messages waiting in a Celery queue.", labels=["queue"]
    )
    for queue, length in sorted(lengths.items()):
        metric.add_metric([queue], length)
    return metric


def champion_version(versions: Mapping[str, str | None]) -> Metric:
    """``bullpen_champion_version{target}``: the version the champion alias names."""
    metric = GaugeMetricFamily(
        "bullpen_champion_version", "Registered version of each target's champion.",
        labels=["target"],
    )  # fmt: skip
    for target, version in sorted(versions.items()):
        if version is not None:
            metric.add_metric([target], float(version))
    return metric


def redis_queue_lengths(client, queues: Sequence[str]) -> dict[str, int]:
    """LLEN of each queue's list in the broker (kombu's Redis transport keeps one per queue)."""
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        pipe.llen(queue)
    return dict(zip(queues, pipe.execute(), strict=True))
