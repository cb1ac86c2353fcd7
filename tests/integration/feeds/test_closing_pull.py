"""The closing pull: a game entering its last 30 minutes without a quote there asks for one."""

from datetime import UTC, datetime, timedelta

import pytest

from app.db.session import session_scope
from app.feeds.run import games_needing_a_close
from app.games.models import Game, OddsSnapshot

pytestmark = pytest.mark.integration

NOW = datetime(2024, 6, 1, 22, 50, tzinfo=UTC)


def _game(session, key: str, start: datetime, quoted: list[datetime]) -> int:
    game = Game(game_key=key, season=2024, game_date=start.date(), start_time=start,
                home_team="NYA", away_team="BOS")  # fmt: skip
    session.add(game)
    session.flush()
    for at in quoted:
        session.add(OddsSnapshot(game_id=game.id, book="pinnacle", captured_at=at,
                                 home_ml=-120, away_ml=110))  # fmt: skip
    return game.id


def test_only_games_in_their_closing_window_without_a_quote_there(clean_database):
    with session_scope(clean_database) as session:
        due = _game(session, "a", NOW + timedelta(minutes=20), [NOW - timedelta(hours=1)])
        _game(session, "b", NOW + timedelta(minutes=20), [NOW - timedelta(minutes=5)])  # closed
        _game(session, "c", NOW + timedelta(hours=2), [NOW - timedelta(hours=1)])  # not yet
        _game(session, "d", NOW - timedelta(minutes=5), [NOW - timedelta(hours=1)])  # started
        _game(session, "e", NOW + timedelta(minutes=20), [])  # no book quotes it at all
    with session_scope(clean_database) as session:
        assert games_needing_a_close(session, NOW) == [due]
        session.add(OddsSnapshot(game_id=due, book="pinnacle", captured_at=NOW,
                                 home_ml=-125, away_ml=115))  # fmt: skip
    with session_scope(clean_database) as session:
        assert games_needing_a_close(session, NOW) == []
