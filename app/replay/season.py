"""The replayed season's games, read from its files with the project's own parsers.

The odds workbook (``sbro/mlb-odds-Y.xlsx``, :mod:`app.ingest.sbro`) gives every game, its
starting pitchers in SBRO form, the final, the opening and closing moneyline and total and
the closing run line. The season's game log (``retrosheet/GLY.TXT.gz``,
:mod:`app.ingest.retrosheet.parse`), when present, is matched to it the way the ingest matches
them and gives the starters' full names, day or night, and the official final.

A line history of the season (``pinnacle/MLBY_games.csv`` + ``MLBY_lines.csv.gz``,
:mod:`app.ingest.lines`), when present, is joined to it the way the ingest joins them: each
joined game gets the book's every line before first pitch (:data:`SHARP_BOOK`, served as a
second bookmaker) and its true first pitch (the file's event time less the offset measured
from the file itself).

Otherwise first pitch (SBRO has no times) is set by one rule, :func:`first_pitch`: 17:05 UTC
for a day game, 23:05 UTC for a night game or when the log does not say; the later game of a
doubleheader starts at least :data:`DOUBLEHEADER_GAP` after the earlier one.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from app.clock import SCHEDULE_ZONE
from app.ingest.curated import CuratedGame
from app.ingest.lines import (
    Line,
    measure_event_time_offset,
    pair_paths,
    parse_games,
    parse_lines,
    read_csv,
)
from app.ingest.lines import match_games as match_line_games
from app.ingest.retrosheet.parse import match_games, parse_game_log, read_game_log
from app.ingest.retrosheet.reconcile import scheduled_innings
from app.ingest.sbro.layout import read_workbook
from app.ingest.sbro.parse import SbroGame, mark_postseason, parse_workbook
from app.ingest.sbro.parse import regular_season_end as sbro_season_end

DAY_GAME_START = time(17, 5)
NIGHT_GAME_START = time(23, 5)
DOUBLEHEADER_GAP = timedelta(hours=3, minutes=30)
# First MLB Stats API-like game id of a replayed season: season * 100000 + running number.
GAME_PK_BASE = 100_000


class SeasonFilesMissing(ValueError):
    """The data directory lacks the season's odds workbook."""


@dataclass(frozen=True)
class ReplayGame:
    """One game of the replayed season as the providers will tell it."""

    game_pk: int
    game_date: date  # the official (US Eastern) date
    game_number: int  # 0 single game, 1/2 a doubleheader's
    start_time: datetime  # aware UTC, by :func:`first_pitch`
    home_team: str  # canonical codes
    away_team: str
    home_pitcher: str | None  # full name when the game log has it, else SBRO's form
    away_pitcher: str | None
    home_score: int
    away_score: int
    scheduled_innings: int
    postseason: bool
    day_night: str | None
    home_ml_open: int | None
    away_ml_open: int | None
    home_ml_close: int | None
    away_ml_close: int | None
    total_open: float | None
    over_open: int | None
    under_open: int | None
    total_close: float | None
    over_close: int | None
    under_close: int | None
    home_rl: float | None
    home_rl_price: int | None
    away_rl_price: int | None
    # The line history's lines of this game before first pitch, oldest first (may be empty).
    sharp_lines: tuple[Line, ...] = field(default=(), compare=False, repr=False)

    def sharp_line_at(self, moment: datetime) -> Line | None:
        """The line history's line standing at ``moment`` (the last one entered by then)."""
        standing = None
        for line in self.sharp_lines:
            if line.captured_at > moment:
                break
            standing = line
        return standing


def season_files(data_dir: Path, season: int) -> tuple[Path, Path | None]:
    """The season's odds workbook and game log (None when absent) under ``data_dir``."""
    workbooks = _find(data_dir, f"mlb-odds-{season}.xlsx")
    if not workbooks:
        raise SeasonFilesMissing(f"no mlb-odds-{season}.xlsx under {data_dir} (or its sbro/)")
    logs = _find(data_dir, f"GL{season}.TXT.gz") or _find(data_dir, f"GL{season}.TXT")
    return workbooks[0], (logs[0] if logs else None)


def training_files(data_dir: Path, before: int) -> dict[str, list[Path]]:
    """Files of the seasons before ``before``, by ingest source (sbro, retrosheet, lines)."""
    found: dict[str, list[Path]] = {"sbro": [], "retrosheet": [], "lines": []}
    for season in range(1900, before):
        found["sbro"] += _find(data_dir, f"mlb-odds-{season}.xlsx")
        found["retrosheet"] += _find(data_dir, f"GL{season}.TXT.gz") or _find(
            data_dir, f"GL{season}.TXT"
        )
        games = _find(data_dir, f"MLB{season}_games.csv")
        if games:
            found["lines"] += games + _find(data_dir, f"MLB{season}_lines.csv*")
    return found


def _find(data_dir: Path, name: str) -> list[Path]:
    """``name`` directly under ``data_dir`` or one folder down (sbro/, retrosheet/, ...)."""
    return sorted({*data_dir.glob(name), *data_dir.glob(f"*/{name}")})


def first_pitch(day: date, day_night: str | None) -> datetime:
    """The rule's first pitch of a game on ``day``: 17:05 UTC by day, else 23:05 UTC."""
    start = DAY_GAME_START if day_night == "D" else NIGHT_GAME_START
    return datetime.combine(day, start, tzinfo=UTC)


