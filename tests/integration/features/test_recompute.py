"""Stored features against a naive per-game recomputation from the curated tables."""

import datetime as dt
import uuid

import numpy as np
import pandas as pd
import pytest
import redis
from sqlalchemy import select

from app.db.session import session_scope
from app.features.definitions import FEATURE_SET
from app.features.featureset import FeatureSet
from app.features.refresh import refresh_features
from app.features.store import FeatureStore
from app.games.models import BettingSplit, Game, Odds, OddsSnapshot
from app.ml.predict import open_feature_store
from tests.unit.features.naive_reference import naive_features

pytestmark = pytest.mark.integration

GAME_FIELDS = (
    "id", "game_date", "game_number", "start_time", "home_team", "away_team", "home_score",
    "away_score", "day_night", "home_pitcher", "away_pitcher", "home_pitcher_id",
    "away_pitcher_id", "winning_pitcher_id",
)  # fmt: skip
ODDS_FIELDS = ("home_ml_open", "away_ml_open", "total_open", "over_open", "under_open", "home_rl")


def curated_games(database_url: str, season: int) -> pd.DataFrame:
    """The season's games and SBRO opening odds, read row by row from the ORM."""
    with session_scope(database_url) as session:
        rows = []
        for game, odds in session.execute(
            select(Game, Odds)
            .outerjoin(Odds, (Odds.game_id == Game.id) & (Odds.book == "sbro"))
            .where(Game.season == season)
        ):
            row = {field: getattr(game, field) for field in GAME_FIELDS}
            row |= {field: getattr(odds, field) if odds else None for field in ODDS_FIELDS}
            rows.append(row)
    games = pd.DataFrame(rows).rename(columns={"id": "game_id"})
    games["game_date"] = pd.to_datetime(games["game_date"])
    return games.sort_values("game_id").reset_index(drop=True)


def test_a_stored_season_matches_a_naive_recomputation(seeded):
    season = curated_games(seeded.database_url, 2019)
    assert len(season) > 2000
    # 2018 is 2019's carried prior (and the history the starters are named through).
    games = pd.concat([curated_games(seeded.database_url, 2018), season], ignore_index=True)
    # Every 50th game of the season, from opening day to the end (~50 games).
    sample = season.sort_values(["game_date", "game_id"]).iloc[::50]
    stored = open_feature_store(seeded).get_many(sample["game_id"].tolist())
    assert stored.found.all(), "bootstrap stores the features of every sample season"
    for row, (_, target) in enumerate(sample.iterrows()):
        expected = naive_features(games, target)
        got = dict(zip(FEATURE_SET.names, stored.values[row].tolist(), strict=True))
        assert got == pytest.approx(expected, nan_ok=True), target["game_id"]


def test_line_history_and_splits_from_postgresql(clean_database, service_urls):
    """Snapshots and splits stored in PostgreSQL (UTC, timezone-aware) reach the features."""
    day = dt.date(2016, 6, 1)
    start = dt.datetime(2016, 6, 1, 23, 5, tzinfo=dt.UTC)
    with session_scope(clean_database) as session:
        session.add_all(
            [
                Game(id=1, game_key="a", season=2016, game_date=day - dt.timedelta(days=1),
                     game_number=0, home_team="NYA", away_team="BOS", home_score=3,
                     away_score=2, home_pitcher="PONE", home_pitcher_id="p1"),
                Game(id=2, game_key="b", season=2016, game_date=day, game_number=0,
                     start_time=start, home_team="BOS", away_team="NYA", away_pitcher="PONE",
                     away_pitcher_id="p1"),
                Odds(game_id=2, book="sbro", home_ml_open=-120, away_ml_open=110),
            ]
        )  # fmt: skip
        session.flush()
        minutes = [-1500, -300, -295, -290, -59, -30]  # relative to first pitch
        prices = [(-110, -110), (-115, 105), (-135, 125), (-140, 130), (-150, 140), (-250, 210)]
        session.add_all(
            OddsSnapshot(game_id=2, book="pinnacle", captured_at=start + dt.timedelta(minutes=m),
                         home_ml=home, away_ml=away, total=8.5 if m < -295 else 9.0,
                         over_price=-105, under_price=-105)
            for m, (home, away) in zip(minutes, prices, strict=True)
        )  # fmt: skip
        session.add_all(
            [
                BettingSplit(game_id=2, source="t", captured_at=start - dt.timedelta(hours=3),
                             market="moneyline", side="away", bets_pct=65, money_pct=40),
                BettingSplit(game_id=2, source="t", captured_at=start - dt.timedelta(minutes=5),
                             market="moneyline", side="away", bets_pct=10, money_pct=10),
            ]
        )  # fmt: skip
    client = redis.Redis.from_url(service_urls["BULLPEN_FEATURE_STORE_URL"])
    feature_set = FeatureSet(f"test-{uuid.uuid4().hex[:8]}", 1, FEATURE_SET.features)
    store = FeatureStore(client, feature_set)
    try:
        with session_scope(clean_database) as session:
            assert refresh_features(session, store, season=2016, cutoff_minutes=60) == 2
            snapshots = pd.read_sql(select(OddsSnapshot), session.connection())
            splits = pd.read_sql(select(BettingSplit), session.connection())
        got = dict(zip(feature_set.names, store.get(2).values.tolist(), strict=True))
    finally:
        client.delete(store.key(1), store.key(2))
        client.close()
    games = curated_games(clean_database, 2016)
    target = games[games["game_id"] == 2].iloc[0]
    for frame in (snapshots, splits):  # the reference compares naive UTC times
        frame["captured_at"] = frame["captured_at"].dt.tz_convert("UTC").dt.tz_localize(None)
    expected = naive_features(games, target, snapshots, splits)
    assert got == pytest.approx(expected, nan_ok=True)
    assert got["line_snapshots"] == 4  # the two snapshots inside the last hour are excluded
    assert got["ml_steam_net"] == 1
    assert got["ml_home_bets_pct"] == 35 and got["ml_rlm_home"] == 1
    assert got["away_sp_starts"] == 1 and np.isnan(got["home_sp_starts"])
