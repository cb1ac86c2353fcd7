"""The fair line from the sharp market, every book's EV against it, and arbitrage.

Rules (``FairLineRules`` holds the numbers; their settings are in ``.env.example``):

- **Priced quotes.** A quote counts only at the market's own line (the line the fair line is
  about), taken before first pitch, and no older than ``max_age`` (``BULLPEN_MAX_QUOTE_AGE``,
  minutes, default 30) at decision time; a quote of unknown capture time (an archive's
  opening or closing row) is of unknown age and never priced. At or after first pitch nothing
  is priced. A quote whose overround (booksum - 1) is above ``max_overround``
  (``BULLPEN_MAX_OVERROUND``, default 0.08) is too wide to say anything fair: it gives no fair
  line (its prices may still be bet against one).
- **Fair line.** Each priced quote is de-vigged by ``method`` (``BULLPEN_DEVIG``,
  ``app.bets.devig``). The sharp books (``BULLPEN_SHARP_BOOKS``, default ``pinnacle``, a
  weighted list) give the fair line: the weighted mean of their fair probabilities, flagged
  ``sharp``. Without a sharp quote, the equally weighted mean over at least
  ``MIN_CONSENSUS_BOOKS`` books, flagged ``consensus``. Otherwise there is none.
- **The model beside it.** The served probability is ``(1 - w) * fair + w * model``, ``w`` the
  blend weight the model version earned on its held-out games, fitted walk-forward when it
  was trained and stored with it (tag ``blend_weight``, :func:`app.ml.significance.
  fit_blend_weight`): the weight minimising the blend's log loss against the market's
  de-vigged price there, kept only when the blend beats that price significantly, else 0.
  Without a model, or a version without the tag, ``w = 0``. The model's probability and
  ``w`` are shown beside the fair line.
- **EV.** For every priced book and side: ``EV = p_served(side) * decimal - 1``, with the
  fractional-Kelly stake of ``app.staking.kelly`` (today's fraction and cap).
- **Arbitrage.** The best priced price of each side over different books with implied
  probabilities summing below 1: staking ``T * q_side / (q_yes + q_no)`` on each side returns
  ``T / (q_yes + q_no)`` whichever wins.
"""

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from app.bets.devig import fair_pair, method_named
from app.markets import Market
from app.odds import american_to_decimal, expected_value, implied_to_american
from app.staking.kelly import StakingPolicy, stake_fraction
from app.staking.pricing import (
    BookQuote,
    Candidate,
    Gate,
    Staking,
    best_prices,
    choose_side,
    comparable,
)

MIN_CONSENSUS_BOOKS = 2


@dataclass(frozen=True)
class FairLineRules:
    """The numbers of the fair line (module docstring)."""

    method: str = "additive"
    sharp_books: tuple[tuple[str, float], ...] = (("pinnacle", 1.0),)
    max_age: timedelta = timedelta(minutes=30)
    max_overround: float = 0.08

    def __post_init__(self) -> None:
        method_named(self.method)  # an unknown method is an error at once, not at pricing

    @classmethod
    def from_settings(cls, settings: object) -> "FairLineRules":
        """The rules of ``app.config.Settings``."""
        return cls(
            method=settings.devig,
            sharp_books=tuple(settings.sharp_books),
            max_age=timedelta(minutes=settings.max_quote_age_minutes),
            max_overround=settings.max_overround,
        )


@dataclass(frozen=True)
class PricedQuote:
    """A quote that may be priced: its book, prices, fair pair and age in seconds."""

    quote: BookQuote
    fair_yes: float
    fair_no: float
    age_seconds: float
    overround: float


@dataclass(frozen=True)
class FairLine:
    """The fair probabilities of both sides of one market at one line, and their source."""

    market: str
    line: float | None
    fair_yes: float
    fair_no: float
    source: str  # "sharp" or "consensus"
    method: str
    books: tuple[str, ...]
    ages: dict[str, float]
    model_yes: float | None = None
    blend_weight: float = 0.0
    priced: tuple[PricedQuote, ...] = field(default=(), repr=False)

    def served(self, side_is_yes: bool) -> float:
        """The served probability of a side: the fair one, blended with the model by weight."""
        fair = self.fair_yes if side_is_yes else self.fair_no
        if self.model_yes is None or self.blend_weight == 0:
            return fair
        model = self.model_yes if side_is_yes else 1.0 - self.model_yes
        return (1.0 - self.blend_weight) * fair + self.blend_weight * model

    def as_dict(self) -> dict:
        return {
            "market": self.market,
            "line": self.line,
            "fair_yes": self.fair_yes,
            "fair_no": self.fair_no,
            "source": self.source,
            "method": self.method,
            "books": list(self.books),
            "quote_ages_seconds": dict(self.ages),
            "model_yes": self.model_yes,
            "blend_weight": self.blend_weight,
            "served_yes": self.served(True),
        }


