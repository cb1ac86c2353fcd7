"""Starters named by a GAME spec or a feed reach the pitcher features (real PostgreSQL)."""

import datetime as dt
import uuid

import numpy as np
import pandas as pd
import pytest
import redis

from app.db.session import session_scope
from app.features.definitions import FEATURE_SET
from app.features.featureset import FeatureSet
from app.features.pipeline import build_features
from app.features.refresh import refresh_features
from app.features.serving import spec_features
from app.features.store import FeatureStore
from app.games.models import Game
from app.games.queries import load_games_frame

pytestmark = pytest.mark.integration

SP = [name for name in FEATURE_SET.names if "_sp_" in name]


def _game(game_id: int, day: dt.date, home: str, away: str, score=(None, None), **extra) -> Game:
    return Game(
        id=game_id, game_key=f"g{game_id}", season=day.year, game_date=day, game_number=0,
        home_team=home, away_team=away, home_score=score[0], away_score=score[1], **extra,
    )  # fmt: skip


def _seed(database_url: str) -> None:
    day = dt.date(2018, 6, 1)
    with session_scope(database_url) as session:
        session.add_all(
            [
                _game(1, day, "WAS", "BOS", (5, 1), home_pitcher="MSCHERZER",
                      home_pitcher_id="schem001", away_pitcher="CSALE", away_pitcher_id="salec001"),
                _game(2, day + dt.timedelta(days=5), "BOS", "WAS", (2, 3),
                      away_pitcher="MSCHERZER", away_pitcher_id="schem001",
                      home_pitcher="JSMITH", home_pitcher_id="smitj001"),
                _game(3, day + dt.timedelta(days=6), "NYA", "TOR", (7, 6),
                      home_pitcher="JSMITH", home_pitcher_id="smitj002",
                      away_pitcher="CSALE", away_pitcher_id="salec001"),
                # An upcoming game fed by SBRO: a name, no Retrosheet id yet.
                _game(4, dt.date(2019, 4, 2), "WAS", "NYA", home_pitcher="MSCHERZER-R"),
            ]
        )  # fmt: skip


def test_a_spec_names_its_starters(clean_database):
    _seed(clean_database)
    spec = {
        "home_team": "WAS", "away_team": "NYA", "start_time": "2019-04-02T23:05:00+00:00",
        "home_pitcher": "Max Scherzer", "away_pitcher": "Nobody Known",
    }  # fmt: skip
    ambiguous = {**spec, "home_pitcher": "John Smith", "away_pitcher": None}
    with session_scope(clean_database) as session:
        targets, features = spec_features(session, [spec, ambiguous])
        history = load_games_frame(session)
    got = pd.DataFrame(features, columns=FEATURE_SET.names)
    assert list(targets["home_pitcher_id"]) == ["schem001", None]
    # Max Scherzer's two 2018 starts (his team allowed 1 and 2) are his carried prior ...
    by_id = build_features(history, targets.assign(home_pitcher_id=["schem001", None]))
    assert got.loc[0, "home_sp_starts"] == 0
    assert not np.isnan(got.loc[0, "home_sp_runs_allowed_per_start"])
    np.testing.assert_array_equal(got.loc[0, SP].to_numpy(), by_id.loc[0, SP].to_numpy())
    # ... an unknown name, an ambiguous one (two JSMITHs) or none: missing, nobody else's.
    assert np.isnan(got.loc[0, [n for n in SP if n.startswith("away_")]].to_numpy()).all()
    assert np.isnan(got.loc[1, SP].to_numpy(np.float64)).all()


def test_a_fed_name_without_an_id_is_mapped_when_features_are_refreshed(
    clean_database, service_urls
):
    _seed(clean_database)
    client = redis.Redis.from_url(service_urls["BULLPEN_FEATURE_STORE_URL"])
    feature_set = FeatureSet(f"test-{uuid.uuid4().hex[:8]}", 1, FEATURE_SET.features)
    store = FeatureStore(client, feature_set)
    try:
        with session_scope(clean_database) as session:
            assert refresh_features(session, store, game_ids=[4]) == 1
            history = load_games_frame(session)
        got = dict(zip(store.feature_set.names, store.get(4).values.tolist(), strict=True))
    finally:
        client.delete(store.key(4))
        client.close()
    target = history[history["game_id"] == 4].assign(home_pitcher_id="schem001")
    expected = build_features(history, target).iloc[0]
    assert got["home_sp_starts"] == 0
    assert got["home_sp_runs_allowed_per_start"] == pytest.approx(
        expected["home_sp_runs_allowed_per_start"]
    )
    assert np.isnan(got["away_sp_starts"])  # no name, no id: unknown
