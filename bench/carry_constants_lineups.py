"""Measure the carried constants of the candidate families (app.features.families: lineups,
pitching) on 2010-2018, as ``bench/carry_constants.py`` measures the others.

Usage: ``python bench/carry_constants_lineups.py ../shared/data/retrosheet`` (game logs; 2019
and later are never read). r = year-to-year correlation of the rate; k (the prior's weight, in
starts) = per-start noise variance / (var(rate) * (1 - r^2) - mean(noise / starts next
season)). The rates are those the families compute: a player's team runs per game in his
starts (players with >= 50 starts in both seasons); a starter's team FIP components and runs
of innings 1-5 per start (>= 10 starts).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

from app.games.line_scores import line_score_innings

LAST_TRAINING_SEASON = 2018
# Game-log fields (0-based): scores, line scores, batting K/BB/HBP/HR, putouts, starters.
AWAY_SCORE, HOME_SCORE, AWAY_LINE, HOME_LINE = 9, 10, 19, 20
BATTING = {"hr": 4, "hbp": 8, "bb": 9, "k": 11}  # offsets in a team's box block
AWAY_BOX, HOME_BOX, PUTOUTS = 21, 49, 22  # PUTOUTS: offset in a team's box block
AWAY_PITCHER, HOME_PITCHER, AWAY_LINEUP, HOME_LINEUP = 101, 103, 105, 132


def load(folder: Path) -> pd.DataFrame:
    frames = []
    for path in sorted(folder.glob("GL20*.TXT.gz")):
        season = int(path.name[2:6])
        if season <= LAST_TRAINING_SEASON:
            frames.append(pd.read_csv(path, header=None, dtype=str).assign(season=season))
    return pd.concat(frames, ignore_index=True)


def measure(label: str, per: pd.DataFrame, key: str, noise: float, min_n: int) -> None:
    """``per``: key, season, value (the season's rate), n (its count)."""
    per = per[per["n"] >= min_n]
    following = per.assign(season=per["season"] - 1)
    pairs = per.merge(following, on=[key, "season"], suffixes=("", "_next"))
    r = np.corrcoef(pairs["value"], pairs["value_next"])[0, 1]
    left = per["value"].var() * (1 - r * r) - (noise / pairs["n_next"]).mean()
    print(f"{label}: {len(pairs)} pairs, r = {r:.3f}, k = {noise / left:.1f}")


def main(folder: Path) -> None:
    logs = load(folder)
    sides = []
    for score, box, pitcher, lineup, other_box, other_line in (
        (HOME_SCORE, HOME_BOX, HOME_PITCHER, HOME_LINEUP, AWAY_BOX, AWAY_LINE),
        (AWAY_SCORE, AWAY_BOX, AWAY_PITCHER, AWAY_LINEUP, HOME_BOX, HOME_LINE),
    ):
        batting = {name: logs[other_box + offset].astype(float) for name, offset in BATTING.items()}
        frame = pd.DataFrame(
            {
                "season": logs["season"],
                "scored": logs[score].astype(float),
                "pitcher": logs[pitcher],
                "ip": logs[box + PUTOUTS].astype(float) / 3,  # the defence's putouts
                **batting,
                "early": [line_score_innings(text, 5)[0] for text in logs[other_line]],
                **{f"p{slot}": logs[lineup + 3 * slot] for slot in range(9)},
            }
        )
        sides.append(frame)
    rows = pd.concat(sides, ignore_index=True)
    # A player's team runs per game in his starts.
    starts = rows.melt(id_vars=["season", "scored"], value_vars=[f"p{s}" for s in range(9)],
                       value_name="player")  # fmt: skip
    per = starts.groupby(["player", "season"])["scored"].agg(value="mean", n="size").reset_index()
    noise = rows.groupby("season")["scored"].var().mean()
    measure("player's team runs per game in his starts", per, "player", noise, 50)
    # A starter's team pitching line, per start.
    rows["fip"] = (13 * rows["hr"] + 3 * (rows["bb"] + rows["hbp"]) - 2 * rows["k"]) / rows["ip"]
    rows["kbb"] = 9 * (rows["k"] - rows["bb"] - rows["hbp"]) / rows["ip"]
    for column, label in (("fip", "FIP core"), ("kbb", "(K-BB-HBP)/9"), ("early", "runs 1-5")):
        per = rows.groupby(["pitcher", "season"])[column].agg(value="mean", n="size")
        noise = rows.groupby("season")[column].var().mean()
        measure(f"starter's team {label} per start", per.reset_index(), "pitcher", noise, 10)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
