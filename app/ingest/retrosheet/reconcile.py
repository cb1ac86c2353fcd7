"""Reconcile the sources of a season: match curated games to the Retrosheet log, enrich them,
and settle every disagreement by a named rule.

Runs after a season's odds workbook or its game log is curated. A season's games are those
of all its sources: a game-log game that no curated game matches becomes a curated game of
its own (results only: no prices until an odds workbook attaches to it, see
``app/ingest/sbro/``), so a season with results but no odds archive is a season. For each
matched game the log's pitcher ids, decisions, length, day/night and park are set and its
team box scores stored. Where the odds archive's final differs from the log's, rule
``sources_final_score_disagree`` fires and the official scorer's record (Retrosheet) is the
final; where they agree again (or the game no longer matches), the archive's own final of
its current file comes back. Games of 2020-2021 doubleheaders were scheduled for seven
innings (rule ``sources_seven_inning_doubleheader``). Only rows whose values change are written.
"""

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.games.models import Game, LineupSlot, TeamBoxScore
from app.ingest import bulk, rules, schedule_feed
from app.ingest.csv_files import CsvRow
from app.ingest.curated import CuratedGame, game_key
from app.ingest.models import (
    IngestedFile,
    IngestRun,
    RawFeedRow,
    RawRetrosheetRow,
    SourceConflict,
    StagingRetrosheetGame,
    StagingSbroGame,
)
from app.ingest.retrosheet import parse as retrosheet

# MLB's rule for the 2020 and 2021 seasons: both games of a doubleheader were seven innings.
SEVEN_INNING_DOUBLEHEADER_SEASONS = frozenset({2020, 2021})
REGULATION_INNINGS = 9
SEVEN_INNINGS = 7
ENRICHED_COLUMNS = (
    "retrosheet_game_id",
    "home_pitcher_id",
    "away_pitcher_id",
    "day_night",
    "park_id",
    "winning_pitcher_id",
    "losing_pitcher_id",
    "saving_pitcher_id",
    "length_outs",
    "postseason",
    "home_score",
    "away_score",
    "scheduled_innings",
)


@dataclass
class Reconciled:
    """Per season: the share of regular-season games matched, conflicts by rule, the games
    created from the log alone, and the log games left uncurated by rule."""

    match_rates: dict[int, float] = field(default_factory=dict)
    conflicts: dict[int, dict[str, int]] = field(default_factory=dict)
    created: dict[int, int] = field(default_factory=dict)
    not_curated: dict[int, dict[str, int]] = field(default_factory=dict)


def retrosheet_season_ends(session: Session, seasons: Iterable[int]) -> dict[int, date]:
    """The last regular-season date of each season whose Retrosheet log is staged."""
    found = session.execute(
        select(StagingRetrosheetGame.season, func.max(StagingRetrosheetGame.game_date))
        .where(StagingRetrosheetGame.season.in_(list(seasons)))
        .group_by(StagingRetrosheetGame.season)
    )
    return {season: last_date for season, last_date in found}


def scheduled_innings(season: int, game_number: int, log_game_number: int | None) -> int:
    """The innings a game was scheduled for (rule ``sources_seven_inning_doubleheader``)."""
    doubleheader = game_number > 0 or (log_game_number or 0) > 0
    if doubleheader and season in SEVEN_INNING_DOUBLEHEADER_SEASONS:
        return SEVEN_INNINGS
    return REGULATION_INNINGS


