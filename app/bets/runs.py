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
- **Many games at once.** :class:`RunModels` holds many games' distributions and
  :meth:`RunModels.solve` solves them together: Newton's method on the same two equations,
  vectorised over the games (a finite-difference Jacobian), a game it leaves unsolved
  solved alone by :meth:`RunModel.solve`. One score table is the same code for one game or
  many (:func:`score_tables`).
- **Dispersion.** ``DISPERSION`` is the ``r`` of the greatest likelihood of the final scores
  of 2010-2015 (games and markets before the seasons it is measured on), with each game's
  means solved from its de-vigged opening moneyline and total
  (``bench/run_distribution.py --fit``).
"""

import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from scipy import optimize, sparse, stats

MAX_RUNS = 30
HOME_EXTRA_INNINGS = 0.52
DISPERSION = 3.71


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


def _map(*cells: _Cells) -> sparse.csr_matrix:
    """The cells as a sparse map from the flattened played combinations to final scores
    (duplicates add up)."""
    rows = np.concatenate([np.arange(len(c.index)) for c in cells])
    return sparse.csr_matrix(
        (
            np.concatenate([c.weight for c in cells]),
            (rows, np.concatenate([c.index for c in cells])),
        ),
        shape=(len(cells[0].index), _SIDE**2),
    )


# Transposed (final scores x combinations): the product with the combinations x games.
_LEAD_MAP_T = _map(_LEAD).T.tocsr()
_PLAYED_MAP_T = _map(_NINTH, _EXTRA_AWAY).T.tocsr()
_MARGIN, _TOTAL = (lambda h, a: ((h - a).ravel(), (h + a).ravel()))(*np.indices((_SIDE, _SIDE)))


def _pmfs(dispersion: float, p: np.ndarray) -> np.ndarray:
    """Rows of truncated, renormalised negative-binomial pmfs, one per success probability."""
    pmf = stats.nbinom.pmf(np.arange(MAX_RUNS + 1)[None, :], dispersion, p[:, None])
    return pmf / pmf.sum(axis=1, keepdims=True)


def score_tables(
    home_mean: np.ndarray, away_mean: np.ndarray, dispersion: float = DISPERSION
) -> np.ndarray:
    """The flattened final-score tables (``P[h * (MAX_RUNS + 2) + a]``) of many games, one
    row a game (module rules)."""
    home_mean = np.atleast_1d(np.asarray(home_mean, dtype=float))
    away_mean = np.atleast_1d(np.asarray(away_mean, dtype=float))
    p_home = dispersion / (dispersion + home_mean)
    # Same success probability: eight innings and the ninth add up to the nine-inning law.
    eight = _pmfs(dispersion * 8 / 9, p_home)
    ninth = _pmfs(dispersion / 9, p_home)
    away = _pmfs(dispersion, dispersion / (dispersion + away_mean))
    n = len(home_mean)
    # Games last: each combination's row is contiguous for the sparse product.
    eight, away, ninth = (np.ascontiguousarray(x.T) for x in (eight, away, ninth))
    lead = eight[:, None, :] * away[None, :, :]
    played = (lead[:, :, None, :] * ninth[None, None, :, :]).reshape(-1, n)
    final = (_PLAYED_MAP_T @ played + _LEAD_MAP_T @ lead.reshape(-1, n)).T
    return final / final.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class RunModel:
    """The final-score distribution of one game (module rules)."""

    home_mean: float
    away_mean: float
    dispersion: float = DISPERSION

    @cached_property
    def scores(self) -> np.ndarray:
        """``P[h, a]`` of the final score (``h``, ``a`` up to ``MAX_RUNS + 1``), no ties."""
        return score_tables(self.home_mean, self.away_mean, self.dispersion)[0].reshape(
            _SIDE, _SIDE
        )

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


def _given_no_push(tables: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Per game, the probability of ``value > 0`` given it is not 0 (``value``: one row of
    score-cell values per game)."""
    yes = (tables * (value > 0)).sum(axis=1)
    no = (tables * (value < 0)).sum(axis=1)
    return yes / (yes + no)


