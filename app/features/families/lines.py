"""The line's movement: a game's line history (timestamped snapshots) up to its cutoff.

A game's CUTOFF is ``cutoff_minutes`` (``BULLPEN_FEATURE_CUTOFF_MINUTES``, default 60)
before its first pitch where that is known, else 00:00 UTC of its date; a snapshot counts
only when captured strictly before it. A line read that close to first pitch is near the
CLOSING price, so every feature here is known at the close: a model scored against the
opening price never reads them (at the open a line history holds only its opening quote,
which is the market family's opening price: for a game priced by the live feeds, the feeds'
opening price IS their first quote).
"""

import numpy as np
import pandas as pd

from app.features.featureset import FeatureDef
from app.features.frames import require_columns
from app.features.loading import SNAPSHOT_COLUMNS, TEXT_COLUMNS
from app.games.queries import utc_naive
from app.odds import devig_two_way_array

DEFAULT_CUTOFF_MINUTES = 60
# A steam move: the de-vigged home win probability moves by at least STEAM_PROB_MOVE
# (or the total by at least STEAM_TOTAL_MOVE runs) within STEAM_WINDOW_MINUTES.
STEAM_WINDOW_MINUTES = 15
STEAM_PROB_MOVE = 0.02
STEAM_TOTAL_MOVE = 0.5

_BEFORE = "in the line history before the cutoff"
FEATURES: tuple[FeatureDef, ...] = tuple(
    FeatureDef(name, description, known_at="close")
    for name, description in (
        ("line_snapshots", f"number of line snapshots {_BEFORE}; NaN when the game has none"),
        (
            "ml_cut_home_prob",
            f"de-vigged home win probability of the last moneyline {_BEFORE}; NaN without one",
        ),
        (
            "ml_move_home_prob",
            "ml_cut_home_prob minus the de-vigged home probability of the first moneyline of "
            "the line history (its open): movement toward the home side is positive",
        ),
        ("total_cut", f"the last total (runs) {_BEFORE}; NaN without one"),
        ("total_move", "total_cut minus the first total of the line history (runs)"),
        (
            "total_cut_over_prob",
            f"de-vigged over probability of the last priced total {_BEFORE}",
        ),
        (
            "rl_cut_home_prob",
            f"de-vigged probability that the home side covers its run line, from the last "
            f"priced run line {_BEFORE}",
        ),
        (
            "ml_steam_net",
            f"steam moves on the moneyline {_BEFORE}, toward home minus toward away; a steam "
            f"move starts when the de-vigged home probability has moved by at least "
            f"{STEAM_PROB_MOVE} within {STEAM_WINDOW_MINUTES} minutes (consecutive snapshots "
            "in the same direction are one move); NaN without a moneyline history",
        ),
        (
            "total_steam_net",
            f"steam moves on the total {_BEFORE}, up minus down; a steam move starts when the "
            f"total has moved by at least {STEAM_TOTAL_MOVE} runs within "
            f"{STEAM_WINDOW_MINUTES} minutes; NaN without a total history",
        ),
    )
)


def cutoff_times(targets: pd.DataFrame, target_dates: pd.Series, minutes: int) -> np.ndarray:
    """Each target's cutoff as naive-UTC datetime64[ns]."""
    day_start = target_dates.to_numpy()
    if "start_time" not in targets:
        return day_start
    start = utc_naive(targets["start_time"]).to_numpy()
    return np.where(np.isnat(start), day_start, start - np.timedelta64(minutes, "m"))


def before_cutoff(
    targets: pd.DataFrame,
    frame: pd.DataFrame | None,
    cutoffs: np.ndarray,
    columns: tuple[str, ...],
) -> pd.DataFrame:
    """The rows of ``frame`` of each target game captured before its cutoff, with position."""
    empty = pd.DataFrame(columns=[*columns, "position"])
    if frame is None or frame.empty or "game_id" not in targets:
        return empty
    require_columns(frame, columns)
    game_ids = pd.to_numeric(targets["game_id"], errors="coerce").to_numpy(np.float64)
    known = ~np.isnan(game_ids)
    keys = pd.DataFrame(
        {
            "game_id": game_ids[known].astype(np.int64),
            "position": np.flatnonzero(known),
            "cutoff": cutoffs[known],
        }
    )
    rows = frame.loc[:, list(columns)].assign(
        game_id=frame["game_id"].to_numpy(np.int64),
        captured_at=utc_naive(frame["captured_at"]).to_numpy(),
    )
    # Prices and percentages as float64 (None -> NaN), however the caller typed them.
    numeric = [c for c in columns if c not in ("game_id", "captured_at", *TEXT_COLUMNS)]
    rows[numeric] = rows[numeric].apply(pd.to_numeric, errors="coerce").astype(np.float64)
    rows = rows.merge(keys, on="game_id")
    return rows[rows["captured_at"] < rows["cutoff"]].drop(columns="cutoff")