def reconcile_seasons(session: Session, seasons: Iterable[int]) -> Reconciled:
    """Match, enrich and settle the curated games of ``seasons``; see the module docstring."""
    seasons = sorted(set(seasons))
    season_ends = retrosheet_season_ends(session, seasons)
    logs = (
        session.execute(
            select(StagingRetrosheetGame).where(StagingRetrosheetGame.season.in_(seasons))
        )
        .scalars()
        .all()
    )
    games = session.execute(
        select(Game.__table__).where(Game.season.in_(seasons), Game.retired_at.is_(None))
    ).all()
    finals = archive_finals(session, seasons)
    regular = [
        CuratedGame(
            game.id,
            game.game_date,
            game.home_team,
            game.away_team,
            game.game_number,
            *finals.get(game.id, (game.home_score, game.away_score)),
        )
        for game in games
        if game.season in season_ends and game.game_date <= season_ends[game.season]
    ]
    matches = retrosheet.match_games(regular, logs)
    created, key_taken = _games_of_unmatched_logs(session, logs, matches)
    if created:
        matches.update(created)
        games = session.execute(select(Game.__table__).where(Game.season.in_(seasons))).all()

    fed = feed_finals(session, [game.id for game in games])
    changes: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    for game in games:
        log = matches.get(game.id)
        archive = finals.get(game.id)
        home_final, away_final = archive or (game.home_score, game.away_score)
        second = ("sbro", archive) if archive else ("schedule_feed", fed.get(game.id))
        if log is not None and second[1] and (log.home_score, log.away_score) != second[1]:
            conflicts.append(_score_conflict(game, log, second[0], *second[1]))
        if log is not None and log.game_date != game.game_date:
            conflicts.append(_date_conflict(game, log))
        if log is not None:
            home_final, away_final = log.home_score, log.away_score
        end = season_ends.get(game.season)
        wanted = {
            "retrosheet_game_id": log.retrosheet_game_id if log else None,
            "home_pitcher_id": log.home_pitcher_id if log else None,
            "away_pitcher_id": log.away_pitcher_id if log else None,
            "day_night": log.day_night if log else None,
            "park_id": log.park_id if log else None,
            "winning_pitcher_id": log.winning_pitcher_id if log else None,
            "losing_pitcher_id": log.losing_pitcher_id if log else None,
            "saving_pitcher_id": log.saving_pitcher_id if log else None,
            "length_outs": log.length_outs if log else None,
            "postseason": game.postseason if end is None else game.game_date > end,
            "home_score": home_final,
            "away_score": away_final,
            "scheduled_innings": scheduled_innings(
                game.season, game.game_number, log.game_number if log else None
            ),
        }
        if any(getattr(game, name) != value for name, value in wanted.items()):
            changes.append({"id": game.id, **wanted})
    _apply_game_changes(session, changes)
    _replace_conflicts(session, seasons, conflicts)
    raw_rows = _raw_log_rows(session, matches)
    _refresh_box_scores(session, [game.id for game in games], matches, raw_rows)
    _refresh_lineups(session, [game.id for game in games], matches, raw_rows)
    _link_logs(session, logs, matches)

    result = Reconciled()
    for season in seasons:
        result.conflicts[season] = dict(
            Counter(c["rule"] for c in conflicts if c["season"] == season)
        )
        result.created[season] = sum(1 for log in created.values() if log.season == season)
        taken = sum(1 for log in key_taken if log.season == season)
        result.not_curated[season] = {rules.GAME_KEY_TAKEN.name: taken} if taken else {}
        if season not in season_ends:
            continue
        # Of the season's regular-season games (those the log itself created included).
        in_season = [view.game_id for view in regular if view.game_date.year == season]
        in_season += [game_id for game_id, log in created.items() if log.season == season]
        if in_season:
            matched = sum(1 for game_id in in_season if game_id in matches)
            result.match_rates[season] = matched / len(in_season)
    return result


def _games_of_unmatched_logs(
    session: Session,
    logs: Sequence[StagingRetrosheetGame],
    matches: dict[int, StagingRetrosheetGame],
) -> tuple[dict[int, StagingRetrosheetGame], list[StagingRetrosheetGame]]:
    """Create a curated game for every log game no curated game matched.

    Returns the new games (game id -> log game) and the log games whose natural key a
    curated game matched to another log game already holds (rule
    ``sources_game_key_taken``: not curated, counted in the report).
    """
    matched = {id(log) for log in matches.values()}
    unmatched = [log for log in logs if id(log) not in matched]
    if not unmatched:
        return {}, []
    rows = [
        {
            "game_key": game_key(log.game_date, log.home_team, log.away_team, log.game_number),
            "season": log.season,
            "game_date": log.game_date,
            "game_number": log.game_number,
            "home_team": log.home_team,
            "away_team": log.away_team,
            "home_pitcher": log.home_pitcher_name,
            "away_pitcher": log.away_pitcher_name,
            "home_score": log.home_score,
            "away_score": log.away_score,
            "neutral_site": False,
            "postseason": False,
            "scheduled_innings": scheduled_innings(log.season, log.game_number, log.game_number),
        }
        for log in unmatched
    ]
    inserted = session.execute(
        insert(Game.__table__)
        .on_conflict_do_nothing(index_elements=["game_key"])
        .returning(Game.__table__.c.id, Game.__table__.c.game_key),
        rows,  # executemany, batched: any number of seasons
    ).all()
    ids = {key: game_id for game_id, key in inserted}
    by_key = {row["game_key"]: log for row, log in zip(rows, unmatched, strict=True)}
    created = {ids[key]: log for key, log in by_key.items() if key in ids}
    return created, [log for key, log in by_key.items() if key not in ids]


