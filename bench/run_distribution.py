"""How well one run distribution prices the lines it was not given (``app.bets.runs``).

For each regular-season game of the held-out seasons the model's two team means are solved
from the de-vigged (additive) moneyline and total, then it prices:

- the run line at SBRO's (closing) run line, from the OPEN moneyline and total, and from
  the CLOSE ones, against the de-vigged closing run-line price itself;
- the total at the closing line on the games whose closing total differs from the opening
  one (an "alternate line" to the open), from the open moneyline and total, against the
  de-vigged closing total price at that line (the close knows more than the open: this
  mixes the distribution's shape with the line's move);
- the total at lines no book quoted (the closing total -1 to +1), from the close, against
  the results alone: the shape of the distribution on the same information.

Each against the results on the same games (pushes and unpriced games out): log loss and
ECE (10 equal bins). ``--fit`` first measures, on the fitting seasons only, the home share
of extra-inning games and the dispersion ``r`` of the greatest likelihood of the final
scores (a sample of games, each solved from its open); the constants in
``app.bets.runs`` are those numbers.

Usage: ``.venv/bin/python bench/run_distribution.py [--fit] [--fit-seasons 2010-2015]
[--seasons 2016-2019] [--data ../shared/data/sbro] [--retrosheet ../shared/data/retrosheet]``.
Games are read from the workbooks alone (a rain-shortened game counts as complete).
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
from devig_calibration import games_of
from scipy import optimize

from app.bets.devig import fair_pairs
from app.bets.runs import DISPERSION, RunModel
from app.ingest.retrosheet.parse import parse_game_log, read_game_log
from app.markets import MONEYLINE, RUN_LINE, TOTAL
from app.ml.metrics import expected_calibration_error, log_loss
from app.odds import american_to_implied_array

DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "sbro"


def seasons(text: str) -> list[int]:
    first, _, last = text.partition("-")
    return list(range(int(first), int(last or first) + 1))


def fair(games: pd.DataFrame, yes: str, no: str) -> np.ndarray:
    """The additive de-vigged probability of the yes side (NaN without both prices)."""
    q_yes = american_to_implied_array(games[yes].to_numpy(np.float64, na_value=np.nan))
    q_no = american_to_implied_array(games[no].to_numpy(np.float64, na_value=np.nan))
    out = np.full(len(games), np.nan)
    keep = np.isfinite(q_yes) & np.isfinite(q_no)
    out[keep] = fair_pairs(q_yes[keep], q_no[keep], "additive")[0]
    return out


def models(games: pd.DataFrame, moment: str, dispersion: float) -> list[RunModel | None]:
    """Each game's run model solved from its ``moment`` (open/close) moneyline and total."""
    ml, tot = getattr(MONEYLINE, moment), getattr(TOTAL, moment)
    home = fair(games, ml.yes, ml.no)
    over = fair(games, tot.yes, tot.no)
    lines = games[tot.line].to_numpy(np.float64, na_value=np.nan)
    solved: list[RunModel | None] = []
    for p_home, line, p_over in zip(home, lines, over, strict=True):
        try:
            solved.append(RunModel.solve(p_home, line, p_over, dispersion))
        except ValueError:  # NaN inputs, or prices no pair of means reproduces
            solved.append(None)
    return solved


def scored(name: str, y: np.ndarray, model: np.ndarray, market: np.ndarray) -> None:
    keep = np.isfinite(y) & np.isfinite(model) & np.isfinite(market)
    y, model, market = y[keep], model[keep], market[keep]
    print(
        f"| {name} | {int(keep.sum())} | {log_loss(y, model):.5f} | "
        f"{expected_calibration_error(y, model):.4f} | {log_loss(y, market):.5f} | "
        f"{expected_calibration_error(y, market):.4f} |"
    )


def alternate(games: pd.DataFrame, solved: list[RunModel | None]) -> None:
    """Totals at lines no book quoted (the closing total moved by -1 to +1 runs) priced from
    the close: calibration against the results alone (no market price exists there)."""
    close = games[TOTAL.close.line].to_numpy(np.float64, na_value=np.nan)
    for shift in (-1.0, -0.5, 0.5, 1.0):
        at = games.assign(alternate=close + shift)
        y = TOTAL.outcome(at, "alternate").to_numpy()
        p = np.array(
            [
                m.over_given_no_push(line + shift) if m is not None else np.nan
                for m, line in zip(solved, close, strict=True)
            ]
        )
        keep = np.isfinite(y) & np.isfinite(p)
        print(
            f"| total at close {shift:+.1f} (no market), close moneyline + total | "
            f"{int(keep.sum())} | {log_loss(y[keep], p[keep]):.5f} | "
            f"{expected_calibration_error(y[keep], p[keep]):.4f} | — | — |"
        )


