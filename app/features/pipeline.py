"""Point-in-time features: every family of :mod:`app.features.families`, composed.

The rule (each family states its part): a target game's history is final games on dates
STRICTLY EARLIER than its ``game_date`` (SBRO gives dates but no first-pitch times, so game
1 of a doubleheader is not history for game 2) plus the previous season as a carried prior;
line snapshots and betting splits count only before its CUTOFF, ``cutoff_minutes`` before
its ``start_time`` where that is known, else 00:00 UTC of its date; its own opening prices
are pre-game information; its starter is the one named when it was priced.

Everything is computed with sorts, cumulative sums and ``merge_asof`` lookups: there is
no Python loop over games, so a season (~2,430 games) takes well under a second.
"""

import numpy as np
import pandas as pd

from app.features.definitions import FEATURE_SET
from app.features.families import (
    calendar,
    form,
    h2h,
    lines,
    market,
    pitching,
    starters,
)
from app.features.families import lineups as lineup_family
from app.features.families import splits as betting_splits
from app.features.families.lines import DEFAULT_CUTOFF_MINUTES
from app.features.featureset import FeatureSet
from app.features.frames import dates, require_columns
from app.features.pitchers import listed_starters


def build_features(
    history: pd.DataFrame,
    targets: pd.DataFrame,
    feature_set: FeatureSet = FEATURE_SET,
    *,
    snapshots: pd.DataFrame | None = None,
    splits: pd.DataFrame | None = None,
    lineups: pd.DataFrame | None = None,
    box_scores: pd.DataFrame | None = None,
    cutoff_minutes: int = DEFAULT_CUTOFF_MINUTES,
) -> pd.DataFrame:
    """Features of each target game, indexed like ``targets``, columns ``feature_set.names``.

    ``history`` needs game_date, home_team, away_team, home_score, away_score (game_number
    and game_id order same-day games when present; home/away_pitcher_id feed the starters'
    records, home/away_pitcher name them). ``targets`` needs game_date, home_team,
    away_team; game_id links them to ``snapshots`` (``app.features.loading.SNAPSHOT_COLUMNS``)
    and ``splits`` (``SPLIT_COLUMNS``), ``lineups`` (``LINEUP_COLUMNS``: the starting nines,
    history's and the targets' own) and ``box_scores`` (``BOX_SCORE_COLUMNS``: history's),
    start_time (UTC) sets their cutoff, and
    home/away_pitcher (names) or else home/away_pitcher_id say who starts; missing columns
    are treated as missing data. Values are float64 with NaN for missing. Pure: no frame
    is modified.
    """
    if cutoff_minutes < 0:
        raise ValueError("cutoff_minutes must not be negative")
    require_columns(history, ("game_date", "home_team", "away_team", "home_score", "away_score"))
    require_columns(targets, ("game_date", "home_team", "away_team"))
    for frame_name, frame in (("history", history), ("targets", targets)):
        if frame[["home_team", "away_team"]].isna().to_numpy().any():
            raise ValueError(f"{frame_name} has games without a home_team or away_team")
    target_dates = dates(targets["game_date"], "targets")
    cutoffs = lines.cutoff_times(targets, target_dates, cutoff_minutes)
    line_features = lines.compute(targets, snapshots, cutoffs)
    computed = {
        **market.compute(targets),
        **line_features,
        **betting_splits.compute(targets, splits, cutoffs, line_features),
        **calendar.compute(targets, target_dates),
        **form.compute(history, targets, target_dates),
        **h2h.compute(history, targets, target_dates),
    }
    wanted = set(feature_set.names)
    # The families outside the default set are computed only when a set asks for them.
    if wanted & {feature.name for feature in lineup_family.FEATURES}:
        computed.update(lineup_family.compute(history, targets, target_dates, lineups))
    starter_ids = listed_starters(history, targets)
    computed.update(starters.compute(history, starter_ids, target_dates))
    if wanted & {feature.name for feature in pitching.FEATURES}:
        computed.update(pitching.compute(history, starter_ids, target_dates, box_scores))
    unknown = [name for name in feature_set.names if name not in computed]
    if unknown:
        raise ValueError(f"feature set {feature_set.label} asks for unknown features {unknown}")
    return pd.DataFrame(
        {name: computed[name] for name in feature_set.names}, index=targets.index, dtype=np.float64
    )
