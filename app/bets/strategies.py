"""Strategies that earn their stakes: watch-only until closing-line value proves them.

Rules:

- **A strategy** is a named set: de-vig method (the fair line is the sharp books' price
  de-vigged by it), books it bets at (empty: any), markets, min EV, Kelly fraction and the
  settled bets it needs (``min_bets``). They are configured in order by
  ``BULLPEN_STRATEGIES`` (a JSON list, ``app.config.parse_strategies``); unset, the shipped
  set :func:`shipped`: ``fair``, ``conservative``, ``moneyline``, ``totals``.
- **Each strategy bets on its own.** Every strategy prices every market it trades against its
  own fair line (same quotes, its method), at its books, with its min EV and Kelly fraction
  (the job's bankroll, Kelly cap and daily exposure): a recommendation several strategies
  take is a bet of each of them (one ledger row per strategy), so each one's evidence is
  what it alone would have bet, whatever the others do.
- **One bankroll bet per game and market.** The served recommendation of a market (the
  prediction's ``betting_recommendations``) is the bet of the first ``live`` strategy in the
  configured order that takes it, else the first strategy's (paper). Every other strategy's
  bet of that market is a paper bet (``paper_bets`` of the prediction): the bankroll never
  stakes one market twice because two strategies agree.
- **Watch first.** A strategy starts ``watch``: its bets go into the ledger as paper bets
  (``paper``), graded like any other, out of the bankroll.
- **Going live, and back.** After each settlement its evidence is every settled bet of it
  with a CLV (paper and live), against the sharp books' de-vigged close where the bet has
  one (``sharp_clv``), else against its own book's close: it goes ``live`` when there are at
  least ``min_bets`` (default ``BULLPEN_STRATEGY_MIN_BETS``, 100) with mean CLV > 0 and
  t >= ``T_LIVE`` (2), the standard error clustered by game date
  (``app.bets.reports.clustered_mean``); a live one whose evidence no longer shows that goes
  back to ``watch``.
- **By hand.** An admin may force ``watch`` or ``live`` (audited like every admin request);
  a forced state holds until set back to ``auto``.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from app.bets.devig import method_named
from app.bets.fairline import FairLine, FairLineRules, fair_line, serve
from app.bets.models import Bet, StrategyState
from app.bets.reports import clustered_mean
from app.games.models import Game
from app.markets import BY_KEY, MONEYLINE, RUN_LINE, TOTAL, Market
from app.ml.evaluation import json_safe
from app.staking.kelly import StakingPolicy
from app.staking.pricing import BookQuote, Staking

T_LIVE = 2.0
STATES = ("watch", "live")
# A strategy's name is a ledger value (``bets.strategy``, 32 characters) and a URL segment.
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")


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
    description: str = ""

    def __post_init__(self) -> None:
        if not NAME.fullmatch(self.name):
            raise ValueError(
                f"strategy name {self.name!r}: 1-32 of a-z, 0-9, '-', '_', starting alphanumeric"
            )
        method_named(self.method)
        unknown = [market for market in self.markets if market not in BY_KEY]
        if unknown or not self.markets:
            raise ValueError(
                f"strategy {self.name!r}: markets must be some of {', '.join(BY_KEY)}, "
                f"got {list(self.markets)}"
            )
        if not (0 < self.kelly_fraction <= 1) or self.min_bets < 1:
            raise ValueError(
                f"strategy {self.name!r}: kelly_fraction in (0, 1] and min_bets >= 1, got "
                f"{self.kelly_fraction} and {self.min_bets}"
            )

    def staking(self, job: Staking) -> Staking:
        """The job's bankroll, Kelly cap and daily exposure with this strategy's min EV and
        Kelly fraction."""
        policy = StakingPolicy(fraction=self.kelly_fraction, cap=job.policy.cap)
        return replace(job, min_ev=self.min_ev, policy=policy)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "description": self.description,
            "method": self.method,
            "books": list(self.books),
            "markets": list(self.markets),
            "min_ev": self.min_ev,
            "kelly_fraction": self.kelly_fraction,
            "min_bets": self.min_bets,
        }


def shipped(settings: Any) -> list[Strategy]:
    """The strategies when ``BULLPEN_STRATEGIES`` is unset, each a question a bettor asks."""
    common = {"min_bets": settings.strategy_min_bets}
    return [
        Strategy(
            "fair",
            settings.devig,
            settings.min_ev,
            settings.kelly_fraction,
            description="Every market, any book, the settings' de-vig, min EV and Kelly.",
            **common,
        ),
        Strategy(
            "conservative",
            "worst_case",
            max(settings.min_ev, 0.03),
            settings.kelly_fraction / 2,
            description=(
                "Only prices that clear the edge under every de-vig method (worst case), "
                "min EV at least 3%, half the Kelly fraction."
            ),
            **common,
        ),
        Strategy(
            "moneyline",
            settings.devig,
            settings.min_ev,
            settings.kelly_fraction,
            markets=(MONEYLINE.key,),
            description=(
                "The moneyline alone: the deepest market, where the sharp line is surest."
            ),
            **common,
        ),
        Strategy(
            "totals",
            settings.devig,
            max(settings.min_ev, 0.03),
            settings.kelly_fraction,
            markets=(TOTAL.key, RUN_LINE.key),
            description=(
                "Totals and run lines at the sharp book's own line, min EV at least 3% "
                "(thinner markets, wider margins)."
            ),
            **common,
        ),
    ]


_KEYS = {"name", "method", "books", "markets", "min_ev", "kelly_fraction", "min_bets",
         "description"}  # fmt: skip


def configured(settings: Any) -> dict[str, Strategy]:
    """The strategies of the settings, by name, in their order (module rules).

    Each ``BULLPEN_STRATEGIES`` entry's missing key takes the settings' value: ``method``
    ``BULLPEN_DEVIG``, ``min_ev`` ``BULLPEN_MIN_EV``, ``kelly_fraction``
    ``BULLPEN_KELLY_FRACTION``, ``min_bets`` ``BULLPEN_STRATEGY_MIN_BETS``, every market,
    any book. A bad entry is a ``ValueError`` naming it.
    """
    entries = getattr(settings, "strategies", ())
    if not entries:
        strategies = shipped(settings)
    else:
        strategies = []
        for entry in entries:
            unknown = set(entry) - _KEYS
            if unknown:
                raise ValueError(
                    f"strategy {entry.get('name')!r}: unknown keys {sorted(unknown)}; "
                    f"known: {sorted(_KEYS)}"
                )
            try:
                strategies.append(
                    Strategy(
                        name=entry["name"],
                        method=entry.get("method", settings.devig),
                        min_ev=float(entry.get("min_ev", settings.min_ev)),
                        kelly_fraction=float(entry.get("kelly_fraction", settings.kelly_fraction)),
                        markets=tuple(entry.get("markets") or BY_KEY),
                        books=tuple(entry.get("books") or ()),
                        min_bets=int(entry.get("min_bets", settings.strategy_min_bets)),
                        description=str(entry.get("description", "")),
                    )
                )
            except (TypeError, ValueError) as error:
                raise ValueError(f"BULLPEN_STRATEGIES: {error}") from None
    by_name = {strategy.name: strategy for strategy in strategies}
    if len(by_name) != len(strategies):
        raise ValueError("BULLPEN_STRATEGIES: two strategies share a name")
    return by_name


def check_settings(settings: Any) -> None:
    """Raise ``ValueError`` naming the first bad betting setting: the fair line's rules and
    every strategy of ``BULLPEN_STRATEGIES``. Each process calls it as it loads its settings
    (``bullpen`` commands, the API, the Celery app), so a misspelt method or market stops it
    at start instead of failing each pricing or the strategies' review after a settlement."""
    FairLineRules.from_settings(settings)
    configured(settings)