def priced_quotes(
    quotes: Iterable[BookQuote],
    line: float | None,
    now: datetime,
    first_pitch: datetime,
    rules: FairLineRules,
) -> list[PricedQuote]:
    """The quotes that may be priced at ``now`` (module rules), each with its fair pair."""
    if now >= first_pitch:
        return []
    priced = []
    for quote in comparable(quotes, line):
        captured = quote.captured_at
        if captured is None or captured >= first_pitch or captured > now:
            continue
        age = now - captured
        if age > rules.max_age or quote.price_yes is None or quote.price_no is None:
            continue
        try:
            q_yes = 1.0 / american_to_decimal(quote.price_yes)
            q_no = 1.0 / american_to_decimal(quote.price_no)
        except ValueError:
            continue
        fair_yes, fair_no = fair_pair(q_yes, q_no, rules.method)
        priced.append(
            PricedQuote(quote, fair_yes, fair_no, age.total_seconds(), q_yes + q_no - 1.0)
        )
    return priced


def fair_line(
    market: Market,
    quotes: Iterable[BookQuote],
    line: float | None,
    now: datetime,
    first_pitch: datetime,
    rules: FairLineRules,
    model_yes: float | None = None,
    blend_weight: float = 0.0,
) -> FairLine | None:
    """The fair line of ``market`` at ``line`` from ``quotes`` at ``now`` (module rules), the
    model's probability blended in by ``blend_weight``."""
    priced = priced_quotes(quotes, line, now, first_pitch, rules)
    narrow = [p for p in priced if p.overround <= rules.max_overround]
    weights = dict(rules.sharp_books)
    sharp = [p for p in narrow if p.quote.book in weights]
    if sharp:
        chosen, source = sharp, "sharp"
        weight = [weights[p.quote.book] for p in sharp]
    elif len({p.quote.book for p in narrow}) >= MIN_CONSENSUS_BOOKS:
        chosen, source = narrow, "consensus"
        weight = [1.0] * len(narrow)
    else:
        return None
    total = sum(weight)
    return FairLine(
        market=market.key,
        line=line,
        fair_yes=sum(w * p.fair_yes for w, p in zip(weight, chosen, strict=True)) / total,
        fair_no=sum(w * p.fair_no for w, p in zip(weight, chosen, strict=True)) / total,
        source=source,
        method=rules.method,
        books=tuple(p.quote.book for p in chosen),
        ages={p.quote.book: p.age_seconds for p in chosen},
        model_yes=model_yes,
        blend_weight=blend_weight if model_yes is not None else 0.0,
        priced=tuple(priced),
    )


@dataclass(frozen=True)
class BookPrice:
    """One book's price of one side against the fair line."""

    book: str
    side: str
    odds: int
    decimal: float
    probability: float
    expected_value: float
    kelly_fraction: float

    def as_dict(self) -> dict:
        return {
            "book": self.book,
            "side": self.side,
            "odds": self.odds,
            "probability": self.probability,
            "expected_value": self.expected_value,
            "kelly_fraction": self.kelly_fraction,
        }


def book_prices(market: Market, line: FairLine, policy: StakingPolicy) -> list[BookPrice]:
    """Every priced book's price of each side, its EV against the served probability and its
    Kelly fraction; best EV first."""
    prices = []
    for priced in line.priced:
        for side, price in (
            (market.yes, priced.quote.price_yes),
            (market.no, priced.quote.price_no),
        ):
            decimal = american_to_decimal(price)
            probability = line.served(side == market.yes)
            prices.append(
                BookPrice(
                    book=priced.quote.book,
                    side=side,
                    odds=int(price),
                    decimal=decimal,
                    probability=probability,
                    expected_value=expected_value(probability, decimal),
                    kelly_fraction=stake_fraction(probability, decimal, policy),
                )
            )
    return sorted(prices, key=lambda p: (-p.expected_value, p.book, p.side))


