"""A chunk of games priced: each market's de-vigged price, its fair line, the bet served at the
best price and its stake, the daily exposure cap and the risk (rules: ``app.staking.pricing``).

It takes the model's probabilities as numbers and what each model has earned as a
:class:`~app.staking.pricing.Gate`; it knows nothing of models. Every number is computed per
market over the whole chunk with numpy; only a market with quotes or an open gate goes
through the books row by row (its books differ from game to game).
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import numpy as np

from app.bets.fairline import FairLineRules, fair_line, serve
from app.bets.quotes import Quotes, first_pitch
from app.bets.strategies import Strategy, served_bet, strategy_bets
from app.markets import MARKETS
from app.odds import devig_two_way_array
from app.staking.kelly import StakingPolicy
from app.staking.pricing import (
    BookQuote,
    Gate,
    Staking,
    apply_daily_exposure,
    price_shop,
    risk_level,
)


def staking_for(params: Mapping[str, Any], settings: Any) -> Staking:
    """A job's staking: the request's values, else the configured ones."""
    return Staking(
        bankroll=float(params.get("bankroll") or settings.bankroll),
        policy=StakingPolicy(
            fraction=float(params.get("kelly_fraction") or settings.kelly_fraction),
            cap=float(params.get("kelly_cap") or settings.kelly_cap),
        ),
        daily_exposure=float(params.get("daily_exposure") or settings.daily_exposure),
        min_ev=float(params["min_ev"] if params.get("min_ev") is not None else settings.min_ev),
    )


@dataclass(frozen=True)
class GamePrices:
    """What pricing reads of a chunk's games, column by column (one entry per game).

    ``columns`` holds each price and line column (``app.markets``) as float64, NaN where
    missing; ``starts`` each first pitch (None when unknown) and ``dates`` each game date.
    """

    columns: Mapping[str, np.ndarray]
    starts: Sequence[datetime | None]
    dates: Sequence[date]
    stored: Sequence[bool]

    def __len__(self) -> int:
        return len(self.dates)

    def column(self, name: str) -> np.ndarray:
        values = self.columns.get(name)
        return np.full(len(self), np.nan) if values is None else values

    def row(self, index: int) -> "GamePrices":
        """The one game at ``index``, as a chunk of its own."""
        at = slice(index, index + 1)
        return GamePrices(
            columns={name: values[at] for name, values in self.columns.items()},
            starts=self.starts[at],
            dates=self.dates[at],
            stored=self.stored[at],
        )


@dataclass(frozen=True)
class ChunkPrices:
    """Per market key, each game's de-vigged market probability (None without prices); per
    game, the line of each line market, the bets served (after the exposure cap), the other
    strategies' paper bets (``{market: {strategy: bet}}``) and the risk."""

    market_probabilities: dict[str, list[float | None]]
    lines: list[dict[str, float | None]]
    recommendations: list[dict[str, dict]]
    paper_bets: list[dict[str, dict]]
    risk_levels: list[str]

    @classmethod
    def concat(cls, parts: Sequence["ChunkPrices"]) -> "ChunkPrices":
        """The chunks' games one after the other."""
        return cls(
            {key: [p for part in parts for p in part.market_probabilities[key]]
             for key in parts[0].market_probabilities},
            [lines for part in parts for lines in part.lines],
            [bets for part in parts for bets in part.recommendations],
            [bets for part in parts for bets in part.paper_bets],
            [level for part in parts for level in part.risk_levels],
        )  # fmt: skip


