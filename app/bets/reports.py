"""The bankroll curve of the ledger and live performance of a model against the market.

Bankroll: it starts at ``initial`` (``BULLPEN_BANKROLL``) plus the profit of every bet settled
before the window, and moves by the profit of each settled bet, in ``settled_at`` order; the
curve has one point per settlement date (end of day; a date is the system's US Eastern date,
``app.clock.eastern_date``, as is the window of ``from`` and ``to``). ROI = profit / stakes
of the graded bets (won, lost, push; a void bet was never action), hit rate = won / (won +
lost), max drawdown as in the backtest (largest fall from a running end-of-day peak, as a
fraction of the peak), mean CLV over the settled bets that have one.
"""

import itertools
from datetime import date, datetime, time, timedelta
from typing import Any

import numpy as np
from scipy import stats
from sqlalchemy import DateTime, Float, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from app.bets.models import Bet
from app.clock import SCHEDULE_ZONE, eastern_date
from app.config import Settings
from app.games.models import Game
from app.games.queries import load_games_frame
from app.markets import MARKETS
from app.ml.evaluation import Evaluation, evaluate, json_safe
from app.ml.models import Prediction
from app.ml.significance import clustered_mean
from app.staking.simulate import max_drawdown


def _day_start(day: date) -> datetime:
    """When the US Eastern date ``day`` begins."""
    return datetime.combine(day, time(0), tzinfo=SCHEDULE_ZONE)


def bankroll_curve(bets: list[Bet], start: float) -> list[dict[str, Any]]:
    """End-of-day bankroll of every settlement date of ``bets`` (in ``settled_at`` order)."""
    by_day: dict[date, list[Bet]] = {}
    for bet in sorted(bets, key=lambda b: (b.settled_at, str(b.bet_id))):
        by_day.setdefault(eastern_date(bet.settled_at), []).append(bet)
    curve, bankroll = [], start
    for day, day_bets in by_day.items():
        day_profit = float(sum(bet.profit or 0.0 for bet in day_bets))
        bankroll += day_profit
        point = {"date": day.isoformat(), "bankroll": bankroll, "profit": day_profit}
        curve.append(point | {"bets": len(day_bets)})
    return curve


def curve_metrics(curve: list[dict[str, Any]], start: float) -> dict[str, float | None]:
    """Max drawdown and Sharpe per settlement day of a bankroll curve starting at ``start``."""
    values = [start, *(point["bankroll"] for point in curve)]
    returns = [
        (after - before) / before for before, after in itertools.pairwise(values) if before > 0
    ]
    deviation = float(np.std(returns, ddof=1)) if len(returns) >= 2 else 0.0
    return {
        "max_drawdown": max_drawdown(values[1:], start),
        "sharpe_per_day": float(np.mean(returns)) / deviation if deviation > 0 else None,
    }


def ledger_summary(bets: list[Bet]) -> dict[str, Any]:
    """Counts, stakes, profit, ROI, hit rate and mean CLV of settled ``bets``."""
    counts = {status: 0 for status in ("won", "lost", "push", "void")}
    for bet in bets:
        counts[bet.status] = counts.get(bet.status, 0) + 1
    action = [bet for bet in bets if bet.status in ("won", "lost", "push")]
    staked = float(sum(bet.stake for bet in action))
    profit = float(sum(bet.profit or 0.0 for bet in bets))
    decided = counts["won"] + counts["lost"]
    clvs = [bet.clv for bet in bets if bet.clv is not None]
    return {
        "bets": len(action),
        **counts,
        "staked": staked,
        "profit": profit,
        "roi": profit / staked if staked > 0 else None,
        "hit_rate": counts["won"] / decided if decided else None,
        "mean_clv": float(np.mean(clvs)) if clvs else None,
        "clv_bets": len(clvs),
    }


