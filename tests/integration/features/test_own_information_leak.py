"""A game's own information from after the open never reaches the features it is scored with.

On the seeded sample (real SBRO and Retrosheet 2018-2019 in PostgreSQL), the features of one
day's games are refreshed into a Redis store, then EVERY fact of those games that is known
only after the open is changed in the database: closing prices and totals, the (closing) run
line and its prices, line snapshots before and after the cutoff, betting splits, the starter
who actually took the mound, day or night, the result. Refreshed again, the features a model
scored against the open reads are the same; the ones known at the close moved (the probe
reaches the vector). Nothing is committed: the session is rolled back.
"""

import datetime as dt
import uuid

import numpy as np
import pytest
import redis
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.db.session import get_engine
from app.features.definitions import FEATURE_SET, model_features
from app.features.featureset import FeatureSet
from app.features.refresh import refresh_features
from app.features.store import FeatureStore
from app.games.models import BettingSplit, Game, Odds, OddsSnapshot

pytestmark = pytest.mark.integration

DAY = dt.date(2019, 7, 5)


def _features(session: Session, store: FeatureStore, game_ids: list[int]) -> np.ndarray:
    assert refresh_features(session, store, date=DAY, cutoff_minutes=60) == len(game_ids)
    stored = store.get_many(game_ids)
    assert stored.found.all()
    return stored.values


def test_a_games_own_late_information_changes_no_feature_scored_at_the_open(seeded, service_urls):
    client = redis.Redis.from_url(service_urls["BULLPEN_FEATURE_STORE_URL"])
    feature_set = FeatureSet(f"test-{uuid.uuid4().hex[:8]}", 1, FEATURE_SET.features)
    store = FeatureStore(client, feature_set)
    session = Session(get_engine(seeded.database_url))
    try:
        games = session.scalars(select(Game).where(Game.game_date == DAY)).all()
        game_ids = sorted(game.id for game in games)
        assert len(game_ids) >= 10
        first_pitch = dt.datetime(2019, 7, 5, 23, 10, tzinfo=dt.UTC)
        for game in games:  # the schedule's first pitch (pre-game): sets the cutoff
            game.start_time = first_pitch
        session.flush()
        before = _features(session, store, game_ids)

        session.execute(
            update(Odds)
            .where(Odds.game_id.in_(game_ids))
            .values(
                home_ml_close=-400, away_ml_close=320, total_close=13.5, over_close=-150,
                under_close=130, home_rl=-Odds.home_rl, home_rl_price=-250, away_rl_price=205,
            )
        )  # fmt: skip
        # From the open to after first pitch: before and after the cutoff (60 min).
        line = [(-1500, -110, 8.0), (-300, -135, 8.5), (-70, -150, 8.5), (-30, -170, 9.0),
                (5, -190, 9.5)]  # fmt: skip
        for game in games:
            game.home_pitcher_id, game.away_pitcher_id = "scratch1", game.home_pitcher_id
            game.day_night = "D" if game.day_night == "N" else "N"
            game.home_score, game.away_score = 0, 17
            session.add_all(
                OddsSnapshot(
                    game_id=game.id, book="pinnacle",
                    captured_at=first_pitch + dt.timedelta(minutes=minutes), home_ml=home_ml,
                    away_ml=-home_ml - 10, total=total, over_price=-110, under_price=-110,
                    home_rl=-1.5, home_rl_price=140, away_rl_price=-160,
                )
                for minutes, home_ml, total in line
            )  # fmt: skip
            session.add(
                BettingSplit(
                    game_id=game.id, source="probe",
                    captured_at=first_pitch - dt.timedelta(hours=2), market="moneyline",
                    side="home", bets_pct=90, money_pct=20,
                )
            )  # fmt: skip
        session.flush()
        after = _features(session, store, game_ids)
    finally:
        session.rollback()
        session.close()
        client.delete(*(store.key(game_id) for game_id in game_ids))
        client.close()

    names = FEATURE_SET.names
    for target in ("moneyline", "total_over"):
        columns = [names.index(name) for name in model_features(target)]
        np.testing.assert_array_equal(after[:, columns], before[:, columns], err_msg=target)
    # The probe reached the vector: what is known only at the close moved.
    moved = {name for i, name in enumerate(names) if not np.array_equal(
        before[:, i], after[:, i], equal_nan=True)}  # fmt: skip
    assert {"run_line_home", "line_snapshots", "ml_home_bets_pct"} <= moved
    assert all(FEATURE_SET.features[names.index(name)].known_at == "close" for name in moved)
