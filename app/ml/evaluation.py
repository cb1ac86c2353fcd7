"""A model's probabilities against the market's on exactly the same games, and a betting run.

The games evaluated for a target are those with a model label AND every price the
comparison needs: the opening and the closing two-way prices (and lines) of the
target's market. Each market quote is graded against its own line: the closing total
against the runs over the CLOSING total, the opening total against the opening one
(the model's label), by the market's one outcome rule (``app.markets``: a game shortened
below its length voids totals and run lines there too). SBRO has no opening run line,
so ``home_spread`` has only a closing market, and its betting simulation bets at closing
prices (its CLV is then undefined and reported as None).

``edge_evidence`` says whether a model may be trusted to bet: on games it was neither
fitted nor early-stopped on, its per-game log loss must beat the market it would bet
against by more than ``EDGE_MARGIN``, significantly by the paired test with standard errors
clustered by date, at the level corrected for three targets (:mod:`app.ml.significance`).
Bets are served only by champions with that evidence on their held-out games.
"""

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from app.markets import MARKETS, Quote
from app.ml.metrics import probability_metrics
from app.ml.significance import EDGE_MARGIN, log_loss_test
from app.odds import devig_two_way_array
from app.staking.simulate import SimulationResult, simulate


def quote_probability(games: pd.DataFrame, quote: Quote) -> np.ndarray:
    """The de-vigged probability of the quote's 'yes' side; NaN where a price or line is bad."""
    yes = devig_two_way_array(games[quote.yes].to_numpy(float), games[quote.no].to_numpy(float))[0]
    if quote.line is not None:
        yes = np.where(np.isfinite(games[quote.line].to_numpy(float)), yes, np.nan)
    return yes


@dataclass
class Evaluation:
    """One target's model and market metrics on the same games, and its betting run."""

    target: str
    n_labelled: int
    metrics: dict[str, Any]
    y: np.ndarray = field(repr=False)
    p_model: np.ndarray = field(repr=False)
    p_market: dict[str, np.ndarray] = field(repr=False)
    simulation: SimulationResult | None = field(repr=False)
    # Each market quote's own label (a closing total graded at the closing total).
    y_market: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    # The mask of the evaluated rows among the games given, and their dates.
    rows: np.ndarray = field(default_factory=lambda: np.zeros(0, bool), repr=False)
    dates: np.ndarray = field(default_factory=lambda: np.zeros(0), repr=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes None), with the bankroll curve."""
        body = {"target": self.target, "n_labelled": self.n_labelled, **self.metrics}
        if self.simulation is not None:
            body["bankroll_curve"] = [[d, v] for d, v in self.simulation.curve]
        return json_safe(body)


def evaluate(games: pd.DataFrame, target: str, p_model: np.ndarray) -> Evaluation:
    """Model vs market (open and close) on the games that have every price, plus betting."""
    games = games.reset_index(drop=True)
    p_model = np.asarray(p_model, dtype=float)
    market = MARKETS[target]
    y_all = market.outcome(games).to_numpy()
    labelled = ~np.isnan(y_all)
    quotes = {"open": market.open, "close": market.close}
    keep = labelled.copy()
    market_p: dict[str, np.ndarray] = {}
    market_y: dict[str, np.ndarray] = {}
    for moment, quote in quotes.items():
        if quote is None:
            continue
        market_p[moment] = quote_probability(games, quote)
        market_y[moment] = market.outcome(games, quote.line).to_numpy()
        keep &= ~np.isnan(market_p[moment]) & ~np.isnan(market_y[moment])
    y = y_all[keep]
    metrics: dict[str, Any] = {
        "n": int(keep.sum()),
        "model": _metrics(y, p_model[keep]),
        "model_all_labelled": _metrics(y_all[labelled], p_model[labelled]),
    }
    for moment in ("open", "close"):
        if moment in market_p:
            metrics[f"market_{moment}"] = _metrics(market_y[moment][keep], market_p[moment][keep])
        else:
            metrics[f"market_{moment}"] = None
    bet_moment = "open" if quotes["open"] is not None else "close"
    metrics["edge_evidence"] = edge_evidence(
        market_y[bet_moment][keep],
        p_model[keep],
        market_p[bet_moment][keep],
        games["game_date"].to_numpy()[keep],
    )
    simulation = _simulate(games[keep], target, p_model[keep], y, market_p, keep)
    metrics["betting"] = simulation.summary() if simulation is not None else None
    metrics["betting_prices"] = bet_moment
    return Evaluation(
        target=target,
        n_labelled=int(labelled.sum()),
        metrics=metrics,
        y=y,
        p_model=p_model[keep],
        p_market={moment: p[keep] for moment, p in market_p.items()},
        simulation=simulation,
        y_market={moment: labels[keep] for moment, labels in market_y.items()},
        rows=keep,
        dates=games["game_date"].to_numpy()[keep],
    )


def edge_evidence(
    y: np.ndarray, p_model: np.ndarray, p_market: np.ndarray, dates: np.ndarray
) -> dict[str, Any]:
    """The model's mean per-game log-loss advantage over the market, its SE clustered by
    date, the one-sided p-value and whether it may bet (module docstring)."""
    test = log_loss_test(y, p_market, p_model, dates, margin=EDGE_MARGIN)
    return test.as_dict() | {"bets_enabled": test.significant}


def _simulate(
    games: pd.DataFrame,
    target: str,
    p_model: np.ndarray,
    y: np.ndarray,
    market_p: dict[str, np.ndarray],
    keep: np.ndarray,
) -> SimulationResult | None:
    if len(y) == 0:
        return None
    market = MARKETS[target]
    bet_quote = market.priced
    close = None
    if market.open is not None and "close" in market_p:
        close = market_p["close"][keep]
        if bet_quote.line is not None:
            # A closing price of another line is no measure of the price taken.
            same_line = games[bet_quote.line].to_numpy(float) == games[market.close.line].to_numpy(
                float
            )
            close = np.where(same_line, close, np.nan)
    return simulate(
        games["game_date"].to_numpy(),
        p_model,
        games[bet_quote.yes].to_numpy(float),
        games[bet_quote.no].to_numpy(float),
        y,
        close,
    )


def _metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float] | None:
    if len(y) == 0:
        return None
    return probability_metrics(y, p)


def json_safe(value: Any) -> Any:
    """``value`` with NaN/inf floats as None and numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