def fit(games: pd.DataFrame, logs_of: list[Path], sample: int) -> float:
    """Print the home share of extra-inning games and return the r of greatest likelihood."""
    logs = [
        game
        for path in logs_of
        for game in parse_game_log(read_game_log(path))[0]
        if game.length_outs is not None and game.length_outs > 54
    ]
    share = sum(game.home_score > game.away_score for game in logs) / len(logs)
    print(f"extra-inning games (Retrosheet, > 54 outs): {len(logs)}, home won {share:.4f}")
    rows = games.sample(n=min(sample, len(games)), random_state=18)
    home = rows["home_score"].to_numpy(int).clip(0, 31)
    away = rows["away_score"].to_numpy(int).clip(0, 31)

    def negative_log_likelihood(log_r: float) -> float:
        solved = models(rows, "open", float(np.exp(log_r)))
        terms = [
            np.log(max(m.scores[h, a], 1e-300))
            for m, h, a in zip(solved, home, away, strict=True)
            if m is not None
        ]
        print(f"  r {np.exp(log_r):7.3f}: mean log likelihood {np.mean(terms):.5f} ({len(terms)})")
        return -float(np.mean(terms))

    best = optimize.minimize_scalar(
        negative_log_likelihood, bounds=(np.log(1.0), np.log(60.0)), method="bounded",
        options={"xatol": 0.03},
    )  # fmt: skip
    return float(np.exp(best.x))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fit", action="store_true")
    parser.add_argument("--fit-seasons", default="2010-2015")
    parser.add_argument("--seasons", default="2016-2019")
    parser.add_argument("--sample", type=int, default=1500)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--retrosheet", type=Path, default=DATA.parent / "retrosheet")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    dispersion = DISPERSION
    if args.fit:
        training = games_of([args.data / f"mlb-odds-{y}.xlsx" for y in seasons(args.fit_seasons)])
        logs = [args.retrosheet / f"GL{y}.TXT.gz" for y in seasons(args.fit_seasons)]
        dispersion = fit(training, logs, args.sample)
        print(f"dispersion r of greatest likelihood ({args.fit_seasons}): {dispersion:.3f}")
    games = games_of([args.data / f"mlb-odds-{y}.xlsx" for y in seasons(args.seasons)])
    print(f"{len(games)} games of {args.seasons}, r = {dispersion:.3f}")
    rl_price = fair(games, RUN_LINE.close.yes, RUN_LINE.close.no)
    rl_y = RUN_LINE.outcome(games, RUN_LINE.close.line).to_numpy()
    rl_line = games[RUN_LINE.close.line].to_numpy(np.float64, na_value=np.nan)
    total_close = games[TOTAL.close.line].to_numpy(np.float64, na_value=np.nan)
    total_open = games[TOTAL.open.line].to_numpy(np.float64, na_value=np.nan)
    moved = np.isfinite(total_close) & (total_close != total_open)
    total_price = np.where(moved, fair(games, TOTAL.close.yes, TOTAL.close.no), np.nan)
    total_y = TOTAL.outcome(games, TOTAL.close.line).to_numpy()
    print("| priced from | n | model log loss | model ECE | market log loss | market ECE |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    for moment in ("open", "close"):
        solved = models(games, moment, dispersion)
        rl = np.array(
            [
                m.home_cover_given_no_push(line) if m is not None and np.isfinite(line) else np.nan
                for m, line in zip(solved, rl_line, strict=True)
            ]
        )
        scored(f"run line, {moment} moneyline + total", rl_y, rl, rl_price)
        if moment == "open":
            total = np.array(
                [
                    m.over_given_no_push(line) if m is not None and keep else np.nan
                    for m, line, keep in zip(solved, total_close, moved, strict=True)
                ]
            )
            scored(
                "closing total (moved line), open moneyline + total", total_y, total, total_price
            )
        else:
            alternate(games, solved)
    print(f"wall time {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main(sys.argv[1:])
