"""Public betting splits (share of bets and of money on a side) up to the game's cutoff, and
reverse line movement: the line moving against the public.

Read before the same cutoff as the line history (:mod:`app.features.families.lines`), near
first pitch, and built on its movement: known at the close.
"""

from collections.abc import Mapping

import numpy as np
import pandas as pd

from app.features.families.lines import before_cutoff
from app.features.featureset import FeatureDef
from app.features.loading import SPLIT_COLUMNS

# Reverse line movement needs the line to have moved at least this far from its open.
RLM_PROB_MOVE = 0.01
RLM_TOTAL_MOVE = 0.5

_LAST = "in the last betting split captured before the cutoff"
FEATURES: tuple[FeatureDef, ...] = tuple(
    FeatureDef(name, description, known_at="close")
    for name, description in (
        (
            "ml_home_bets_pct",
            f"share of moneyline bets on the home side (0-100) {_LAST}; NaN without splits",
        ),
        (
            "ml_home_money_minus_bets",
            f"home share of moneyline money minus home share of bets (percentage points) {_LAST}",
        ),
        (
            "ml_rlm_home",
            "reverse line movement on the moneyline: +1 when most bets are on the away side "
            f"but ml_move_home_prob >= {RLM_PROB_MOVE}, -1 for the mirror case, 0 otherwise; "
            "NaN without splits or without a line history",
        ),
        (
            "total_over_bets_pct",
            f"share of total bets on the over (0-100) {_LAST}; NaN without splits",
        ),
        (
            "total_rlm_over",
            "reverse line movement on the total: +1 when most bets are on the under but "
            f"total_move >= {RLM_TOTAL_MOVE}, -1 for the mirror case, 0 otherwise; NaN "
            "without splits or without a line history",
        ),
    )
)


def compute(
    targets: pd.DataFrame,
    splits: pd.DataFrame | None,
    cutoffs: np.ndarray,
    lines: Mapping[str, np.ndarray],
) -> dict[str, np.ndarray]:
    """The split features of each target game; ``lines`` are its line-history features."""
    nan = np.full(len(targets), np.nan)
    result = {
        "ml_home_bets_pct": nan.copy(),
        "ml_home_money_minus_bets": nan.copy(),
        "total_over_bets_pct": nan.copy(),
    }
    rows = before_cutoff(targets, splits, cutoffs, SPLIT_COLUMNS)
    for market, side, prefix in (("moneyline", "home", "ml_home"), ("total", "over", "total_over")):
        chosen = rows[rows["market"] == market].sort_values(
            ["position", "captured_at"], kind="mergesort"
        )
        if chosen.empty:
            continue
        # Either side's row states the whole split: the other side has the rest.
        ours = (chosen["side"] == side).to_numpy()
        bets = np.where(ours, chosen["bets_pct"], 100.0 - chosen["bets_pct"].to_numpy(np.float64))
        money = np.where(
            ours, chosen["money_pct"], 100.0 - chosen["money_pct"].to_numpy(np.float64)
        )
        frame = pd.DataFrame({"position": chosen["position"].to_numpy(), "bets": bets})
        frame["money_minus_bets"] = money - bets
        lasts = frame.groupby("position", sort=True).last()
        positions = lasts.index.to_numpy()
        result[f"{prefix}_bets_pct"][positions] = lasts["bets"].to_numpy()
        if market == "moneyline":
            result["ml_home_money_minus_bets"][positions] = lasts["money_minus_bets"].to_numpy()
    result["ml_rlm_home"] = _reverse_line_movement(
        result["ml_home_bets_pct"], lines["ml_move_home_prob"], RLM_PROB_MOVE
    )
    result["total_rlm_over"] = _reverse_line_movement(
        result["total_over_bets_pct"], lines["total_move"], RLM_TOTAL_MOVE
    )
    return result


def _reverse_line_movement(bets_pct: np.ndarray, move: np.ndarray, threshold: float) -> np.ndarray:
    """+1: the public is against a side the line moved toward; -1: the mirror; else 0."""
    toward = move >= threshold - 1e-9
    against = move <= -threshold + 1e-9
    value = np.where((bets_pct < 50) & toward, 1.0, np.where((bets_pct > 50) & against, -1.0, 0.0))
    return np.where(np.isnan(bets_pct) | np.isnan(move), np.nan, value)
