"""The fair price, the best price across books, when a bet is served, and its stake.

Rules (documented here once; ``app.bets.recommend`` applies them to every prediction):

- **Fair price.** The model's probability of a side is its fair probability; its fair
  American price is the recommendation's ``min_odds``.
- **Books.** A stored game is priced at the latest snapshot of every book captured before
  first pitch (``games.start_time``; without one, before 00:00 UTC of the game date), per
  market the latest snapshot that showed both prices of that market. A game with no such
  snapshot is priced at its ``odds`` rows as before (SBRO: opening moneyline and total prices,
  the stored run line). A game described in the request is priced at its own odds (book
  ``request``). Under the fair-line rules (``app.bets.fairline``, every prediction job), a
  stored game is served nothing at or after first pitch, and a market without a fair line is
  priced here only at the quotes no older than their ``max_age`` (a quote of unknown capture
  time, an ``odds`` row, is of unknown age: none), as ``app.bets.recommend`` applies it.
- **Lines.** A totals or run-line quote counts only at the line the model was asked about
  (the game's opening total, its run line); a book showing another line is skipped.
- **Best price.** Per side, the largest decimal odds over the books (ties: first book by name).
- **Serving.** Per market, the side with the larger expected value at its best price,
  ``EV = p * decimal - 1``, is served when ``EV >= min_ev`` (``BULLPEN_MIN_EV``, default
  0.02) and either
  - the model beat the market on its held-out games (``bets_enabled``, ``edge`` basis): the
    bet may rest on the model disagreeing with the market; or
  - the model is calibrated, held-out ECE <= ``max_ece`` (``BULLPEN_MAX_ECE``, default 0.02)
    (``price`` basis): the best price must ALSO clear ``min_ev`` against the market's own fair
    probability, the mean de-vigged probability of the books' quotes. Such a bet needs no edge
    over the market, only a book out of line with it.
- **Stake.** Fractional Kelly at the best price with the model's probability, at most
  ``kelly_cap`` of the bankroll.
- **Daily exposure.** The stakes a prediction job serves on games of one date add up to at
  most ``daily_exposure * bankroll``: when they would exceed it they are all scaled down in
  proportion (rounded down to cents). A large job is priced in chunks that never split a
  date (``app.predictions.jobs.chunk_by_date``), so each chunk caps whole dates. Each job
  (request) has its own bankroll and so its own cap.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from app.markets import Market
from app.odds import (
    american_to_decimal,
    devig_two_way,
    expected_value,
    implied_to_american,
)
from app.staking.kelly import StakingPolicy, stake_fraction

# A prediction "meets the confidence threshold" when a model leans this far to one side.
CONFIDENCE_THRESHOLD = 0.55


@dataclass(frozen=True)
class BookQuote:
    """One book's two prices of a market (American) and its line (None for the moneyline)."""

    book: str
    price_yes: int | None
    price_no: int | None
    line: float | None = None
    # When the book showed it (None: unknown, as for an archive's opening or closing row).
    captured_at: datetime | None = None


@dataclass(frozen=True)
class BestPrice:
    """The best price of one side and the book offering it."""

    book: str
    price: int
    decimal: float


@dataclass(frozen=True)
class Gate:
    """What a model has earned: to bet on its edge, or to price-shop as a calibrated fair price."""

    bets_enabled: bool
    calibrated: bool

    @property
    def open(self) -> bool:
        return self.bets_enabled or self.calibrated


@dataclass(frozen=True)
class Staking:
    """Bankroll, Kelly policy, daily exposure cap and EV threshold of one prediction job."""

    bankroll: float = 1000.0
    policy: StakingPolicy = field(default_factory=StakingPolicy)
    daily_exposure: float = 0.5
    min_ev: float = 0.02


def _decimal(price: int | None) -> float | None:
    if price is None:
        return None
    try:
        return american_to_decimal(price)
    except ValueError:
        return None


def comparable(quotes: Iterable[BookQuote], line: float | None) -> list[BookQuote]:
    """The quotes at ``line`` (every quote when the market has no line)."""
    return [
        quote
        for quote in quotes
        if line is None or (quote.line is not None and math.isclose(quote.line, line))
    ]


def best_prices(quotes: Iterable[BookQuote]) -> tuple[BestPrice | None, BestPrice | None]:
    """The best price of the 'yes' side and of the 'no' side over ``quotes``."""
    best: list[BestPrice | None] = [None, None]
    for quote in sorted(quotes, key=lambda q: q.book):
        for index, price in enumerate((quote.price_yes, quote.price_no)):
            decimal = _decimal(price)
            if decimal is not None and (best[index] is None or decimal > best[index].decimal):
                best[index] = BestPrice(quote.book, int(price), decimal)
    return best[0], best[1]


def consensus_probability(quotes: Iterable[BookQuote]) -> float | None:
    """The mean de-vigged probability of 'yes' over the books quoting both sides."""
    probabilities = []
    for quote in quotes:
        if quote.price_yes is None or quote.price_no is None:
            continue
        try:
            probabilities.append(devig_two_way(quote.price_yes, quote.price_no)[0])
        except ValueError:
            continue
    return sum(probabilities) / len(probabilities) if probabilities else None


