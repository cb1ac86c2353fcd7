"""One run distribution: every line of a game priced from one model of its score.

Rules:

- **The score.** Each team's runs over nine innings are a negative binomial of mean ``mu``
  and dispersion ``r`` (``scipy.stats.nbinom(r, r / (r + mu))``, variance
  ``mu + mu**2 / r``), the two teams independent, truncated at ``MAX_RUNS``. The home
  team's eight innings and its ninth are negative binomials of dispersion ``8r/9`` and
  ``r/9`` with the same success probability (so they add up to the nine-inning law), and
  the game is played out as baseball ends it: a home team leading after eight and a half
  does not bat; a tie after nine goes to extra innings, won by the home team with
  probability ``HOME_EXTRA_INNINGS`` (its 2010-2015 share, Retrosheet), by one run. The
  final score has no tie, as MLB's has none. A home team that goes ahead in the ninth keeps
  its whole ninth (capping a walk-off at one run priced the run line worse on 2019).
- **Solved from the market.** The two means are the pair that gives exactly the market's
  de-vigged home moneyline probability and its de-vigged probability of the over at its
  total (over given no push, for a whole-number total); ``scipy.optimize.root`` on
  (log total mean, logit home share), so that the model reproduces both inputs.
- **Moved by the model.** :meth:`RunModel.solve` takes any probabilities: the model's, or a
  blend of the model's and the market's, so that the model moves the means, and with them
  every line, consistently.
- **Every line.** From the one score distribution: the moneyline, the total at any line and
  the run line at any line (either side, with its push probability at a whole-number line),
  so an alternate total or run line has a price when no book quotes it.
- **Dispersion.** ``DISPERSION`` is the ``r`` of the greatest likelihood of the final scores
  of 2010-2015 (games and markets before the seasons it is measured on), with each game's
  means solved from its de-vigged opening moneyline and total
  (``bench/run_distribution.py --fit``).
"""

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import optimize, stats

MAX_RUNS = 30
HOME_EXTRA_INNINGS = 0.52
DISPERSION = 3.71


def _pmf_p(dispersion: float, p: float) -> np.ndarray:
    pmf = stats.nbinom.pmf(np.arange(MAX_RUNS + 1), dispersion, p)
    return pmf / pmf.sum()


def _pmf(mean: float, dispersion: float) -> np.ndarray:
    return _pmf_p(dispersion, dispersion / (dispersion + mean))


@dataclass(frozen=True)
class _Cells:
    """Where each (runs) combination lands in the flattened final-score table, and the share
    of its probability that lands there."""

    index: np.ndarray
    weight: np.ndarray


_SIDE = MAX_RUNS + 2  # final scores 0..MAX_RUNS + 1 (a tie won in extra innings adds one)


def _cells() -> tuple[_Cells, _Cells, _Cells]:
    """The fixed map of the module rules: home after eight x away (the home team leads: the
    final), and home after eight x away x home's ninth (played only when not leading)."""
    eight, away = np.indices((MAX_RUNS + 1, MAX_RUNS + 1))
    lead = _Cells((eight * _SIDE + away).ravel(), (eight > away).ravel().astype(float))
    eight, away, ninth = (x.ravel() for x in np.indices((MAX_RUNS + 1,) * 3))
    home = eight + ninth
    bats = eight <= away
    tie = home == away
    # Tied after nine: extra innings, won by one; otherwise the score after the ninth.
    index = np.where(tie, (away + 1) * _SIDE + away, np.minimum(home, MAX_RUNS + 1) * _SIDE + away)
    ninth_cells = _Cells(index, bats * np.where(tie, HOME_EXTRA_INNINGS, 1.0))
    away_wins = _Cells(away * _SIDE + away + 1, bats * tie * (1.0 - HOME_EXTRA_INNINGS))
    return lead, ninth_cells, away_wins


_LEAD, _NINTH, _EXTRA_AWAY = _cells()


@dataclass(frozen=True)
class RunModel:
    """The final-score distribution of one game (module rules)."""

    home_mean: float
    away_mean: float
    dispersion: float = DISPERSION

    @cached_property
    def scores(self) -> np.ndarray:
        """``P[h, a]`` of the final score (``h``, ``a`` up to ``MAX_RUNS + 1``), no ties."""
        p_home = self.dispersion / (self.dispersion + self.home_mean)
        # Same success probability: eight innings and the ninth add up to the nine-inning law.
        eight = _pmf_p(self.dispersion * 8 / 9, p_home)
        ninth = _pmf_p(self.dispersion / 9, p_home)
        away = _pmf(self.away_mean, self.dispersion)
        played = np.einsum("h,a,k->hak", eight, away, ninth).ravel()
        final = (
            np.bincount(_LEAD.index, np.outer(eight, away).ravel() * _LEAD.weight, _SIDE**2)
            + np.bincount(_NINTH.index, played * _NINTH.weight, _SIDE**2)
            + np.bincount(_EXTRA_AWAY.index, played * _EXTRA_AWAY.weight, _SIDE**2)
        )
        return final.reshape(_SIDE, _SIDE) / final.sum()

    @cached_property
    def _margin_total(self) -> tuple[np.ndarray, np.ndarray]:
        home, away = np.indices(self.scores.shape)
        return home - away, home + away

    def home_win(self) -> float:
        """The probability the home team wins."""
        margin, _ = self._margin_total
        return float(self.scores[margin > 0].sum())

    def total(self, line: float) -> tuple[float, float, float]:
        """(over, under, push) at the total ``line``."""
        _, total = self._margin_total
        return self._split(total - line)

    def run_line(self, home_line: float) -> tuple[float, float, float]:
        """(home covers, away covers, push) with the home team at ``home_line`` (-1.5: the
        home team must win by two)."""
        margin, _ = self._margin_total
        return self._split(margin + home_line)

    def _split(self, value: np.ndarray) -> tuple[float, float, float]:
        yes = float(self.scores[value > 0].sum())
        no = float(self.scores[value < 0].sum())
        return yes, no, float(self.scores[value == 0].sum())

    def over_given_no_push(self, line: float) -> float:
        over, under, _ = self.total(line)
        return over / (over + under)

    def home_cover_given_no_push(self, home_line: float) -> float:
        home, away, _ = self.run_line(home_line)
        return home / (home + away)

    @classmethod
    def solve(
        cls, home_win: float, total_line: float, over: float, dispersion: float = DISPERSION
    ) -> "RunModel":
        """The model whose home win probability is ``home_win`` and whose probability of the
        over at ``total_line`` (given no push) is ``over`` (module rules)."""
        if not (0.0 < home_win < 1.0 and 0.0 < over < 1.0 and total_line > 0):
            raise ValueError(
                f"no run model for home win {home_win}, total {total_line}, over {over}"
            )

        def model(x: np.ndarray) -> "RunModel":
            mean, share = math.exp(x[0]), 1.0 / (1.0 + math.exp(-x[1]))
            return cls(mean * share, mean * (1.0 - share), dispersion)

        def gaps(x: np.ndarray) -> list[float]:
            candidate = model(x)
            return [
                candidate.home_win() - home_win,
                candidate.over_given_no_push(total_line) - over,
            ]

        start = np.array([math.log(total_line), 0.8 * (home_win - 0.5) * 4.0])
        solution = optimize.root(gaps, start, method="hybr", options={"xtol": 1e-10})
        fitted = model(solution.x)
        if max(abs(g) for g in gaps(solution.x)) > 1e-6:
            raise ValueError(
                f"no run model reproduces home win {home_win} and over {over} at {total_line}"
            )
        return fitted
