"""Which de-vig method is best calibrated: each method's fair probability against results.

For every market (moneyline, total, run line) at the open and the close, every method of
``app.bets.devig`` turns the SBRO archive's two prices into the yes side's fair probability,
scored against the results by log loss and expected calibration error (10 equal bins) on
the same games (``app.bets.devig.calibration``). Prints one Markdown table and the method
with the lowest log loss over the closes, pooled by game count (what ``BULLPEN_DEVIG``
defaults to).

Usage: ``.venv/bin/python bench/devig_calibration.py [WORKBOOK.xlsx ...]`` (default: the
shipped sample's workbooks). Games are read from the workbooks alone: without Retrosheet's
lengths, a rain-shortened game counts as complete here.
"""

import sys
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from app.bets.devig import calibration
from app.ingest.sbro import mark_postseason, parse_workbook, read_workbook, regular_season_end

SAMPLE = Path(__file__).resolve().parent.parent / "data" / "sample"


def games_of(paths: list[Path]) -> pd.DataFrame:
    """The regular-season games of the workbooks, one row each."""
    rows = []
    for path in paths:
        games = parse_workbook(read_workbook(path)).games
        mark_postseason(games, regular_season_end(games))
        rows += [asdict(game) for game in games if not game.postseason]
        print(f"{path.name}: {len(games)} games", file=sys.stderr)
    return pd.DataFrame(rows)


def best_close(table: pd.DataFrame) -> str:
    """The proper method (worst-case is no distribution) with the lowest pooled close log loss."""
    closes = table[(table["moment"] == "close") & (table["method"] != "worst_case")]
    pooled = closes.assign(weighted=closes["log_loss"] * closes["n"]).groupby("method")
    return str((pooled["weighted"].sum() / pooled["n"].sum()).idxmin())


def main(argv: list[str]) -> None:
    paths = [Path(arg) for arg in argv] or sorted(SAMPLE.glob("*.xlsx"))
    table = pd.DataFrame(calibration(games_of(paths)))
    print("| market | moment | n | method | log loss | ECE |")
    print("| --- | --- | ---: | --- | ---: | ---: |")
    for row in table.itertuples(index=False):
        print(
            f"| {row.market} | {row.moment} | {row.n} | {row.method} | "
            f"{row.log_loss:.5f} | {row.ece:.4f} |"
        )
    print(f"\nbest calibrated at the close (pooled log loss): {best_close(table)}")


if __name__ == "__main__":
    main(sys.argv[1:])