def compute(
    targets: pd.DataFrame, snapshots: pd.DataFrame | None, cutoffs: np.ndarray
) -> dict[str, np.ndarray]:
    """The line-history features of each target game, read before its cutoff."""
    result = {
        name: np.full(len(targets), np.nan) for name in (feature.name for feature in FEATURES)
    }
    rows = before_cutoff(targets, snapshots, cutoffs, SNAPSHOT_COLUMNS)
    if rows.empty:
        return result
    # One line history per game: the book with the most snapshots before the cutoff.
    per_book = rows.groupby(["position", "book"], sort=True).size().rename("n").reset_index()
    best = per_book.sort_values(["position", "n"], ascending=[True, False], kind="mergesort")
    best = best.drop_duplicates("position")
    rows = rows.merge(best[["position", "book"]], on=["position", "book"])
    rows = rows.sort_values(["position", "captured_at"], kind="mergesort")
    home_prob = devig_two_way_array(rows["home_ml"], rows["away_ml"])[0]
    total = rows["total"].to_numpy(np.float64)
    total = np.where(total > 0, total, np.nan)
    over_prob = np.where(
        np.isnan(total), np.nan, devig_two_way_array(rows["over_price"], rows["under_price"])[0]
    )
    rl_prob = np.where(
        rows["home_rl"].isna(),
        np.nan,
        devig_two_way_array(rows["home_rl_price"], rows["away_rl_price"])[0],
    )
    derived = pd.DataFrame(
        {
            "position": rows["position"].to_numpy(),
            "captured_at": rows["captured_at"].to_numpy(),
            "home_prob": home_prob,
            "total": total,
            "over_prob": over_prob,
            "rl_prob": rl_prob,
        }
    )
    grouped = derived.groupby("position", sort=True)
    firsts, lasts = grouped.first(), grouped.last()  # first/last non-null per column
    positions = lasts.index.to_numpy()
    result["line_snapshots"][positions] = grouped.size().to_numpy(np.float64)
    result["ml_cut_home_prob"][positions] = lasts["home_prob"].to_numpy()
    result["ml_move_home_prob"][positions] = (lasts["home_prob"] - firsts["home_prob"]).to_numpy()
    result["total_cut"][positions] = lasts["total"].to_numpy()
    result["total_move"][positions] = (lasts["total"] - firsts["total"]).to_numpy()
    result["total_cut_over_prob"][positions] = lasts["over_prob"].to_numpy()
    result["rl_cut_home_prob"][positions] = lasts["rl_prob"].to_numpy()
    for name, column, threshold in (
        ("ml_steam_net", "home_prob", STEAM_PROB_MOVE),
        ("total_steam_net", "total", STEAM_TOTAL_MOVE),
    ):
        steam_positions, net = _steam_net(derived, column, threshold)
        result[name][steam_positions] = net
    return result


def _steam_net(
    derived: pd.DataFrame, column: str, threshold: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per position with a ``column`` history: steam moves up minus steam moves down.

    At each snapshot the change is measured against the earliest snapshot at or after
    ``STEAM_WINDOW_MINUTES`` earlier; a move starts at a snapshot whose change reaches
    ``threshold`` in a direction the previous snapshot's change did not.
    """
    rows = derived.loc[derived[column].notna(), ["position", "captured_at", column]]
    if rows.empty:
        return np.array([], dtype=np.int64), np.array([])
    rows = rows.sort_values("captured_at", kind="mergesort").reset_index(drop=True)
    window = np.timedelta64(STEAM_WINDOW_MINUTES, "m")
    lookup = rows.assign(window_start=rows["captured_at"] - window, row=np.arange(len(rows)))
    reference = pd.merge_asof(
        lookup,
        rows.rename(columns={"captured_at": "reference_at", column: "reference"}),
        left_on="window_start",
        right_on="reference_at",
        by="position",
        direction="forward",
    ).sort_values("row")
    change = rows[column].to_numpy() - reference["reference"].to_numpy()
    # Tolerance for binary floating point: a move of exactly the threshold counts.
    direction = np.where(np.abs(change) >= threshold - 1e-9, np.sign(change), 0.0)
    rows = rows.assign(direction=direction).sort_values(
        ["position", "captured_at"], kind="mergesort"
    )
    previous = rows.groupby("position", sort=False)["direction"].shift(1).fillna(0.0)
    starts = np.where(
        (rows["direction"] != 0) & (rows["direction"] != previous), rows["direction"], 0.0
    )
    net = pd.Series(starts).groupby(rows["position"].to_numpy()).sum()
    return net.index.to_numpy(np.int64), net.to_numpy(np.float64)
