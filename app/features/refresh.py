"""Compute the features of stored games and write them to the feature store."""

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Protocol

import numpy as np
from sqlalchemy.orm import Session

from app.config import Settings
from app.features.definitions import reads_family
from app.features.featureset import FeatureSet
from app.features.loading import (
    load_box_scores_frame,
    load_lineups_frame,
    load_snapshots_frame,
    load_splits_frame,
)
from app.features.pipeline import build_features
from app.games.models import Game
from app.games.queries import games_statement, read_games


class FeatureWriter(Protocol):
    """What :func:`refresh_features` needs of a store (see ``app.features.store``)."""

    @property
    def feature_set(self) -> FeatureSet: ...

    def put_many(self, features: Mapping[int, np.ndarray]) -> int: ...


def configured_cutoff_minutes() -> int:
    """``BULLPEN_FEATURE_CUTOFF_MINUTES`` of this process (default 60)."""
    return Settings.from_env().feature_cutoff_minutes


def refresh_features(
    session: Session,
    store: FeatureWriter,
    *,
    season: int | None = None,
    date: dt.date | None = None,
    game_ids: Iterable[int] | None = None,
    cutoff_minutes: int | None = None,
) -> int:
    """Compute and store the features of the selected stored games; return how many.

    The filters combine (AND); at least one is required. History is every game of the
    targets' seasons and of the season before them (the carried prior) before the latest
    selected date. ``cutoff_minutes`` defaults to :func:`configured_cutoff_minutes`.
    """
    if season is None and date is None and game_ids is None:
        raise ValueError("refresh_features needs season, date or game_ids")
    statement = games_statement()
    if season is not None:
        statement = statement.where(Game.season == season)
    if date is not None:
        statement = statement.where(Game.game_date == date)
    if game_ids is not None:
        statement = statement.where(Game.id.in_(sorted({int(game_id) for game_id in game_ids})))
    targets = read_games(session, statement)
    if targets.empty:
        return 0
    first_season_start = dt.date(int(targets["game_date"].dt.year.min()) - 1, 1, 1)
    last_date = targets["game_date"].max().date()
    history = read_games(
        session,
        games_statement().where(Game.game_date >= first_season_start, Game.game_date < last_date),
    )
    # A whole season is cheaper to select by season than by a list of 2,430 ids.
    line_filter = (
        {"seasons": [season]}
        if season is not None and game_ids is None and date is None
        else {"game_ids": targets["game_id"].tolist()}
    )
    # Lineups and box scores of the history's seasons and the targets' own lineups.
    seasons = range(first_season_start.year, int(targets["game_date"].dt.year.max()) + 1)
    features = build_features(
        history,
        targets,
        store.feature_set,
        snapshots=load_snapshots_frame(session, **line_filter),
        splits=load_splits_frame(session, **line_filter),
        lineups=(
            load_lineups_frame(session, seasons=seasons)
            if reads_family(store.feature_set, "lineups")
            else None
        ),
        box_scores=(
            load_box_scores_frame(session, seasons=seasons)
            if reads_family(store.feature_set, "starter_fip")
            else None
        ),
        cutoff_minutes=configured_cutoff_minutes() if cutoff_minutes is None else cutoff_minutes,
    )
    rows = features.to_numpy(dtype=np.float64)
    return store.put_many(dict(zip(targets["game_id"].tolist(), rows, strict=True)))
