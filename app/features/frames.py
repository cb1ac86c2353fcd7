"""Column helpers every feature family uses: dates, typed columns, required columns."""

from collections.abc import Iterable

import numpy as np
import pandas as pd


def dates(values: pd.Series, frame_name: str) -> pd.Series:
    """Game dates as naive datetime64[ns] at midnight; ValueError if any is missing."""
    normalized = pd.to_datetime(values)
    if normalized.dt.tz is not None:
        normalized = normalized.dt.tz_localize(None)
    if normalized.isna().any():
        raise ValueError(f"{frame_name} has games without a game_date")
    return normalized.dt.normalize().astype("datetime64[ns]")


def float_column(frame: pd.DataFrame, column: str, default: float = np.nan) -> np.ndarray:
    """A column as float64 (``default`` everywhere when the frame lacks it)."""
    if column not in frame:
        return np.full(len(frame), default, dtype=np.float64)
    return np.array(frame[column], dtype=np.float64)


def string_column(frame: pd.DataFrame, column: str) -> np.ndarray:
    """A text column with missing values as ``""``."""
    if column not in frame:
        return np.full(len(frame), "", dtype=object)
    return frame[column].fillna("").astype(str).to_numpy(object)


def require_columns(frame: pd.DataFrame, columns: Iterable[str]) -> None:
    """ValueError naming the ``columns`` the frame lacks."""
    missing = [column for column in columns if column not in frame]
    if missing:
        raise ValueError(f"frame lacks required columns {missing}")
