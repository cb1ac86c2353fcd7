"""The fair price, the best price across books, when a bet is served, and its stake.

Rules (documented here once; ``app/ml/predict.py`` applies them to every prediction):

- **Fair price.** The model's probability of a side is its fair probability; its fair
  American price is the recommendation's ``min_odds``.
- **Books.** A stored game is priced at the latest snapshot of every book captured before
  first pitch (``games.start_time``; without one, before 00:00 UTC of the game date), per
  market the latest snapshot that showed both prices of that market. A game with no such
  snapshot is priced at its ``odds`` rows as before (SBRO: opening moneyline and total prices,
  the stored run line). A game described in the request is priced at its own odds (book
  ``request``).
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
  proportion (rounded down to cents). A date split across chunks of a large job gives its
  later chunks only the room the earlier ones left. Each job (request) has its own bankroll
  and so its own cap.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from app.betting.kelly import StakingPolicy, stake_fraction
from app.betting.odds import american_to_decimal, devig_two_way, implied_to_american
from app.betting.recommend import Market


@dataclass(frozen=True)
class BookQuote:
    """One book's two prices of a market (American) and its line (None for the moneyline)."""

    book: str
    price_yes: int | None
    price_no: int | None
    line: float | None = None


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
            "expected_value": side_probability * best.decimal - 1.0,
        }
        for side, side_probability, best in (
            (market.side_yes, probability, best_yes),
            (market.side_no, 1.0 - probability, best_no),
        )
        if best is not None
    ]
    return max(offers, key=lambda offer: offer["expected_value"], default=None)


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
    chosen = None
    for side, side_probability, best, market_probability in (
        (market.side_yes, probability, best_yes, consensus),
        (market.side_no, 1.0 - probability, best_no, None if consensus is None else 1 - consensus),
    ):
        if best is None:
            continue
        expected_value = side_probability * best.decimal - 1.0
        if expected_value < staking.min_ev:
            continue
        if gate.bets_enabled:
            basis = "edge"
        elif market_probability is not None and (
            market_probability * best.decimal - 1.0 >= staking.min_ev
        ):
            basis = "price"
        else:
            continue
        if chosen is None or expected_value > chosen["expected_value"]:
            fraction = stake_fraction(side_probability, best.decimal, staking.policy)
            chosen = {
                "side": side,
                "odds": best.price,
                "book": best.book,
                "line": line,
                "expected_value": expected_value,
                "kelly_fraction": fraction,
                "recommended_bet_size": staking.bankroll * fraction,
                "min_odds": round(implied_to_american(side_probability)),
                "fair_probability": side_probability,
                "market_probability": market_probability,
                "basis": basis,
            }
    if chosen is None or chosen["kelly_fraction"] <= 0:
        return None
    return chosen


def cap_daily_exposure(stakes: Sequence[float], room: float) -> list[float]:
    """``stakes`` scaled down in proportion so their sum is at most ``room``, in whole cents."""
    total = sum(stakes)
    scale = 1.0 if total <= room else max(0.0, room) / total
    return [math.floor(stake * scale * 100 + 1e-9) / 100 for stake in stakes]


def apply_daily_exposure(
    payloads: Sequence[dict], staking: Staking, already: dict[str, float] | None = None
) -> None:
    """Scale the recommendations of ``payloads`` in place, date by date (see the module rules).

    ``already`` holds the stakes this job served earlier on each date (ISO date -> amount).
    A recommendation whose stake rounds to nothing is withdrawn.
    """
    already = already or {}
    by_date: dict[str, list[tuple[dict, str]]] = {}
    for payload in payloads:
        game_date = (payload.get("game") or {}).get("game_date", "")
        for market in payload.get("betting_recommendations", {}):
            by_date.setdefault(game_date, []).append((payload, market))
    for game_date, bets in by_date.items():
        room = staking.daily_exposure * staking.bankroll - already.get(game_date, 0.0)
        stakes = [p["betting_recommendations"][m]["recommended_bet_size"] for p, m in bets]
        for (payload, market), stake in zip(bets, cap_daily_exposure(stakes, room), strict=True):
            if stake <= 0:
                del payload["betting_recommendations"][market]
            else:
                payload["betting_recommendations"][market]["recommended_bet_size"] = stake