def archive_finals(session: Session, seasons: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Game id -> (home, away) final as the current odds workbook of its season has it."""
    latest = (
        select(IngestRun.season, func.max(IngestRun.id).label("run_id"))
        .where(IngestRun.source == "sbro", IngestRun.season.in_(list(seasons)))
        .group_by(IngestRun.season)
        .subquery()
    )
    current_files = select(IngestRun.file_id).join(latest, latest.c.run_id == IngestRun.id)
    found = session.execute(
        select(
            StagingSbroGame.game_id, StagingSbroGame.home_score, StagingSbroGame.away_score
        ).where(StagingSbroGame.file_id.in_(current_files), StagingSbroGame.game_id.is_not(None))
    )
    return {game_id: (home, away) for game_id, home, away in found}


def feed_finals(session: Session, game_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Game id -> (home, away) final of the latest schedule-feed listing of the game."""
    latest: dict[int, Any] = {}
    for game_id, payload in session.execute(
        select(RawFeedRow.game_id, RawFeedRow.payload)
        .join(IngestedFile, IngestedFile.id == RawFeedRow.file_id)
        .where(
            IngestedFile.source == schedule_feed.SOURCE_NAME, RawFeedRow.game_id.in_(list(game_ids))
        )
        .order_by(RawFeedRow.id)
    ):
        latest[game_id] = payload
    finals = {}
    for game_id, payload in latest.items():
        listed = schedule_feed.parse_game(0, payload, [])
        if listed is not None and listed.is_final:
            finals[game_id] = (listed.home_score, listed.away_score)
    return finals


SOURCE_LABELS = {"sbro": "odds archive", "schedule_feed": "schedule feed"}


def _score_conflict(game: Any, log: Any, source: str, home: int, away: int) -> dict[str, Any]:
    rule = rules.FINAL_SCORE_SOURCES_DISAGREE
    return {
        "game_id": game.id,
        "season": game.season,
        "rule": rule.name,
        "winner": "retrosheet",
        "values": {
            source: {"home": home, "away": away},
            "retrosheet": {"home": log.home_score, "away": log.away_score},
        },
        "message": (
            f"{game.game_key}: {SOURCE_LABELS[source]} {away}-{home}, Retrosheet "
            f"{log.retrosheet_game_id} {log.away_score}-{log.home_score}; {rule.description}"
        ),
    }


def _date_conflict(game: Any, log: Any) -> dict[str, Any]:
    rule = rules.SOURCES_DATE_DISAGREE
    return {
        "game_id": game.id,
        "season": game.season,
        "rule": rule.name,
        "winner": "curated",
        "values": {
            "curated": {"date": game.game_date.isoformat()},
            "retrosheet": {"date": log.game_date.isoformat()},
        },
        "message": (
            f"{game.game_key}: Retrosheet {log.retrosheet_game_id} is dated "
            f"{log.game_date}; {rule.description}"
        ),
    }


def _replace_conflicts(
    session: Session, seasons: Sequence[int], conflicts: list[dict[str, Any]]
) -> None:
    session.execute(delete(SourceConflict).where(SourceConflict.season.in_(list(seasons))))
    if conflicts:
        session.execute(SourceConflict.__table__.insert(), conflicts)


def _link_logs(
    session: Session, logs: Sequence[StagingRetrosheetGame], matches: dict[int, Any]
) -> None:
    game_id_by_log = {log.retrosheet_game_id: game_id for game_id, log in matches.items()}
    changes = [
        {"id": log.id, "game_id": game_id_by_log.get(log.retrosheet_game_id)}
        for log in logs
        if log.game_id != game_id_by_log.get(log.retrosheet_game_id)
    ]
    if changes:
        bulk.update_by_id(session, StagingRetrosheetGame.__table__, changes, ["game_id"])
        session.expire_all()


def _raw_log_rows(session: Session, matches: dict[int, StagingRetrosheetGame]) -> dict[int, CsvRow]:
    """Raw row id -> the game-log line of each matched log game."""
    raw_ids = [log.raw_row_id for log in matches.values()]
    return {
        raw_id: CsvRow(row_number, tuple(fields))
        for raw_id, row_number, fields in session.execute(
            select(RawRetrosheetRow.id, RawRetrosheetRow.row_number, RawRetrosheetRow.fields).where(
                RawRetrosheetRow.id.in_(raw_ids)
            )
        )
    }


def _refresh_lineups(
    session: Session,
    game_ids: Sequence[int],
    matches: dict[int, StagingRetrosheetGame],
    raw_rows: dict[int, CsvRow],
) -> None:
    """The starting lineups of matched games from their raw log lines (replacing a lineup the
    schedule feed posted); no game-log lineup for the rest."""
    wanted = [
        {
            "game_id": game_id,
            "raw_row_id": log.raw_row_id,
            "side": entry.side,
            "batting_order": entry.batting_order,
            "player_id": entry.player_id,
            "player_name": entry.player_name,
            "position": entry.position,
            "source": "retrosheet",
            "mlb_player_id": None,
        }
        for game_id, log in matches.items()
        for entry in retrosheet.parse_lineups(raw_rows[log.raw_row_id])
    ]
    table = LineupSlot.__table__
    keep = {(row["game_id"], row["side"], row["batting_order"]) for row in wanted}
    # A feed's lineup of a game no log line matches stays (it is all there is of it).
    stale = [
        slot_id
        for slot_id, source, *key in session.execute(
            select(
                table.c.id, table.c.source, table.c.game_id, table.c.side, table.c.batting_order
            ).where(table.c.game_id.in_(list(game_ids)))
        )
        if tuple(key) not in keep and (source == "retrosheet" or key[0] in matches)
    ]
    if stale:
        session.execute(delete(table).where(table.c.id.in_(stale)))
    # The official record replaces a lineup the schedule feed posted for the game.
    columns = ("raw_row_id", "player_id", "player_name", "position", "source", "mlb_player_id")
    bulk.upsert(session, table, wanted, ["game_id", "side", "batting_order"], columns)


def _refresh_box_scores(
    session: Session,
    game_ids: Sequence[int],
    matches: dict[int, StagingRetrosheetGame],
    raw_rows: dict[int, CsvRow],
) -> None:
    """Upsert the box scores of matched games from their raw log lines; drop the rest.

    A side a data-quality rule dropped, or a game no longer matched, loses its box score.
    """
    wanted: list[dict[str, Any]] = []
    for game_id, log in matches.items():
        for box in retrosheet.parse_box_scores(raw_rows[log.raw_row_id]).sides:
            wanted.append(
                {
                    "game_id": game_id,
                    "side": box.side,
                    "raw_row_id": log.raw_row_id,
                    "runs": box.runs,
                    "line_score": box.line_score,
                    **box.stats,
                }
            )
    table = TeamBoxScore.__table__
    keep = {(row["game_id"], row["side"]) for row in wanted}
    stale = [
        box_id
        for box_id, game_id, side in session.execute(
            select(table.c.id, table.c.game_id, table.c.side).where(
                table.c.game_id.in_(list(game_ids))
            )
        )
        if (game_id, side) not in keep
    ]
    if stale:
        session.execute(delete(table).where(table.c.id.in_(stale)))
    columns = ("raw_row_id", "runs", "line_score", *retrosheet.BOX_SCORE_STATS)
    bulk.upsert(session, table, wanted, ["game_id", "side"], columns)


def _apply_game_changes(session: Session, changes: list[dict[str, Any]]) -> None:
    if not changes:
        return
    table = Game.__table__
    # Clear the unique Retrosheet id first so that ids moving between games never collide.
    session.execute(
        update(table)
        .where(table.c.id.in_([change["id"] for change in changes]))
        .values(retrosheet_game_id=None)
    )
    bulk.update_by_id(session, table, changes, ENRICHED_COLUMNS)
