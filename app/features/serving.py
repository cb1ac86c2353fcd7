"""The features a prediction is made from: a stored game's from the store (computed on a
miss), a described game's computed point in time from the stored history."""

from collections.abc import Sequence
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import Row
from sqlalchemy.orm import Session

from app import clock
from app.features.definitions import FEATURE_SET, reads_family
from app.features.loading import load_box_scores_frame
from app.features.pipeline import build_features
from app.features.pitchers import fill_pitcher_ids
from app.features.refresh import configured_cutoff_minutes, refresh_features
from app.features.store import FeatureStore
from app.games.queries import load_game_rows, load_games_frame


class GamesNoLongerListed(LookupError):
    """Games a job was submitted for that a newer file has since retired (or that are gone)."""

    def __init__(self, game_ids: Sequence[int]) -> None:
        super().__init__(
            f"games {sorted(game_ids)} are no longer listed (retired by a newer file since the"
            " job was submitted): nothing to predict for them"
        )


def _require_listed(game_ids: Sequence[int], listed: set[int]) -> None:
    if gone := [game_id for game_id in game_ids if game_id not in listed]:
        raise GamesNoLongerListed(gone)


def stored_features(
    session: Session, store: FeatureStore, game_ids: Sequence[int]
) -> tuple[pd.DataFrame, np.ndarray]:
    """The games' rows and their features from the store, computing any that are missing."""
    games = load_games_frame(session, game_ids=game_ids).set_index("game_id")
    _require_listed(game_ids, set(games.index))
    games = games.loc[list(game_ids)]
    matrix = store.get_many(game_ids)
    if not matrix.found.all():
        missing = matrix.game_ids[~matrix.found].tolist()
        refresh_features(session, store, game_ids=missing)
        matrix = store.get_many(game_ids)
    return games.reset_index(), matrix.values


def stored_game_rows(
    session: Session, store: FeatureStore, game_ids: Sequence[int], rows: Sequence | None = None
) -> tuple[list[Row], np.ndarray]:
    """As :func:`stored_features`, the games as SQL rows in ``game_ids``' order (no frame:
    for a few games). ``rows``: the games' rows when the caller read them in ``session``'s
    transaction (``app.games.queries.game_rows_statement``, sent with other statements)."""
    if rows is None:
        rows = load_game_rows(session, game_ids)
    by_id = {row.game_id: row for row in rows}
    _require_listed(game_ids, set(by_id))
    matrix = store.get_many(game_ids)
    if not matrix.found.all():
        refresh_features(session, store, game_ids=matrix.game_ids[~matrix.found].tolist())
        matrix = store.get_many(game_ids)
    return [by_id[game_id] for game_id in game_ids], matrix.values


def spec_features(session: Session, specs: Sequence[dict]) -> tuple[pd.DataFrame, np.ndarray]:
    """Rows and point-in-time features of games described by the client."""
    # The starters a client names (SBRO form or "First Last") become Retrosheet ids.
    targets = fill_pitcher_ids(session, pd.DataFrame([_spec_row(spec) for spec in specs]))
    # The targets' seasons and the season before them (the carried prior).
    seasons = range(int(targets["season"].min()) - 1, int(targets["season"].max()) + 1)
    history = load_games_frame(session, seasons=seasons, until=targets["game_date"].max())
    # A client-described game has no stored line history; its odds are its opening prices.
    features = build_features(
        history,
        targets,
        box_scores=(
            load_box_scores_frame(session, seasons=seasons)
            if reads_family(FEATURE_SET, "starter_fip")
            else None
        ),
        cutoff_minutes=configured_cutoff_minutes(),
    )
    return targets, features.to_numpy(dtype=np.float64)


def _spec_row(spec: dict) -> dict:
    start_time = datetime.fromisoformat(spec["start_time"])
    odds = spec.get("odds") or {}
    return {
        "game_id": None,
        "season": clock.local_date(start_time).year,
        "game_date": pd.Timestamp(clock.local_date(start_time)),
        "start_time": spec["start_time"],
        "game_number": 0,
        "home_team": spec["home_team"],
        "away_team": spec["away_team"],
        "home_pitcher": spec.get("home_pitcher"),
        "away_pitcher": spec.get("away_pitcher"),
        "home_pitcher_id": None,
        "away_pitcher_id": None,
        "home_score": np.nan,
        "away_score": np.nan,
        "home_ml_open": odds.get("home_ml", np.nan),
        "away_ml_open": odds.get("away_ml", np.nan),
        "total_open": odds.get("total", np.nan),
        "over_open": odds.get("over_price", np.nan),
        "under_open": odds.get("under_price", np.nan),
        "home_rl": odds.get("home_rl", np.nan),
        "home_rl_price": odds.get("home_rl_price", np.nan),
        "away_rl_price": odds.get("away_rl_price", np.nan),
    }
