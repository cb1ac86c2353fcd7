"""Strategies that earn their stakes: watch-only until closing-line value proves them.

Rules:

- **A strategy** is a named set: de-vig method, books (empty: any), markets, min EV, Kelly
  fraction. The configured one, ``fair``, bets every fair-line bet the settings serve
  (``BULLPEN_DEVIG``, ``BULLPEN_MIN_EV``, ``BULLPEN_KELLY_FRACTION``, every market, any book).
- **Watch first.** A strategy starts ``watch``: its bets go into the ledger as paper bets
  (``paper``), graded like any other, out of the bankroll.
- **Going live, and back.** After each settlement its evidence is every settled bet of it
  with a CLV (paper and live), against the sharp books' de-vigged close where the bet has
  one (``sharp_clv``), else against its own book's close: it goes ``live`` when there are at
  least ``min_bets`` (``BULLPEN_STRATEGY_MIN_BETS``, default 100) with mean CLV > 0 and
  t >= ``T_LIVE`` (2), the standard error clustered by game date
  (``app.bets.reports.clustered_mean``); a live one whose evidence no longer shows that goes
  back to ``watch``.
- **By hand.** An admin may force ``watch`` or ``live`` (audited like every admin request);
  a forced state holds until set back to ``auto``.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bets.models import Bet, StrategyState
from app.bets.reports import clustered_mean
from app.games.models import Game
from app.markets import BY_KEY
from app.ml.evaluation import json_safe

T_LIVE = 2.0
STATES = ("watch", "live")


@dataclass(frozen=True)
class Strategy:
    """A named way to bet (module rules)."""

    name: str
    method: str
    min_ev: float
    kelly_fraction: float
    markets: tuple[str, ...] = tuple(BY_KEY)
    books: tuple[str, ...] = ()
    min_bets: int = 100

    def takes(self, market: str, bet: dict) -> bool:
        """Whether a served fair-line recommendation of ``market`` is one of this strategy's."""
        return (
            bet.get("basis") == "fair"
            and market in self.markets
            and (not self.books or bet.get("book") in self.books)
            and bet.get("expected_value", 0.0) >= self.min_ev
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "method": self.method,
            "books": list(self.books),
            "markets": list(self.markets),
            "min_ev": self.min_ev,
            "kelly_fraction": self.kelly_fraction,
            "min_bets": self.min_bets,
        }


def configured(settings: Any) -> dict[str, Strategy]:
    """The strategies of the settings, by name."""
    fair = Strategy(
        name="fair",
        method=settings.devig,
        min_ev=settings.min_ev,
        kelly_fraction=settings.kelly_fraction,
        min_bets=settings.strategy_min_bets,
    )
    return {fair.name: fair}


def states(session: Session) -> dict[str, StrategyState]:
    """The stored state of every strategy that has one (the rest are ``watch``)."""
    return {row.name: row for row in session.scalars(select(StrategyState))}


def tag_bets(payloads: list[dict], strategies: dict[str, Strategy], live: set[str]) -> None:
    """Name each served recommendation's strategy (the first that takes it) and mark it paper
    unless that strategy is live; a fair-line bet no strategy takes is withdrawn."""
    for payload in payloads:
        recommendations = payload.get("betting_recommendations") or {}
        for market, bet in list(recommendations.items()):
            if bet.get("basis") != "fair":
                continue
            strategy = next((s for s in strategies.values() if s.takes(market, bet)), None)
            if strategy is None:
                del recommendations[market]
                continue
            bet["strategy"] = strategy.name
            bet["paper"] = strategy.name not in live


@dataclass
class Evidence:
    """A strategy's settled bets with a CLV: how many, mean, t clustered by date, ROI."""

    n: int
    mean_clv: float | None
    clv_t: float | None
    paper_bets: int
    live_bets: int
    roi: float | None

    def proves(self, min_bets: int) -> bool:
        return (
            self.n >= min_bets
            and self.mean_clv is not None
            and self.mean_clv > 0
            and self.clv_t is not None
            and self.clv_t >= T_LIVE
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "mean_clv": self.mean_clv,
            "clv_t": self.clv_t,
            "paper_bets": self.paper_bets,
            "live_bets": self.live_bets,
            "roi": self.roi,
        }


def evidence(session: Session, name: str) -> Evidence:
    """The settled bets of strategy ``name`` and what their CLV shows."""
    rows = session.execute(
        select(
            func.coalesce(Bet.sharp_clv, Bet.clv).label("clv"),
            Bet.paper,
            Bet.stake,
            Bet.profit,
            Bet.status,
            Game.game_date,
        )
        .join(Game, Game.id == Bet.game_id)
        .where(Bet.strategy == name, Bet.status != "open")
    ).all()
    with_clv = [row for row in rows if row.clv is not None]
    stats = clustered_mean(
        np.array([row.clv for row in with_clv], dtype=float),
        np.array([row.game_date.toordinal() for row in with_clv]),
    )
    action = [row for row in rows if row.status in ("won", "lost", "push")]
    staked = sum(row.stake for row in action)
    return Evidence(
        n=stats["n"],
        mean_clv=stats["mean"],
        clv_t=stats["t"],
        paper_bets=sum(row.paper for row in rows),
        live_bets=sum(not row.paper for row in rows),
        roi=sum(row.profit or 0.0 for row in action) / staked if staked > 0 else None,
    )


def review(session: Session, strategies: dict[str, Strategy], now: datetime) -> dict[str, str]:
    """Move each strategy not forced by hand to the state its evidence earns; {name: state}."""
    stored = states(session)
    result = {}
    for name, strategy in strategies.items():
        row = stored.get(name)
        if row is not None and row.forced:
            result[name] = row.state
            continue
        proof = evidence(session, name)
        state = "live" if proof.proves(strategy.min_bets) else "watch"
        if row is None:
            row = StrategyState(name=name, state="watch", forced=False, changed_at=now)
            session.add(row)
        if row.state != state:
            row.state, row.changed_at = state, now
            row.reason = (f"{proof.n} settled bets, mean CLV {proof.mean_clv}, t {proof.clv_t}")[
                :200
            ]
        result[name] = state
    session.flush()
    return result


def force(session: Session, name: str, state: str, now: datetime) -> StrategyState:
    """Force ``state`` (``watch``/``live``) by hand, or ``auto`` to let evidence decide again."""
    row = session.get(StrategyState, name)
    if row is None:
        row = StrategyState(name=name, state="watch", forced=False, changed_at=now)
        session.add(row)
    if state == "auto":
        row.forced, row.reason = False, "set back to auto by an admin"
    else:
        row.state, row.forced, row.reason = state, True, f"forced {state} by an admin"
    row.changed_at = now
    session.flush()
    return row


def describe(session: Session, strategies: dict[str, Strategy]) -> list[dict[str, Any]]:
    """Each strategy with its state and evidence, for the API and the pages."""
    stored = states(session)
    described = []
    for name, strategy in strategies.items():
        row = stored.get(name)
        described.append(
            strategy.as_dict()
            | {
                "state": row.state if row else "watch",
                "forced": bool(row and row.forced),
                "reason": row.reason if row else None,
                "changed_at": row.changed_at.isoformat() if row else None,
                "evidence": evidence(session, name).as_dict(),
            }
        )
    return json_safe(described)
