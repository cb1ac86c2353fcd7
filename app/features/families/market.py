"""The market at the open: the game's own opening prices (SBRO's, else the live feeds' first
quote), and the run line a run-line bet is about.

The opening prices are pre-game information, used as is. The run line SBRO keeps is its
CLOSING one, whose side follows the closing favourite: it is known at the close and it is the
run-line market's own line (the line its question is asked at), an input of that market's
models only, never a feature of the others.
"""

import numpy as np
import pandas as pd

from app.features.featureset import FeatureDef
from app.features.frames import float_column
from app.markets import RUN_LINE
from app.odds import devig_two_way_array

FEATURES: tuple[FeatureDef, ...] = (
    FeatureDef(
        "ml_open_home_prob",
        "home win probability from the opening moneyline, de-vigged multiplicatively",
    ),
    FeatureDef(
        "ml_open_overround",
        "opening moneyline overround: sum of raw implied probabilities - 1",
    ),
    FeatureDef("total_open", "opening total (runs); NaN when missing"),
    FeatureDef(
        "total_open_over_prob",
        "over probability from the opening total's prices, de-vigged multiplicatively; "
        "NaN when the total or either price is missing",
    ),
    FeatureDef(
        "total_open_overround",
        "opening total's overround: sum of raw implied over/under probabilities - 1",
    ),
    FeatureDef(
        "run_line_home",
        "the home side's run line (e.g. -1.5 as favourite, +1.5 as underdog): the line a "
        "home_spread prediction is asked and graded at, an input of the run-line market only; "
        "SBRO keeps only the closing run line, whose side follows the closing favourite, so it "
        "is known at the close; NaN when missing (seasons before 2014). Its prices are unused",
        known_at="close",
        market=RUN_LINE.name,
    ),
)


def compute(targets: pd.DataFrame) -> dict[str, np.ndarray]:
    """The market features of each target game."""
    home_prob, _, overround = devig_two_way_array(
        float_column(targets, "home_ml_open"), float_column(targets, "away_ml_open")
    )
    total = float_column(targets, "total_open")
    total = np.where(total > 0, total, np.nan)
    over_prob, _, total_overround = devig_two_way_array(
        float_column(targets, "over_open"), float_column(targets, "under_open")
    )
    no_total = np.isnan(total)
    return {
        "ml_open_home_prob": home_prob,
        "ml_open_overround": overround,
        "total_open": total,
        "total_open_over_prob": np.where(no_total, np.nan, over_prob),
        "total_open_overround": np.where(no_total, np.nan, total_overround),
        "run_line_home": float_column(targets, RUN_LINE.line),
    }
