"""The replay's provider with two bookmakers: the archive's prices and a line history's
every line change, each stamped when the provider last saw it, never at or after first pitch;
and the season's line history joined to the archive's games from files."""

import gzip
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from app.ingest.lines import Line
from app.replay.provider import BOOK, LAST_SEEN_BEFORE_START, SeasonProvider
from app.replay.season import ReplayGame, _with_line_history

START = datetime(2016, 6, 1, 23, 5, tzinfo=UTC)
SHARP = "pinnacle"


def _game(**fields) -> ReplayGame:
    base = dict(
        game_pk=201600001, game_date=date(2016, 6, 1), game_number=0, start_time=START,
        home_team="NYA", away_team="BOS", home_pitcher=None, away_pitcher=None,
        home_score=5, away_score=3, scheduled_innings=9, postseason=False, day_night="N",
        home_ml_open=-130, away_ml_open=120, home_ml_close=-140, away_ml_close=130,
        total_open=8.5, over_open=-110, under_open=-110,
        total_close=9.0, over_close=-105, under_close=-115,
        home_rl=-1.5, home_rl_price=140, away_rl_price=-160,
    )  # fmt: skip
    return ReplayGame(**(base | fields))


def _line(at: datetime, home: int, away: int, **fields) -> Line:
    return Line(0, 7, at, away_ml=away, home_ml=home, **fields)


LINES = (
    _line(START - timedelta(hours=20), -120, 110),
    _line(START - timedelta(hours=2), -135, 125, total=8.0, over_price=-105, under_price=-105),
    _line(START - timedelta(seconds=30), -150, 140),  # the last before first pitch
    _line(START, -170, 150),  # at first pitch: in play, never shown
)


def _books(moment: datetime, game: ReplayGame) -> dict[str, dict]:
    (event,) = SeasonProvider([game], lambda: moment, "key").odds(None, None)
    return {bookmaker["key"]: bookmaker for bookmaker in event["bookmakers"]}


def _prices(bookmaker: dict, market: str) -> list:
    (found,) = [m for m in bookmaker["markets"] if m["key"] == market]
    return [(o["name"], o["price"], o.get("point")) for o in found["outcomes"]]


def test_the_morning_shows_both_books_as_seen_now() -> None:
    morning = datetime(2016, 6, 1, 13, tzinfo=UTC)
    books = _books(morning, _game(sharp_lines=LINES))
    assert set(books) == {BOOK, SHARP}
    for bookmaker in books.values():
        assert bookmaker["last_update"] == "2016-06-01T13:00:00Z"
        assert all(m["last_update"] == "2016-06-01T13:00:00Z" for m in bookmaker["markets"])
    # The line standing at 13:00 is the one entered 20 h before first pitch.
    assert _prices(books[SHARP], "h2h") == [
        ("New York Yankees", -120, None),
        ("Boston Red Sox", 110, None),
    ]
    assert [m["key"] for m in books[SHARP]["markets"]] == ["h2h"]  # that line had no total
    assert _prices(books[BOOK], "h2h")[0][1] == -130  # SBRO's opening price


def test_after_first_pitch_the_last_pregame_quotes_stay_stamped_before_it() -> None:
    later = START + timedelta(hours=2)
    books = _books(later, _game(sharp_lines=LINES))
    seen = START - LAST_SEEN_BEFORE_START
    for bookmaker in books.values():
        stamped = datetime.fromisoformat(bookmaker["last_update"].replace("Z", "+00:00"))
        assert stamped == seen < START
    # The sharp close is the last line before first pitch, the move 30 s before it included;
    # that line quotes no total, so none is shown.
    assert _prices(books[SHARP], "h2h")[0][1] == -150
    assert [m["key"] for m in books[SHARP]["markets"]] == ["h2h"]
    assert _prices(books[BOOK], "h2h")[0][1] == -140  # SBRO's close


def test_a_game_without_a_line_history_has_one_book_and_none_before_its_lines() -> None:
    assert set(_books(datetime(2016, 6, 1, 13, tzinfo=UTC), _game())) == {BOOK}
    early = datetime(2016, 5, 31, 23, tzinfo=UTC)  # before SBRO's opening and every line
    assert SeasonProvider([_game(sharp_lines=LINES[1:])], lambda: early, "k").odds(None, None) == []


GAMES_HEADER = (
    "game_idx,BaseballRefID,EventDateTimeEst,AwayTeam,HomeTeam,DoubleHeaderGame,"
    "AwayStartingPitcher,HomeStartingPicher,FinalScoreAway,FinalScoreHome"
)
LINES_HEADER = (
    "game_idx,EnteredDateTime,SpreadTeam1,SpreadUS1,SpreadUS2,MoneyUS1,MoneyUS2,"
    "TotalPoints,TotalUSOver,TotalUSUnder"
)
HISTORY_GAMES = 40  # enough games for the ingest's offset measurement


def test_the_line_history_joins_its_game_with_its_lines_and_true_first_pitch(tmp_path) -> None:
    """A file whose event times run 3 h late (02:10 UTC for a 23:10 UTC first pitch), as the
    2016 file's do: measured from the last lines as the ingest measures it, the joined game
    starts at 23:10 UTC, and its line entered after that is dropped."""
    folder = tmp_path / "pinnacle"
    folder.mkdir()
    games, lines = [GAMES_HEADER], [LINES_HEADER]
    for index in range(HISTORY_GAMES):
        day = date(2016, 6, 1) + timedelta(days=index)
        event = datetime.combine(day + timedelta(days=1), datetime.min.time()) + timedelta(
            hours=2, minutes=10
        )
        games.append(f"{index},X{index},{event}+00:00,Boston Red Sox,New York Yankees,0,,,3,5")
        for at, away, home in (("20:00", 120, -130), ("23:09", 125, -135), ("23:30", 200, -250)):
            lines.append(f"{index},{day} {at}:00+00:00,,,,{away},{home},,,")
    (folder / "MLB2016_games.csv").write_text("\n".join(games) + "\n")
    (folder / "MLB2016_lines.csv.gz").write_bytes(gzip.compress("\n".join(lines).encode()))
    game = _game(start_time=datetime(2016, 6, 1, 23, 5, tzinfo=UTC))
    (joined,) = _with_line_history([game], tmp_path, 2016)
    assert joined.start_time == datetime(2016, 6, 1, 23, 10, tzinfo=UTC)
    assert [line.home_ml for line in joined.sharp_lines] == [-130, -135]
    assert replace(joined, start_time=game.start_time, sharp_lines=()) == game


@pytest.mark.parametrize("moment_hours, expected", [(-21, None), (-20, -120), (-1, -135)])
def test_the_line_standing_at_a_moment(moment_hours: int, expected: int | None) -> None:
    line = _game(sharp_lines=LINES).sharp_line_at(START + timedelta(hours=moment_hours))
    assert (line.home_ml if line else None) == expected