def best_offer(
    market: Market, probability: float, quotes: Sequence[BookQuote], line: float | None
) -> dict | None:
    """The side the model likes better at the books' best prices, served or not.

    Over the quotes at ``line``: the side with the larger ``EV = p * decimal - 1`` at its best
    price, with that price, its book and the EV; None when no book prices either side.
    """
    best_yes, best_no = best_prices(comparable(quotes, line))
    offers = [
        {
            "side": side,
            "odds": best.price,
            "book": best.book,
            "line": line,
            "fair_probability": side_probability,
            "expected_value": expected_value(side_probability, best.decimal),
        }
        for side, side_probability, best in (
            (market.yes, probability, best_yes),
            (market.no, 1.0 - probability, best_no),
        )
        if best is not None
    ]
    return max(offers, key=lambda offer: offer["expected_value"], default=None)


@dataclass(frozen=True)
class Candidate:
    """One side of a market at a price: its probability, decimal odds and the market's own fair
    probability of it (None when unknown)."""

    side: str
    probability: float
    decimal: float
    market_probability: float | None = None


@dataclass(frozen=True)
class Choice:
    """The side chosen to bet, its EV, Kelly fraction and basis (``edge`` or ``price``)."""

    candidate: Candidate
    expected_value: float
    kelly_fraction: float
    basis: str


def choose_side(candidates: Iterable[Candidate], gate: Gate, staking: Staking) -> Choice | None:
    """The serving rule, live and in the backtest (module docstring): of the sides whose
    ``EV >= min_ev`` and that the gate lets through, the one with the larger EV, staked by
    fractional Kelly; None without one or when its stake is nothing."""
    if not gate.open:
        return None
    chosen = None
    for candidate in candidates:
        value = expected_value(candidate.probability, candidate.decimal)
        if value < staking.min_ev:
            continue
        if gate.bets_enabled:
            basis = "edge"
        elif candidate.market_probability is not None and (
            expected_value(candidate.market_probability, candidate.decimal) >= staking.min_ev
        ):
            basis = "price"
        else:
            continue
        if chosen is None or value > chosen.expected_value:
            fraction = stake_fraction(candidate.probability, candidate.decimal, staking.policy)
            chosen = Choice(candidate, value, fraction, basis)
    if chosen is None or chosen.kelly_fraction <= 0:
        return None
    return chosen


def price_shop(
    market: Market,
    probability: float,
    quotes: Sequence[BookQuote],
    line: float | None,
    gate: Gate,
    staking: Staking,
) -> dict | None:
    """The served recommendation of one market, or None (rules in the module docstring)."""
    if not gate.open:
        return None
    usable = comparable(quotes, line)
    best_yes, best_no = best_prices(usable)
    consensus = consensus_probability(usable)
    sides = (
        (market.yes, probability, best_yes, consensus),
        (market.no, 1.0 - probability, best_no, None if consensus is None else 1 - consensus),
    )
    books = {side: best for side, _, best, _ in sides if best is not None}
    choice = choose_side(
        (
            Candidate(side, side_probability, best.decimal, market_probability)
            for side, side_probability, best, market_probability in sides
            if best is not None
        ),
        gate,
        staking,
    )
    if choice is None:
        return None
    best = books[choice.candidate.side]
    return {
        "side": choice.candidate.side,
        "odds": best.price,
        "book": best.book,
        "line": line,
        "expected_value": choice.expected_value,
        "kelly_fraction": choice.kelly_fraction,
        "recommended_bet_size": staking.bankroll * choice.kelly_fraction,
        "min_odds": round(implied_to_american(choice.candidate.probability)),
        "fair_probability": choice.candidate.probability,
        "market_probability": choice.candidate.market_probability,
        "basis": choice.basis,
    }


def risk_level(recommendations: dict[str, dict]) -> str:
    """``low``/``medium``/``high`` by the largest stake recommended (``none`` without bets)."""
    if not recommendations:
        return "none"
    largest = max(bet["kelly_fraction"] for bet in recommendations.values())
    if largest < 0.01:
        return "low"
    return "medium" if largest < 0.03 else "high"


def cap_daily_exposure(stakes: Sequence[float], room: float) -> list[float]:
    """``stakes`` scaled down in proportion so their sum is at most ``room``, in whole cents."""
    total = sum(stakes)
    scale = 1.0 if total <= room else max(0.0, room) / total
    return [math.floor(stake * scale * 100 + 1e-9) / 100 for stake in stakes]


def apply_daily_exposure(payloads: Sequence[dict], staking: Staking) -> None:
    """Scale the recommendations of ``payloads`` in place, date by date (see the module rules).

    A recommendation whose stake rounds to nothing is withdrawn.
    """
    by_date: dict[str, list[tuple[dict, str]]] = {}
    for payload in payloads:
        game_date = (payload.get("game") or {}).get("game_date", "")
        for market in payload.get("betting_recommendations", {}):
            by_date.setdefault(game_date, []).append((payload, market))
    room = staking.daily_exposure * staking.bankroll
    for bets in by_date.values():
        stakes = [p["betting_recommendations"][m]["recommended_bet_size"] for p, m in bets]
        for (payload, market), stake in zip(bets, cap_daily_exposure(stakes, room), strict=True):
            if stake <= 0:
                del payload["betting_recommendations"][market]
            else:
                payload["betting_recommendations"][market]["recommended_bet_size"] = stake