@dataclass(frozen=True)
class Arbitrage:
    """Two books whose best prices of the two sides sum below 1 in implied probability."""

    market: str
    line: float | None
    yes: BookPrice
    no: BookPrice
    booksum: float
    stake_yes: float
    stake_no: float
    payout: float

    def as_dict(self) -> dict:
        return {
            "market": self.market,
            "line": self.line,
            "booksum": self.booksum,
            "yes": {"book": self.yes.book, "side": self.yes.side, "odds": self.yes.odds},
            "no": {"book": self.no.book, "side": self.no.side, "odds": self.no.odds},
            "stake_yes": self.stake_yes,
            "stake_no": self.stake_no,
            "payout": self.payout,
            "profit": self.payout - self.stake_yes - self.stake_no,
        }


def arbitrage(
    market: Market, priced: Sequence[PricedQuote], line: float | None, total_stake: float
) -> Arbitrage | None:
    """The arbitrage of the best priced prices of each side, staked ``total_stake`` in all;
    None when they sum to 1 or more, or both come from one book."""
    best: dict[str, tuple[float, str, int]] = {}
    for quote in sorted((p.quote for p in priced), key=lambda q: q.book):
        for side, price in ((market.yes, quote.price_yes), (market.no, quote.price_no)):
            decimal = american_to_decimal(price)
            if side not in best or decimal > best[side][0]:
                best[side] = (decimal, quote.book, int(price))
    if len(best) < 2 or best[market.yes][1] == best[market.no][1]:
        return None
    (dec_yes, book_yes, odds_yes), (dec_no, book_no, odds_no) = best[market.yes], best[market.no]
    booksum = 1.0 / dec_yes + 1.0 / dec_no
    if booksum >= 1.0 or math.isclose(booksum, 1.0):
        return None
    stake_yes = total_stake * (1.0 / dec_yes) / booksum
    stake_no = total_stake * (1.0 / dec_no) / booksum

    def leg(book: str, side: str, odds: int, decimal: float) -> BookPrice:
        return BookPrice(book, side, odds, decimal, 1.0 / decimal, 0.0, 0.0)

    return Arbitrage(
        market=market.key,
        line=line,
        yes=leg(book_yes, market.yes, odds_yes, dec_yes),
        no=leg(book_no, market.no, odds_no, dec_no),
        booksum=booksum,
        stake_yes=stake_yes,
        stake_no=stake_no,
        payout=total_stake / booksum,
    )


# A fair-line bet needs no edge of the model: only a book out of line with the fair price.
_FAIR_GATE = Gate(bets_enabled=False, calibrated=True)


def serve(market: Market, line: FairLine, staking: Staking) -> dict | None:
    """The served recommendation against the fair line, or None: the side whose best priced
    price has the larger EV at the served probability, when ``EV >= min_ev`` (the serving rule,
    ``app.staking.pricing.choose_side``), staked by fractional Kelly."""
    best_yes, best_no = best_prices(p.quote for p in line.priced)
    books = {market.yes: best_yes, market.no: best_no}
    candidates = [
        Candidate(side, line.served(side == market.yes), best.decimal)
        for side, best in books.items()
        if best is not None
    ]
    # The market's probability is the served one: the price must clear min_ev against it.
    choice = choose_side(
        (replace(c, market_probability=c.probability) for c in candidates), _FAIR_GATE, staking
    )
    if choice is None:
        return None
    side = choice.candidate.side
    best = books[side]
    return {
        "side": side,
        "odds": best.price,
        "book": best.book,
        "line": line.line,
        "expected_value": choice.expected_value,
        "kelly_fraction": choice.kelly_fraction,
        "recommended_bet_size": staking.bankroll * choice.kelly_fraction,
        "min_odds": round(implied_to_american(choice.candidate.probability)),
        "fair_probability": choice.candidate.probability,
        "market_probability": line.fair_yes if side == market.yes else line.fair_no,
        "model_probability": (
            None
            if line.model_yes is None
            else (line.model_yes if side == market.yes else 1.0 - line.model_yes)
        ),
        "basis": "fair",
        "blend_weight": line.blend_weight,
        "fair_source": line.source,
        "fair_method": line.method,
        "fair_books": list(line.books),
    }