def bankroll_report(
    session: Session,
    initial: float,
    date_from: date | None = None,
    date_to: date | None = None,
    origin: str | None = None,
) -> dict[str, Any]:
    """The bankroll curve by settlement date from ``date_from`` to ``date_to``, and its summary.
    Paper bets (a watch-only strategy's) never move the bankroll."""
    # The bets of the bankroll: real ones, of ``origin`` if given.
    real = [Bet.paper.is_(False), *([Bet.origin == origin] if origin else [])]
    settled = select(Bet).where(Bet.status != "open", Bet.settled_at.is_not(None), *real)
    start = initial
    if date_from is not None:
        before = session.scalar(
            select(func.coalesce(func.sum(Bet.profit), 0.0)).where(
                Bet.status != "open",
                Bet.settled_at < _day_start(date_from),
                *real,
            )
        )
        start += float(before or 0.0)
        settled = settled.where(Bet.settled_at >= _day_start(date_from))
    if date_to is not None:
        settled = settled.where(Bet.settled_at < _day_start(date_to + timedelta(days=1)))
    bets = list(session.scalars(settled.order_by(Bet.settled_at, Bet.bet_id)))
    curve = bankroll_curve(bets, start)
    bankroll = curve[-1]["bankroll"] if curve else start
    open_query = select(func.count(), func.coalesce(func.sum(Bet.stake), 0.0)).where(
        Bet.status == "open", *real
    )
    open_count, open_stake = session.execute(open_query).one()
    summary = ledger_summary(bets) | {
        "initial_bankroll": start,
        "final_bankroll": bankroll,
        **curve_metrics(curve, start),
        "open_bets": int(open_count),
        "open_stake": float(open_stake),
    }
    return json_safe(
        {
            "from": date_from.isoformat() if date_from else None,
            "to": date_to.isoformat() if date_to else None,
            "summary": summary,
            "curve": curve,
        }
    )


def live_evaluation(
    session: Session, target: str, model_name: str
) -> tuple[int, Evaluation | None]:
    """How many graded pre-game predictions ``model_name`` has, and their evaluation.

    Games: finished stored games with a prediction by ``model_name`` made before first pitch
    (``games.start_time``, else 00:00 UTC of the game's date); per game the latest such one.
    Model and market are scored as in the backtest (``app.ml.evaluation.evaluate``): on the
    games with a label and every opening and closing price of the market.
    """
    prefix = MARKETS[target].key
    payload = Prediction.payload
    betting_closes = func.coalesce(
        Game.start_time, func.timezone("UTC", cast(Game.game_date, DateTime()))
    )
    rows = session.execute(
        select(
            Prediction.game_id,
            cast(payload[f"{prefix}_probability"].astext, Float).label("p"),
        )
        .join(Game, Game.id == Prediction.game_id)
        .where(
            payload[("models", target, "name")].astext == model_name,
            Game.home_score.is_not(None),
            Game.away_score.is_not(None),
            Prediction.created_at < betting_closes,
        )
        .order_by(Prediction.game_id, Prediction.created_at.desc(), Prediction.id.desc())
        .distinct(Prediction.game_id)
    ).all()
    rows = [row for row in rows if row.p is not None]
    if not rows:
        return 0, None
    games = load_games_frame(session, game_ids=[row.game_id for row in rows])
    p_of = {row.game_id: row.p for row in rows}
    p_model = np.array([p_of[g] for g in games["game_id"].tolist()], dtype=float)
    return len(rows), evaluate(games, target, p_model)


def live_performance(
    session: Session, target: str, model_name: str, initial_bankroll: float
) -> dict[str, Any]:
    """The model's live metrics next to the market's (open, close) on the same games, and bets.

    Predictions and games as in :func:`live_evaluation`. Betting: the ledger's settled served
    bets of this model on this market the bankroll staked (a paper bet is a watch-only
    strategy's copy of a decision, counted in the strategies' evidence, not here).
    """
    prefix = MARKETS[target].key
    n_predictions, evaluation = live_evaluation(session, target, model_name)
    bets = list(
        session.scalars(
            select(Bet).where(
                and_(Bet.model_name == model_name, Bet.market == prefix),
                Bet.origin == "served",
                Bet.paper.is_(False),
                Bet.status != "open",
            )
        )
    )
    body: dict[str, Any] = {"source": "live", "n_predictions": n_predictions}
    if evaluation is not None:
        metrics = evaluation.metrics
        body |= {
            "n": metrics["n"],
            "model": metrics["model"],
            "model_all_labelled": metrics["model_all_labelled"],
            "market_open": metrics["market_open"],
            "market_close": metrics["market_close"],
        }
    else:
        empty = ("model", "model_all_labelled", "market_open", "market_close")
        body |= {"n": 0} | dict.fromkeys(empty)
    body["betting"] = (
        ledger_summary(bets)
        | curve_metrics(bankroll_curve(bets, initial_bankroll), initial_bankroll)
        if bets
        else None
    )
    return json_safe(body)