def price_chunk(
    games: GamePrices,
    probabilities: Mapping[str, np.ndarray],
    gates: Mapping[str, Gate],
    staking: Staking,
    *,
    moment: datetime,
    quotes: Sequence[Quotes] | None = None,
    fair_rules: FairLineRules | None = None,
    iso_dates: Sequence[str],
    blend_weights: Mapping[str, float] | None = None,
    strategies: Mapping[str, Strategy] | None = None,
    live: Iterable[str] = (),
) -> ChunkPrices:
    """Price every market of ``games`` for the targets in ``probabilities``.

    ``quotes`` holds each game's book quotes by market (``app.bets.quotes``); without them a
    game is priced at its own prices (book ``sbro`` for a stored game, ``request`` for a
    described one). With ``fair_rules``, a market whose quotes give a fair line now is served
    against it, whatever the model's gate; a market without one falls back to the model's own
    price, behind its gate, at the quotes no older than the rules' ``max_age``; at or after a
    game's first pitch nothing is served. The daily exposure cap applies to the chunk's dates
    (a job's chunks never split a date, ``app.predictions.jobs.chunk_by_date``).
    ``blend_weights`` is the weight each target's model earned beside the fair line (0 when
    missing). With ``strategies`` (``live``: the names of the live ones), each strategy prices
    a fair-line market on its own (``app.bets.strategies``): the served bet is the first live
    one's (else the first strategy's, paper), the others are paper bets.
    """
    rows = len(games)
    pitches = (
        [first_pitch(start, day) for start, day in zip(games.starts, games.dates, strict=True)]
        if quotes and fair_rules is not None
        else None
    )
    market_probabilities: dict[str, list[float | None]] = {}
    lines: list[dict[str, float | None]] = [{} for _ in range(rows)]
    recommendations: list[dict[str, dict]] = [{} for _ in range(rows)]
    paper_bets: list[dict[str, dict]] = [{} for _ in range(rows)]
    for target, market in MARKETS.items():
        price_yes = np.trunc(games.column(market.priced.yes))
        price_no = np.trunc(games.column(market.priced.no))
        market_probabilities[market.key] = _nullable(devig_two_way_array(price_yes, price_no)[0])
        probability = probabilities.get(target)
        if probability is None:
            continue
        line_column = market.line
        market_lines = _nullable(games.column(line_column)) if line_column else [None] * rows
        if line_column:
            for row_lines, line in zip(lines, market_lines, strict=True):
                row_lines[target] = line
        gate = gates[target]
        weight = float((blend_weights or {}).get(target, 0.0))
        if not gate.open and pitches is None:
            continue
        model_probabilities = probability.tolist()
        yes_prices, no_prices = _nullable_prices(price_yes), _nullable_prices(price_no)
        for row in range(rows):
            line = market_lines[row]
            if line_column is not None and line is None:
                continue
            if pitches is not None and moment >= pitches[row]:
                continue  # betting closed at first pitch: nothing is served, by any rule
            if quotes:
                game_quotes = quotes[row].get(market.key, [])
            else:
                book = "sbro" if games.stored[row] else "request"
                game_quotes = [BookQuote(book, yes_prices[row], no_prices[row], line)]
            fair = None
            if pitches is not None and game_quotes:
                fair = fair_line(
                    market, game_quotes, line, moment, pitches[row], fair_rules,
                    model_probabilities[row], weight,
                )  # fmt: skip
            if fair is not None and strategies is not None:
                taken = strategy_bets(
                    market, fair, game_quotes, moment, pitches[row], fair_rules, strategies,
                    live, staking,
                )  # fmt: skip
                bet = served_bet(taken)
                others = {name: other for name, other in taken.items() if other is not bet}
                if others:
                    paper_bets[row][market.key] = others
            elif fair is not None:
                bet = serve(market, fair, staking)
            elif gate.open:
                if pitches is not None:
                    game_quotes = fresh(game_quotes, moment, fair_rules.max_age)
                bet = price_shop(market, model_probabilities[row], game_quotes, line, gate, staking)
            else:
                bet = None
            if bet is not None:
                recommendations[row][market.key] = bet
    # The cap reads each game's date and recommendations (and scales the latter in place).
    apply_daily_exposure(
        [
            {"game": {"game_date": day}, "betting_recommendations": bets}
            for day, bets in zip(iso_dates, recommendations, strict=True)
        ],
        staking,
    )
    return ChunkPrices(
        market_probabilities,
        lines,
        recommendations,
        paper_bets,
        [risk_level(r) for r in recommendations],
    )


def fresh(quotes: Iterable[BookQuote], moment: datetime, max_age: timedelta) -> list[BookQuote]:
    """The quotes a book showed at most ``max_age`` before ``moment`` (the fair line's age
    rule): a quote of unknown capture time, or an old one, is no price to bet at now."""
    return [
        quote
        for quote in quotes
        if quote.captured_at is not None and timedelta(0) <= moment - quote.captured_at <= max_age
    ]


def _nullable(values: np.ndarray) -> list[float | None]:
    """Python floats, None where NaN."""
    return [None if value != value else value for value in values.tolist()]


def _nullable_prices(values: np.ndarray) -> list[int | None]:
    return [None if value != value else int(value) for value in values.tolist()]