def strategy_bets(
    market: Market,
    line: FairLine,
    quotes: Iterable[BookQuote],
    now: datetime,
    first_pitch: datetime,
    rules: FairLineRules,
    strategies: Mapping[str, Strategy],
    live: Iterable[str],
    staking: Staking,
) -> dict[str, dict]:
    """Each strategy's bet of ``market`` against its own fair line, by name in configured
    order, tagged with ``strategy`` and ``paper`` (module rules: only the first live
    strategy's bet is no paper bet).

    ``line`` is the settings' fair line; a strategy of another method gets the line of the
    same quotes de-vigged by its method, with the model and its blend weight as in ``line``.
    """
    quotes = list(quotes)
    lines: dict[str, FairLine | None] = {line.method: line}
    live = set(live)
    bets: dict[str, dict] = {}
    for strategy in strategies.values():
        if market.key not in strategy.markets:
            continue
        if strategy.method not in lines:
            other = fair_line(
                market,
                quotes,
                line.line,
                now,
                first_pitch,
                replace(rules, method=strategy.method),
                line.model_yes,
                line.blend_weight,
            )
            lines[strategy.method] = other
        own = lines[strategy.method]
        if own is None:
            continue
        if strategy.books:
            own = replace(
                own, priced=tuple(p for p in own.priced if p.quote.book in strategy.books)
            )
        bet = serve(market, own, strategy.staking(staking))
        if bet is not None:
            bets[strategy.name] = bet | {"strategy": strategy.name, "paper": True}
    bankroll_bet = next((name for name in bets if name in live), None)
    if bankroll_bet is not None:
        bets[bankroll_bet]["paper"] = False
    return bets


def served_bet(bets: Mapping[str, dict]) -> dict | None:
    """The served recommendation of a market among the strategies' bets: the live one (not
    paper), else the first (module rules)."""
    return next((bet for bet in bets.values() if not bet["paper"]), next(iter(bets.values()), None))


def states(session: Session) -> dict[str, StrategyState]:
    """The stored state of every strategy that has one (the rest are ``watch``)."""
    return {row.name: row for row in session.scalars(select(StrategyState))}


# The names of the live strategies, as SQL text (``app.db.session.pipelined`` sends it with
# other statements; the ORM's objects of every state cost a one-game job more than its read).
LIVE = ("SELECT name FROM strategy_states WHERE state = 'live'", {})


def live(session: Session) -> set[str]:
    """The names of the live strategies, read in ``session``'s transaction (the one that
    writes the bets they price)."""
    return {name for (name,) in session.connection().exec_driver_sql(LIVE[0])}


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