CLV_GROUPS = ("market", "book", "origin", "strategy")
BOOTSTRAP_RESAMPLES = 2000


def cluster_bootstrap_ratio(
    numerators: np.ndarray,
    denominators: np.ndarray,
    clusters: np.ndarray,
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = 0,
) -> tuple[float, float] | None:
    """A ``confidence`` interval of ``sum(numerators) / sum(denominators)`` by scipy's
    bootstrap over whole clusters (dates: a day's bets are resampled together), percentile
    method; None with fewer than two clusters. Mean CLV is the ratio with denominators 1,
    ROI the ratio of profit to stakes."""
    keys, index = np.unique(clusters, return_inverse=True)
    if len(keys) < 2:
        return None
    top = np.bincount(index, weights=np.asarray(numerators, dtype=float), minlength=len(keys))
    bottom = np.bincount(index, weights=np.asarray(denominators, dtype=float), minlength=len(keys))

    def ratio(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.sum(a, axis=axis) / np.sum(b, axis=axis)

    result = stats.bootstrap(
        (top, bottom),
        ratio,
        paired=True,
        vectorized=True,
        confidence_level=confidence,
        n_resamples=resamples,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def clv_summary(values: np.ndarray, dates: np.ndarray) -> dict[str, Any]:
    """n, mean, beat rate (share > 0), clustered standard error and t, dates of CLVs."""
    stats = clustered_mean(values, dates)
    return {
        "n": stats["n"],
        "mean_clv": stats["mean"],
        "beat_rate": float(np.mean(values > 0)) if len(values) else None,
        "standard_error": stats["standard_error"],
        "t": stats["t"],
        "dates": stats["clusters"],
    }


def clv_report(session: Session, group_by: str) -> list[dict[str, Any]]:
    """Per value of ``group_by`` (market, book, origin or strategy), over its settled bets:
    CLV against the bet's own book's close (``clv``: n, mean, beat rate, t clustered by game
    date) and against the sharp books' de-vigged close (``sharp``, the same measures)."""
    if group_by not in CLV_GROUPS:
        raise ValueError(f"group_by must be one of {CLV_GROUPS}, not {group_by!r}")
    column = getattr(Bet, group_by)
    rows = session.execute(
        select(column, Bet.clv, Bet.sharp_clv, Game.game_date)
        .join(Game, Game.id == Bet.game_id)
        .where(Bet.status != "open", or_(Bet.clv.is_not(None), Bet.sharp_clv.is_not(None)))
        .order_by(column)
    ).all()
    report = []
    for key, group in itertools.groupby(rows, key=lambda row: row[0]):
        group = list(group)
        entry: dict[str, Any] = {group_by: key}
        for name, field in (("clv", "clv"), ("sharp", "sharp_clv")):
            measured = [row for row in group if getattr(row, field) is not None]
            values = np.array([getattr(row, field) for row in measured], dtype=float)
            dates = np.array([row.game_date.toordinal() for row in measured])
            summary = clv_summary(values, dates)
            if name == "clv":
                entry |= summary
            else:
                entry["sharp"] = summary
        report.append(entry)
    return json_safe(report)


def model_performance(
    settings: Settings, session: Session, target: str, name: str, source: str | None
) -> dict[str, Any]:
    """Backtest metrics (MLflow runs) and live metrics of a model; ``source`` picks one."""
    from app.ml.backtest import latest_runs
    from app.ml.performance import live_metrics

    body: dict[str, Any] = {"model_name": name, "target": target}
    if source in (None, "backtest"):
        body["backtests"] = latest_runs(settings, target, "backtest")
        body["evaluations"] = latest_runs(settings, target, "evaluation")
    if source is None:
        body["live"] = live_metrics(session, target, name)
    elif source == "live":
        body["source"] = "live"
        body["live"] = live_performance(session, target, name, settings.bankroll)
    if source == "backtest":
        body["source"] = "backtest"
    return body
