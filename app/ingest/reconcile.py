"""Reconcile the sources of a season: match curated games to the Retrosheet log, enrich them,
and settle every disagreement by a named rule.

Runs after a season's odds workbook or its game log is curated. For each matched game the
log's pitcher ids, decisions, length, day/night and park are set and its team box scores
stored. Where the odds archive's final differs from the log's, rule
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
from sqlalchemy.orm import Session

from app.games.models import Game, TeamBoxScore
from app.ingest import bulk, retrosheet, rules
from app.ingest.csv_files import CsvRow
from app.ingest.curated import CuratedGame
from app.ingest.models import (
    IngestRun,
    RawRetrosheetRow,
    SourceConflict,
    StagingRetrosheetGame,
    StagingSbroGame,
)

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
    """Per season: the share of regular-season games matched, and conflicts by rule."""

    match_rates: dict[int, float] = field(default_factory=dict)
    conflicts: dict[int, dict[str, int]] = field(default_factory=dict)


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
    archive_finals = _archive_finals(session, seasons)
    regular = [
        CuratedGame(
            game.id,
            game.game_date,
            game.home_team,
            game.away_team,
            game.game_number,
            *archive_finals.get(game.id, (game.home_score, game.away_score)),
        )
        for game in games
        if game.season in season_ends and game.game_date <= season_ends[game.season]
    ]
    matches = retrosheet.match_games(regular, logs)

    changes: list[dict[str, Any]] = []
    conflicts: list[dict[str, Any]] = []
    for game in games:
        log = matches.get(game.id)
        home_final, away_final = archive_finals.get(game.id, (game.home_score, game.away_score))
        if log is not None and (log.home_score, log.away_score) != (home_final, away_final):
            conflicts.append(_score_conflict(game, log, home_final, away_final))
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
    _refresh_box_scores(session, [game.id for game in games], matches)
    _link_logs(session, logs, matches)

    result = Reconciled()
    for season in seasons:
        result.conflicts[season] = dict(
            Counter(c["rule"] for c in conflicts if c["season"] == season)
        )
        if season not in season_ends:
            continue
        in_season = [view for view in regular if view.game_date.year == season]
        if in_season:
            matched = sum(1 for view in in_season if view.game_id in matches)
            result.match_rates[season] = matched / len(in_season)
    return result


def _archive_finals(session: Session, seasons: Sequence[int]) -> dict[int, tuple[int, int]]:
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


def _score_conflict(game: Any, log: Any, home: int, away: int) -> dict[str, Any]:
    rule = rules.FINAL_SCORE_SOURCES_DISAGREE
    return {
        "game_id": game.id,
        "season": game.season,
        "rule": rule.name,
        "winner": "retrosheet",
        "values": {
            "sbro": {"home": home, "away": away},
            "retrosheet": {"home": log.home_score, "away": log.away_score},
        },
        "message": (
            f"{game.game_key}: odds archive {away}-{home}, Retrosheet {log.retrosheet_game_id}"
            f" {log.away_score}-{log.home_score}; {rule.description}"
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


def _refresh_box_scores(
    session: Session, game_ids: Sequence[int], matches: dict[int, StagingRetrosheetGame]
) -> None:
    """Upsert the box scores of matched games from their raw log lines; drop the rest.

    A side a data-quality rule dropped, or a game no longer matched, loses its box score.
    """
    raw_ids = [log.raw_row_id for log in matches.values()]
    raw_rows = {
        raw_id: CsvRow(row_number, tuple(fields))
        for raw_id, row_number, fields in session.execute(
            select(RawRetrosheetRow.id, RawRetrosheetRow.row_number, RawRetrosheetRow.fields).where(
                RawRetrosheetRow.id.in_(raw_ids)
            )
        )
    }
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