def load_season(data_dir: Path, season: int) -> list[ReplayGame]:
    """Every game of ``season`` in date order, with what the providers will show of it."""
    workbook_path, log_path = season_files(data_dir, season)
    parsed = parse_workbook(read_workbook(workbook_path), season)
    logs = []
    if log_path is not None:
        logs, _ = parse_game_log(read_game_log(log_path))
    season_end = max((log.game_date for log in logs), default=None)
    mark_postseason(parsed.games, season_end or sbro_season_end(parsed.games))
    matched = match_games(_as_curated(parsed.games), logs)
    order = sorted(range(len(parsed.games)), key=lambda i: _order(parsed.games[i]))
    games = [
        _replay_game(season, number, parsed.games[i], matched.get(i))
        for number, i in enumerate(order)
    ]
    games = _with_line_history(games, data_dir, season)
    return _space_doubleheaders(games)


def line_history_files(data_dir: Path, season: int) -> tuple[Path, Path] | None:
    """The season's line-history pair (games file, lines file) under ``data_dir``, if any."""
    pairs = pair_paths(_find(data_dir, f"MLB{season}_games.csv"))
    return pairs[0] if pairs else None


def _with_line_history(games: list[ReplayGame], data_dir: Path, season: int) -> list[ReplayGame]:
    """Each game the season's line history joins, with its lines and true first pitch."""
    pair = line_history_files(data_dir, season)
    if pair is None:
        return games
    games_path, lines_path = pair
    history_games, _ = parse_games(read_csv(games_path.read_bytes()))
    lines, _ = parse_lines(read_csv(lines_path.read_bytes()))
    offset = measure_event_time_offset(history_games, lines).shift
    joined, _ = match_line_games(history_games, offset, _as_curated(games))
    starts = {game.game_idx: game.event_time - offset for game in history_games}
    by_game: dict[int, list[Line]] = defaultdict(list)
    for line in lines:
        if line.game_idx in joined and line.captured_at < starts[line.game_idx]:
            by_game[line.game_idx].append(line)
    result = list(games)
    for game_idx, index in joined.items():
        start = starts[game_idx]
        if start.astimezone(SCHEDULE_ZONE).date() != games[index].game_date:
            continue  # played on another date than the archive's (postponed): rule's time
        history = tuple(sorted(by_game[game_idx], key=lambda line: line.captured_at))
        result[index] = replace(games[index], start_time=start, sharp_lines=history)
    return result


def _as_curated(games: Sequence[SbroGame | ReplayGame]) -> list[CuratedGame]:
    """The games as the ingest's joins take them, each numbered by its index."""
    return [
        CuratedGame(
            game_id=index,
            game_date=game.game_date,
            home_team=game.home_team,
            away_team=game.away_team,
            game_number=game.game_number,
            home_score=game.home_score,
            away_score=game.away_score,
        )
        for index, game in enumerate(games)
    ]


def _order(game: SbroGame) -> tuple:
    return (game.game_date, game.game_number, game.visitor_row_number)


def _replay_game(season: int, index: int, game: SbroGame, log) -> ReplayGame:
    day_night = log.day_night if log is not None else None
    home_score, away_score = (
        (log.home_score, log.away_score) if log is not None else (game.home_score, game.away_score)
    )
    return ReplayGame(
        game_pk=season * GAME_PK_BASE + index + 1,
        game_date=game.game_date,
        game_number=game.game_number,
        start_time=first_pitch(game.game_date, day_night),
        home_team=game.home_team,
        away_team=game.away_team,
        home_pitcher=(log.home_pitcher_name if log is not None else None) or game.home_pitcher,
        away_pitcher=(log.away_pitcher_name if log is not None else None) or game.away_pitcher,
        home_score=home_score,
        away_score=away_score,
        scheduled_innings=scheduled_innings(
            season, game.game_number, log.game_number if log is not None else None
        ),
        postseason=game.postseason,
        day_night=day_night,
        home_ml_open=game.home_ml_open,
        away_ml_open=game.away_ml_open,
        home_ml_close=game.home_ml_close,
        away_ml_close=game.away_ml_close,
        total_open=game.total_open,
        over_open=game.over_open,
        under_open=game.under_open,
        total_close=game.total_close,
        over_close=game.over_close,
        under_close=game.under_close,
        home_rl=game.home_rl,
        home_rl_price=game.home_rl_price,
        away_rl_price=game.away_rl_price,
    )


def _space_doubleheaders(games: list[ReplayGame]) -> list[ReplayGame]:
    """The later game of two on one day between the same teams starts after the earlier."""
    by_matchup: dict[tuple, list[int]] = defaultdict(list)
    for index, game in enumerate(games):
        by_matchup[(game.game_date, game.home_team, game.away_team)].append(index)
    spaced = list(games)
    for indexes in by_matchup.values():
        previous: datetime | None = None
        for index in sorted(indexes, key=lambda i: (games[i].game_number, games[i].start_time)):
            game = spaced[index]
            if previous is not None and game.start_time < previous + DOUBLEHEADER_GAP:
                game = _with_start(game, previous + DOUBLEHEADER_GAP)
                spaced[index] = game
            previous = game.start_time
    return spaced


def _with_start(game: ReplayGame, start: datetime) -> ReplayGame:
    return replace(game, start_time=start)
