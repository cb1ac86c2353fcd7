"""When the game is played: its month and its place in a doubleheader, known at the open.

Not here: day or night. Retrosheet's logs say it of every past game, but the live feeds do
not store it for a game not yet played, so a model trained on it would be served it missing;
a feature must be the same at training and at serving.
"""

import numpy as np
import pandas as pd

from app.features.featureset import FeatureDef
from app.features.frames import float_column

FEATURES: tuple[FeatureDef, ...] = (
    FeatureDef("month", "calendar month of the game's date (1-12)"),
    FeatureDef(
        "game_number",
        "0 for a single game, 1 or 2 for the first or second game of a doubleheader",
    ),
)


def compute(targets: pd.DataFrame, target_dates: pd.Series) -> dict[str, np.ndarray]:
    """The calendar features of each target game."""
    return {
        "month": target_dates.dt.month.to_numpy(np.float64),
        "game_number": float_column(targets, "game_number"),
    }
