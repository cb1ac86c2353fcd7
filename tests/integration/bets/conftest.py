"""A clean database with a few games, odds and line snapshots, and an API on it."""

from dataclasses import replace
from datetime import UTC, date, datetime

import pytest

from app.bets.ledger import StoredPrediction, record_served_bets
from app.config import Settings
from app.db.session import session_scope
from app.games.models import Game, Odds, OddsSnapshot
from app.jobs.models import Job
from app.ml.models import Prediction
from workers.api import create_api

GAME_DATE = date(2019, 7, 1)


def add_game(session, key: str, home: int | None, away: int | None, **fields) -> Game:
    game = Game(
        game_key=key,
        season=fields.pop("season", GAME_DATE.year),
        game_date=fields.pop("game_date", GAME_DATE),
        home_team="NYA",
        away_team="BOS",
        home_score=home,
        away_score=away,
        **fields,
    )
    session.add(game)
    session.flush()
    return game


def stored_prediction(session, game_id: int, payload: dict) -> StoredPrediction:
    """A prediction of ``game_id`` stored by a succeeded job, as a prediction job writes it."""
    job = Job(kind="predict", status="succeeded")
    session.add(job)
    session.flush()
    prediction = Prediction(
        job_id=job.id, item_key=str(game_id), item_index=0, game_id=game_id, payload=payload
    )
    session.add(prediction)
    session.flush()
    return StoredPrediction(prediction.id, game_id, payload)


def serve(session, game_id: int, stake: float = 25.0) -> None:
    """A served recommendation on the game, written as a prediction job writes it."""
    payload = {
        "prediction_timestamp": datetime(2019, 9, 15, 15, tzinfo=UTC).isoformat(),
        "models": {"moneyline": {"name": "moneyline", "version": "1"}},
        "betting_recommendations": {
            "home_ml": {"side": "home", "odds": 120, "recommended_bet_size": stake}
        },
    }
    assert record_served_bets(session, [stored_prediction(session, game_id, payload)]) == 1


@pytest.fixture
def games(clean_database: str) -> dict[str, int]:
    """Ids of: a final with SBRO odds and book snapshots, a rain-shortened final, an unplayed
    game long past, and one not played yet."""
    with session_scope(clean_database) as session:
        final = add_game(
            session, "20190701-NYA-BOS-0", 5, 3,
            start_time=datetime(2019, 7, 1, 23, 5, tzinfo=UTC), length_outs=51,
        )  # fmt: skip
        session.add(
            Odds(
                game_id=final.id, book="sbro",
                home_ml_open=-130, away_ml_open=120, home_ml_close=-140, away_ml_close=130,
                total_open=8.5, over_open=-110, under_open=-110,
                total_close=9.0, over_close=-105, under_close=-115,
                home_rl=-1.5, home_rl_price=140, away_rl_price=-160,
            )
        )  # fmt: skip
        for hour, home_ml, away_ml in ((15, -125, 115), (22, -135, 125), (23, 300, -400)):
            session.add(
                OddsSnapshot(
                    game_id=final.id, book="pin", home_ml=home_ml, away_ml=away_ml,
                    captured_at=datetime(2019, 7, 1, hour, 30, tzinfo=UTC),
                )
            )  # fmt: skip
        short = add_game(session, "20190701-NYA-TEX-0", 4, 1, length_outs=36)
        unplayed = add_game(session, "20190701-NYA-SEA-0", None, None)
        upcoming = add_game(
            session, "20990701-NYA-BOS-0", None, None, game_date=date(2099, 7, 1), season=2099
        )
        return {
            "final": final.id,
            "short": short.id,
            "unplayed": unplayed.id,
            "upcoming": upcoming.id,
        }


@pytest.fixture
def clean_client(settings: Settings, clean_database: str):
    """The API on the clean database (the rest of the installation as in the session)."""
    return create_api(replace(settings, database_url=clean_database, bankroll=1000.0)).test_client()
