"""load_games_frame and refresh_features against the real tables in an in-memory SQLite."""

import datetime as dt
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.features.definitions import FEATURE_SET
from app.features.pipeline import build_features
from app.features.refresh import refresh_features
from app.features.store import FeatureStore
from app.games.models import BettingSplit, Game, Odds, OddsSnapshot
from app.games.queries import GAME_COLUMNS, load_games_frame
from tests.unit.features.fake_redis import FakeRedis


def game(game_id: int, day: dt.date, home: str, away: str, score: tuple | None) -> Game:
    return Game(
        id=game_id,
        game_key=f"{day:%Y%m%d}-{home}-{away}-0",
        season=day.year,
        game_date=day,
        game_number=0,
        home_team=home,
        away_team=away,
        home_score=score[0] if score else None,
        away_score=score[1] if score else None,
        neutral_site=False,
        postseason=False,
    )


@pytest.fixture
def session() -> Iterator[Session]:
    engine = sa.create_engine("sqlite://")
    Game.metadata.create_all(
        engine,
        tables=[Game.__table__, Odds.__table__, OddsSnapshot.__table__, BettingSplit.__table__],
    )
    with Session(engine) as session:
        session.add_all(
            [
                game(1, dt.date(2022, 9, 1), "NYA", "BOS", (1, 2)),
                game(2, dt.date(2023, 4, 1), "NYA", "BOS", (5, 3)),
                game(3, dt.date(2023, 4, 2), "BOS", "NYA", (4, 2)),
                game(4, dt.date(2023, 4, 3), "NYA", "BOS", None),
                Odds(
                    game_id=2,
                    book="sbro",
                    home_ml_open=-150,
                    away_ml_open=130,
                    total_open=8.5,
                    over_open=-110,
                    under_open=-110,
                ),
                Odds(game_id=2, book="other", home_ml_open=-999, away_ml_open=999),
                Odds(game_id=4, book="sbro", home_ml_open=-120, away_ml_open=110),
            ]
        )
        session.flush()
        yield session
    engine.dispose()


def test_load_games_frame_layout_and_filters(session: Session) -> None:
    frame = load_games_frame(session)
    assert tuple(frame.columns) == GAME_COLUMNS
    assert frame["game_id"].tolist() == [1, 2, 3, 4]  # one row per game: only the SBRO odds
    assert frame["game_date"].dtype == "datetime64[ns]"
    assert frame.loc[1, "home_ml_open"] == -150 and np.isnan(frame.loc[2, "home_ml_open"])
    assert np.isnan(frame.loc[3, "home_score"]) and frame["home_score"].dtype == np.float64

    assert load_games_frame(session, seasons=[2023])["game_id"].tolist() == [2, 3, 4]
    assert load_games_frame(session, until=dt.date(2023, 4, 2))["game_id"].tolist() == [1, 2, 3]
    assert load_games_frame(session, game_ids=[4, 1, 99])["game_id"].tolist() == [1, 4]
    assert load_games_frame(session, seasons=[2030]).shape == (0, len(GAME_COLUMNS))


def test_refresh_features_writes_what_build_features_computes(session: Session) -> None:
    store = FeatureStore(FakeRedis(), FEATURE_SET)
    assert refresh_features(session, store, date=dt.date(2023, 4, 3)) == 1
    everything = load_games_frame(session)
    expected = build_features(everything, everything[everything["game_id"] == 4])
    stored = store.get(4)
    assert stored is not None
    np.testing.assert_array_equal(stored.values, expected.to_numpy()[0])
    assert stored.values[FEATURE_SET.names.index("home_games_played")] == 2

    assert refresh_features(session, store, season=2023) == 3
    assert refresh_features(session, store, game_ids=[1, 4], season=2023) == 1
    assert refresh_features(session, store, date=dt.date(2030, 1, 1)) == 0
    matrix = store.get_many([1, 2, 3, 4])
    assert matrix.found.tolist() == [False, True, True, True]
    pd.testing.assert_frame_equal(
        matrix.to_frame().loc[[2, 3, 4]],
        build_features(
            everything, everything.set_index("game_id", drop=False).loc[[2, 3, 4]]
        ).rename_axis("game_id"),
    )


def test_refresh_features_needs_a_selection(session: Session) -> None:
    with pytest.raises(ValueError, match="needs"):
        refresh_features(session, FeatureStore(FakeRedis(), FEATURE_SET))