@dataclass(frozen=True)
class RunModels:
    """The final-score distributions of many games (module rules), vectorised; a game with
    NaN means has none (its inputs were invalid or unsolvable) and prices NaN."""

    home_mean: np.ndarray
    away_mean: np.ndarray
    dispersion: float = DISPERSION
    # Games per score-table batch (a batch holds games x 31**3 played combinations).
    chunk: int = 400

    def _tables(self, rows: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        for start in range(0, len(rows), self.chunk):
            part = rows[start : start + self.chunk]
            yield part, score_tables(self.home_mean[part], self.away_mean[part], self.dispersion)

    def _price(self, value: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
        """Per game, the probability of ``value(games) > 0`` given it is not 0 (``value``:
        the score cells' values of those games)."""
        out = np.full(len(self.home_mean), np.nan)
        solved = np.flatnonzero(np.isfinite(self.home_mean) & np.isfinite(self.away_mean))
        for part, tables in self._tables(solved):
            out[part] = _given_no_push(tables, value(part))
        return out

    def home_win(self) -> np.ndarray:
        """Per game, the probability the home team wins (a final score is never a tie)."""
        return self._price(lambda part: np.broadcast_to(_MARGIN, (len(part), _SIDE**2)))

    def over_given_no_push(self, lines: np.ndarray) -> np.ndarray:
        """Per game, the probability of the over at its total ``lines`` given no push."""
        lines = np.asarray(lines, dtype=float)
        return self._price(lambda part: _TOTAL[None, :] - lines[part, None])

    def home_cover_given_no_push(self, home_lines: np.ndarray) -> np.ndarray:
        """Per game, the probability the home team covers its run line given no push."""
        home_lines = np.asarray(home_lines, dtype=float)
        return self._price(lambda part: _MARGIN[None, :] + home_lines[part, None])

    @classmethod
    def solve(
        cls,
        home_win: np.ndarray,
        total_line: np.ndarray,
        over: np.ndarray,
        dispersion: float = DISPERSION,
        iterations: int = 40,
    ) -> "RunModels":
        """Per game, the model of :meth:`RunModel.solve` (module rules): NaN means where the
        inputs are invalid or no pair of means reproduces them."""
        home_win, total_line, over = (
            np.asarray(a, dtype=float) for a in (home_win, total_line, over)
        )
        n = len(home_win)
        valid = (
            (home_win > 0) & (home_win < 1) & (over > 0) & (over < 1) & (total_line > 0)
        )  # NaN compares False
        x = np.zeros((n, 2))
        x[valid, 0] = np.log(total_line[valid])
        x[valid, 1] = 0.8 * (home_win[valid] - 0.5) * 4.0
        step = 1e-6

        def gaps(rows: np.ndarray, at: np.ndarray) -> np.ndarray:
            mean, share = np.exp(at[:, 0]), 1.0 / (1.0 + np.exp(-at[:, 1]))
            out = np.empty((len(rows), 2))
            for start in range(0, len(rows), RunModels.chunk):
                block = slice(start, start + RunModels.chunk)
                tables = score_tables(
                    mean[block] * share[block], mean[block] * (1 - share[block]), dispersion
                )
                out[block, 0] = (tables * (_MARGIN > 0)).sum(axis=1) - home_win[rows[block]]
                out[block, 1] = (
                    _given_no_push(tables, _TOTAL[None, :] - total_line[rows[block], None])
                    - over[rows[block]]
                )
            return out

        active = np.flatnonzero(valid)
        residual = np.full((n, 2), np.inf)
        for iteration in range(iterations):
            at = x[active]
            g = gaps(active, at)
            residual[active] = g
            done = np.abs(g).max(axis=1) < 1e-10
            active, at, g = active[~done], at[~done], g[~done]
            if len(active) == 0 or iteration == iterations - 1:
                break
            # Forward differences: the Jacobian's two columns.
            j0 = (gaps(active, at + np.array([step, 0.0])) - g) / step
            j1 = (gaps(active, at + np.array([0.0, step])) - g) / step
            det = j0[:, 0] * j1[:, 1] - j1[:, 0] * j0[:, 1]
            dx0 = (g[:, 0] * j1[:, 1] - j1[:, 0] * g[:, 1]) / det
            dx1 = (j0[:, 0] * g[:, 1] - g[:, 0] * j0[:, 1]) / det
            x[active] = at - np.clip(np.column_stack([dx0, dx1]), -1.0, 1.0)
        mean, share = np.exp(x[:, 0]), 1.0 / (1.0 + np.exp(-x[:, 1]))
        home_mean, away_mean = mean * share, mean * (1 - share)
        unsolved = valid & ~(np.abs(residual).max(axis=1) <= 1e-6)
        for i in np.flatnonzero(unsolved):
            try:
                alone = RunModel.solve(home_win[i], total_line[i], over[i], dispersion)
                home_mean[i], away_mean[i] = alone.home_mean, alone.away_mean
            except ValueError:
                home_mean[i] = away_mean[i] = np.nan
        home_mean[~valid] = away_mean[~valid] = np.nan
        return cls(home_mean, away_mean, dispersion)


def price_home_run_lines(
    home_win: np.ndarray, total_line: np.ndarray, over: np.ndarray, home_line: np.ndarray
) -> np.ndarray:
    """Per game, the probability the home team covers ``home_line`` (given no push) from the
    distribution solved from ``home_win`` and ``over`` at ``total_line`` (NaN: unsolvable)."""
    return RunModels.solve(home_win, total_line, over).home_cover_given_no_push(home_line)
