"""Measure the carried-rating constants (app.features.families: form, h2h, starters) on 2010-2018.

Usage: ``python bench/carry_constants.py ../shared/data/retrosheet`` (Retrosheet game logs;
2019 and later are never read). For a rate measured each season: r = its year-to-year
correlation between consecutive seasons; k (the prior's weight in games) = per-game noise
variance / (var(rate) * (1 - r^2) - mean(noise / games next season)).
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

LAST_TRAINING_SEASON = 2018
# Retrosheet game-log fields: date, visiting team, home team, their scores, starters' ids.
FIELDS = {0: "date", 3: "away", 6: "home", 9: "away_score", 10: "home_score"}
FIELDS |= {101: "away_pitcher", 103: "home_pitcher"}


def load(folder: Path) -> pd.DataFrame:
    """Every game of the training seasons, one row per team and game."""
    frames = []
    for path in sorted(folder.glob("GL20*.TXT.gz")):
        season = int(path.name[2:6])
        if season > LAST_TRAINING_SEASON:
            continue
        logs = pd.read_csv(path, header=None, usecols=list(FIELDS), dtype=str)
        logs = logs.rename(columns=FIELDS).assign(season=season)
        frames.append(logs)
    games = pd.concat(frames, ignore_index=True)
    home, away = games["home_score"].astype(float), games["away_score"].astype(float)
    return pd.DataFrame(
        {
            "team": np.r_[games["home"], games["away"]],
            "opponent": np.r_[games["away"], games["home"]],
            "season": np.r_[games["season"], games["season"]],
            "won": np.r_[home > away, away > home].astype(float),
            "scored": np.r_[home, away],
            "allowed": np.r_[away, home],
            "pitcher": np.r_[games["home_pitcher"], games["away_pitcher"]],
        }
    )


def measure(label: str, rows: pd.DataFrame, key: str, value: str, noise: float, min_n: int) -> None:
    """Print r and k of ``value`` per (``key``, season) with at least ``min_n`` games."""
    per = rows.groupby([key, "season"])[value].agg(["mean", "size"]).reset_index()
    per = per[per["size"] >= min_n]
    following = per.assign(season=per["season"] - 1)
    pairs = per.merge(following, on=[key, "season"], suffixes=("", "_next"))
    r = np.corrcoef(pairs["mean"], pairs["mean_next"])[0, 1]
    left = per["mean"].var() * (1 - r * r) - (noise / pairs["size_next"]).mean()
    print(f"{label}: {len(pairs)} pairs, r = {r:.3f}, k = {noise / left:.1f}")


def main(folder: Path) -> None:
    rows = load(folder)
    runs_noise = rows.groupby("season")["scored"].var().mean()
    rows["diff"] = rows["scored"] - rows["allowed"]
    measure("team win rate", rows, "team", "won", 0.25, 1)
    measure("team runs scored per game", rows, "team", "scored", runs_noise, 1)
    measure("team runs allowed per game", rows, "team", "allowed", runs_noise, 1)
    measure("team run difference per game", rows, "team", "diff", 2 * runs_noise, 1)
    measure("pitcher's runs allowed per start", rows, "pitcher", "allowed", runs_noise, 10)
    measure("pitcher's team win rate", rows, "pitcher", "won", 0.25, 10)
    pair = np.where(rows["team"] < rows["opponent"], rows["team"] + "-" + rows["opponent"], "")
    meetings = rows.assign(pair=pair)
    measure("head-to-head win rate", meetings[meetings["pair"] != ""], "pair", "won", 0.25, 1)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
