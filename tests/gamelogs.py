"""Retrosheet game logs of seasons we do not have, made from one we do: every date moved.

Parsed and written by field meaning (the retrosheet.org "Game Logs" layout, the indexes of
``app.ingest.retrosheet.parse``), never by the text of a shipped file: the date field is moved by
whole years (month and day kept), the day-of-week field recomputed, every field re-quoted.
"""

import csv
import gzip
import io
from datetime import date, datetime
from pathlib import Path

from app.ingest.retrosheet.parse import DATE, parse_game_log, read_game_log
from app.ingest.teams import MLB_TEAM_ID_TO_CANONICAL

DAY_OF_WEEK = 2  # "Mon".."Sun", the field after the game number


def shifted_game_log(source: Path, years: int, folder: Path, *, keep: int | None = None) -> Path:
    """``source``'s games ``years`` later, as ``folder/GLYYYY.TXT.gz`` (its first ``keep``
    games only, when given)."""
    rows = read_game_log(source)[:keep]
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\r\n")
    season = None
    for row in rows:
        fields = list(row.fields)
        day = datetime.strptime(fields[DATE], "%Y%m%d").date()
        moved = _same_day_of_year(day, day.year + years)
        season = moved.year
        fields[DATE] = moved.strftime("%Y%m%d")
        fields[DAY_OF_WEEK] = moved.strftime("%a")
        writer.writerow(fields)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"GL{season}.TXT.gz"
    path.write_bytes(gzip.compress(out.getvalue().encode("latin-1")))
    return path


def _same_day_of_year(day: date, year: int) -> date:
    try:
        return day.replace(year=year)
    except ValueError:  # 29 February into a common year
        return day.replace(year=year, day=28)


def game_log_with(template: Path, folder: Path, name: str, games: list[dict[int, str]]) -> Path:
    """A game log of ``games``, each the first line of ``template`` with the fields given by
    index replaced (e.g. ``{DATE: "20240615", HOME_TEAM: "TOR"}``), as ``folder/name``."""
    first = list(read_game_log(template)[0].fields)
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    for changes in games:
        fields = list(first)
        for index, value in changes.items():
            fields[index] = value
        writer.writerow(fields)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_bytes(out.getvalue().encode("latin-1"))
    return path


def opener_schedule(log: Path, *, game_pk: int = 900001) -> dict:
    """A schedule response in the MLB Stats API shape: the first game of ``log`` one year on
    (its teams by MLB id, its starters by name as probable pitchers), not played yet."""
    games, _ = parse_game_log(read_game_log(log))
    first = min(games, key=lambda game: (game.game_date, game.game_number))
    day = _same_day_of_year(first.game_date, first.game_date.year + 1)
    mlb_id = {code: team_id for team_id, code in MLB_TEAM_ID_TO_CANONICAL.items()}
    sides = {
        "home": (mlb_id[first.home_team], first.home_pitcher_name),
        "away": (mlb_id[first.away_team], first.away_pitcher_name),
    }
    game = {
        "gamePk": game_pk,
        "gameType": "R",
        "gameDate": f"{day.isoformat()}T23:05:00Z",
        "officialDate": day.isoformat(),
        "status": {"abstractGameState": "Preview", "codedGameState": "S"},
        "teams": {
            side: {"team": {"id": team}, "probablePitcher": {"id": 1, "fullName": pitcher}}
            for side, (team, pitcher) in sides.items()
        },
        "doubleHeader": "N",
        "gameNumber": 1,
        "scheduledInnings": 9,
    }
    return {"dates": [{"date": day.isoformat(), "games": [game]}]}
