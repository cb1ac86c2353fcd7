"""A bet is deleted only by its owner: a game a corrected file drops is retired, not deleted.

The case found by a new user: a bet recorded through ``POST /api/v1/bets`` on a game, then a
re-ingest of the season's odds workbook that no longer lists the game's date. Before, the game
was deleted and the bet with it (``ON DELETE CASCADE``); re-ingesting the original brought the
game back, not the bet. A game that a Retrosheet log still lists is not dropped at all: it
stays a results-only game, with its bets, and only the archive's prices of it go.
"""

import uuid
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from sqlalchemy import select

from app.bets.settlement import games_to_settle, settle_games
from app.bets.slate import slate
from app.db.session import get_engine, session_scope
from app.games.models import Game, Odds
from app.games.queries import load_games_frame
from app.ingest.sources import ingest
from tests.integration.bets.conftest import serve

pytestmark = pytest.mark.integration

DAY = date(2019, 9, 15)
WORKBOOK = "mlb-odds-2019.xlsx"


def _without_day(original: Path, folder: Path, day: date) -> Path:
    """The workbook with every row of ``day`` left out (a corrected file)."""
    workbook = load_workbook(original)
    sheet = workbook.worksheets[0]
    date_column = [cell.value for cell in sheet[1]].index("Date") + 1
    mmdd = day.month * 100 + day.day
    cells = sheet.iter_rows(min_row=2, min_col=date_column, max_col=date_column, values_only=True)
    rows = [number for number, (value,) in enumerate(cells, start=2) if value == mmdd]
    assert rows, "the sample has games that day"
    for row in reversed(rows):
        sheet.delete_rows(row)
    folder.mkdir()
    workbook.save(folder / original.name)
    return folder / original.name


def _ledger(url: str) -> dict[uuid.UUID, tuple]:
    with get_engine(url).connect() as connection:
        rows = connection.execute(
            sa.text("SELECT bet_id, game_id, origin, status, profit, void_reason FROM bets")
        ).all()
    return {bet_id: tuple(rest) for bet_id, *rest in rows}


def _user_bet(client, game_id: int, stake: float) -> str:
    response = client.post(
        "/api/v1/bets",
        json={"game_id": game_id, "market": "home_ml", "side": "away", "odds": 110, "stake": stake},
    )
    assert response.status_code == 201, response.get_json()
    return response.get_json()["bet_id"]


def _bets_on_one_game(url: str, clean_client, game_id: int) -> tuple[uuid.UUID, dict]:
    """A graded bet, then a served recommendation and a user bet still open, on one game."""
    graded = uuid.UUID(_user_bet(clean_client, game_id, 10.0))
    with session_scope(url) as session:
        settle_games(session, [game_id])
        serve(session, game_id)
    user = uuid.UUID(_user_bet(clean_client, game_id, 40.0))
    before = _ledger(url)
    assert before[graded][2] in {"won", "lost", "push"}
    assert before[user][2] == "open" and len(before) == 3
    return graded, before


def test_a_game_its_log_still_lists_stays_with_its_bets_and_loses_only_the_prices(
    clean_database: str, clean_client, sample_dir: Path, tmp_path: Path
) -> None:
    url = clean_database
    original = sample_dir / WORKBOOK
    corrected = _without_day(original, tmp_path / "corrected", DAY)
    with session_scope(url) as session:
        ingest(session, "retrosheet", [sample_dir / "GL2019.TXT.gz"])
        ingest(session, "sbro", [original])
    day_games = clean_client.get(f"/api/v1/games?date={DAY}").get_json()
    day_ids = {game["id"] for game in day_games}
    game_id = day_games[0]["id"]
    assert len(day_ids) >= 2 and all(game["retrosheet_game_id"] for game in day_games)
    _, before = _bets_on_one_game(url, clean_client, game_id)

    with session_scope(url) as session:
        (report,) = ingest(session, "sbro", [corrected])
    assert (report.games_retired, report.bets_voided) == (0, 0)
    assert _ledger(url) == before  # nothing voided, nothing lost
    with session_scope(url) as session:
        assert {view.game.id for view in slate(session, DAY)} == day_ids  # results-only now
        assert not session.scalars(select(Odds.id).where(Odds.game_id.in_(day_ids))).all()

    with session_scope(url) as session:
        (report,) = ingest(session, "sbro", [original])
        assert session.scalars(select(Odds.game_id).where(Odds.game_id == game_id)).all()
    assert _ledger(url) == before
    assert {game["id"] for game in clean_client.get(f"/api/v1/games?date={DAY}").get_json()} == (
        day_ids
    )


def test_a_game_a_corrected_file_drops_keeps_its_bets_and_comes_back_with_them(
    clean_database: str, clean_client, sample_dir: Path, tmp_path: Path
) -> None:
    """The archive is the game's only source (no log): dropped, it is retired."""
    url = clean_database
    original = sample_dir / WORKBOOK
    corrected = _without_day(original, tmp_path / "corrected", DAY)
    with session_scope(url) as session:
        ingest(session, "sbro", [original])
    day_games = clean_client.get(f"/api/v1/games?date={DAY}").get_json()
    assert len(day_games) >= 2
    game_id = day_games[0]["id"]
    others = {game["id"] for game in day_games[1:]}

    graded, before = _bets_on_one_game(url, clean_client, game_id)

    with session_scope(url) as session:
        (report,) = ingest(session, "sbro", [corrected])
    assert (report.games_retired, report.bets_voided) == (1, 2)
    assert "1 games no longer listed retired (2 open bets voided)" in report.summary()

    after = _ledger(url)
    assert after.keys() == before.keys()  # nothing lost
    assert after[graded] == before[graded]  # a graded bet keeps its grade
    with session_scope(url) as session:
        game = session.get(Game, game_id)
        assert game is not None and game.is_retired
        assert WORKBOOK in game.retired_reason and "2019" in game.retired_reason
        for bet_id, (_, _, status, profit, reason) in after.items():
            if bet_id != graded:
                assert (status, profit, reason) == ("void", 0.0, game.retired_reason)
        # Games nothing refers to are still deleted; none of the day is a live game any more.
        assert not session.scalars(select(Game.id).where(Game.id.in_(others))).all()
        assert slate(session, DAY) == []
        assert game_id not in set(load_games_frame(session, seasons=[2019])["game_id"])
        assert game_id not in games_to_settle(session, date(2019, 12, 1))
    assert clean_client.get(f"/api/v1/games?date={DAY}").get_json() == []
    response = clean_client.post(
        "/api/v1/bets",
        json={"game_id": game_id, "market": "home_ml", "side": "home", "odds": 100, "stake": 5},
    )
    assert response.status_code == 409 and "retired" in response.get_json()["message"]
    # No foreign key of the ledger cascades: the game cannot be deleted from under its bets.
    with pytest.raises(sa.exc.IntegrityError), get_engine(url).begin() as connection:
        connection.execute(sa.text("DELETE FROM games WHERE id = :id"), {"id": game_id})

    # The original file again: the same game, live, with the bets its retirement voided open.
    with session_scope(url) as session:
        (report,) = ingest(session, "sbro", [original])
    assert report.reapplied and report.games_retired == 0
    assert _ledger(url) == before
    day_games = clean_client.get(f"/api/v1/games?date={DAY}").get_json()
    assert game_id in {game["id"] for game in day_games} and len(day_games) == len(others) + 1
    with session_scope(url) as session:
        game = session.get(Game, game_id)
        assert not game.is_retired and game.retired_reason is None
        settled = settle_games(session, games_to_settle(session, date(2019, 12, 1)))
    assert settled.games == 1 and sum(settled.graded.values()) == 2


def test_a_retired_game_is_refused_at_submit_as_a_bet_on_it_is(
    clean_database: str, clean_client, games
) -> None:
    from datetime import UTC, datetime

    from app.jobs.models import Job

    with session_scope(clean_database) as session:
        retired = session.get(Game, games["final"])
        retired.retired_at, retired.retired_reason = datetime.now(UTC), "dropped by the archive"
    one = clean_client.post("/api/v1/predict", json={"game_id": games["final"]})
    assert one.status_code == 409, one.get_json()
    assert one.get_json()["errors"] == {"game_ids": [games["final"]]}
    batch = clean_client.post(
        "/api/v1/predict/batch", json={"game_ids": [games["short"], games["final"]]}
    )
    assert batch.status_code == 409, batch.get_json()
    assert batch.get_json()["errors"] == {"game_ids": [games["final"]]}
    unknown = clean_client.post("/api/v1/predict", json={"game_id": 999_999})
    assert unknown.status_code == 404
    with session_scope(clean_database) as session:
        assert session.scalars(select(Job.id)).all() == []  # no job to die on the game


def test_a_game_retired_after_its_job_was_submitted_fails_it_with_the_reason(
    clean_database: str, games, service_urls
) -> None:
    """Submitted while listed, retired before a worker ran it: the job's features say which
    games went and why, not a KeyError."""
    from datetime import UTC, datetime

    import redis

    from app.features.definitions import FEATURE_SET
    from app.features.serving import GamesNoLongerListed, stored_features, stored_game_rows
    from app.features.store import FeatureStore

    with session_scope(clean_database) as session:
        retired = session.get(Game, games["final"])
        retired.retired_at, retired.retired_reason = datetime.now(UTC), "dropped by the archive"
    store = FeatureStore(
        redis.Redis.from_url(service_urls["BULLPEN_FEATURE_STORE_URL"]), FEATURE_SET
    )
    for read in (stored_features, stored_game_rows):
        gone = pytest.raises(GamesNoLongerListed, match=rf"\[{games['final']}\].*retired")
        with session_scope(clean_database) as session, gone:
            read(session, store, [games["short"], games["final"]])
