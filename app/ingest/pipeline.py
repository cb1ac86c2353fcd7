"""Ingest SBRO workbooks and Retrosheet game logs: raw -> staging -> curated games and odds.

Domain code: takes a SQLAlchemy session inside the caller's transaction, prints nothing and
returns one :class:`FileReport` per file. Writes are bulk statements; curated writes are
upserts on natural keys that leave unchanged rows untouched, so re-ingesting changes nothing.
"""

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from os import PathLike
from pathlib import Path
from typing import Any

from sqlalchemy import Table, bindparam, delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.games.models import ODDS_COLUMNS, Game, Odds, TeamBoxScore
from app.ingest import retrosheet, sbro
from app.ingest.csv_files import CsvRow
from app.ingest.curated import CuratedGame
from app.ingest.models import (
    IngestedFile,
    QuarantinedRow,
    RawRetrosheetRow,
    RawSbroRow,
    StagingRetrosheetGame,
    StagingSbroGame,
)
from app.ingest.rules import Action, Finding

SBRO_BOOK = "sbro"
SOURCE_SBRO = "sbro"
SOURCE_RETROSHEET = "retrosheet"

# Columns of ``games`` that SBRO owns; Retrosheet owns the ones in RETROSHEET_GAME_COLUMNS.
SBRO_GAME_COLUMNS = (
    "season",
    "game_date",
    "game_number",
    "home_team",
    "away_team",
    "home_pitcher",
    "away_pitcher",
    "home_pitcher_hand",
    "away_pitcher_hand",
    "home_score",
    "away_score",
    "neutral_site",
    "postseason",
)
RETROSHEET_GAME_COLUMNS = (
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
)
BOX_SCORE_COLUMNS = ("raw_row_id", "runs", "line_score", *retrosheet.BOX_SCORE_STATS)


@dataclass
class FileReport:
    """What ingesting one file did.

    ``quarantined`` counts rejected rows or games by rule; ``corrections`` counts rule
    firings that nulled or corrected a value of a curated game (for line histories and
    splits, both count source rows). A file whose content was
    ingested before is skipped: ``skipped_unchanged`` is True and every count is zero.
    """

    path: str
    raw_rows: int = 0
    games_curated: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    retrosheet_match_rate: float | None = None
    skipped_unchanged: bool = False
    corrections: dict[str, int] = field(default_factory=dict)
    # Line histories: the share of the file's games joined to curated games, snapshots written.
    line_join_rate: float | None = None
    snapshots: int | None = None
    # Betting splits: rows written to betting_splits.
    splits: int | None = None

    def summary(self) -> str:
        """One line for a terminal: the file, its counts, rows quarantined by rule."""
        name = Path(self.path).name
        if self.skipped_unchanged:
            return f"{name}: unchanged since it was last ingested, skipped"
        parts = [f"{self.raw_rows} raw rows", f"{self.games_curated} games curated"]
        quarantined = sum(self.quarantined.values())
        rules = ", ".join(f"{rule} {count}" for rule, count in sorted(self.quarantined.items()))
        parts.append(f"{quarantined} quarantined" + (f" ({rules})" if rules else ""))
        if self.corrections:
            fixed = ", ".join(f"{rule} {n}" for rule, n in sorted(self.corrections.items()))
            parts.append(f"values nulled or corrected: {fixed}")
        if self.retrosheet_match_rate is not None:
            parts.append(f"Retrosheet match rate {self.retrosheet_match_rate:.2%}")
        if self.snapshots is not None:
            parts.append(f"{self.snapshots} line snapshots")
        if self.line_join_rate is not None:
            parts.append(f"games joined {self.line_join_rate:.2%}")
        if self.splits is not None:
            parts.append(f"{self.splits} splits")
        return f"{name}: " + "; ".join(parts)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _register_file(
    session: Session,
    source: str,
    path: Path,
    sha256: str,
    size_bytes: int,
    rows: int,
    details: dict[str, Any],
) -> int | None:
    """The new file's id, or None when the same content was ingested before."""
    statement = (
        insert(IngestedFile)
        .values(
            source=source,
            path=str(path),
            file_name=path.name,
            sha256=sha256,
            size_bytes=size_bytes,
            rows=rows,
            details=details,
        )
        .on_conflict_do_nothing(index_elements=["source", "sha256"])
        .returning(IngestedFile.id)
    )
    return session.execute(statement).scalar_one_or_none()


def _already_ingested(session: Session, source: str, sha256: str) -> bool:
    found = session.execute(
        select(IngestedFile.id).where(IngestedFile.source == source, IngestedFile.sha256 == sha256)
    ).first()
    return found is not None


def _insert_raw_rows(
    session: Session, table: Table, file_id: int, column: str, rows: Iterable[tuple[int, Any]]
) -> dict[int, int]:
    """Insert raw rows in bulk; returns row number -> raw row id."""
    payload = [{"file_id": file_id, "row_number": number, column: value} for number, value in rows]
    if payload:
        session.execute(table.insert(), payload)
    found = session.execute(
        select(table.c.row_number, table.c.id).where(table.c.file_id == file_id)
    )
    return {number: raw_id for number, raw_id in found}


def _insert_findings(
    session: Session,
    source: str,
    file_id: int,
    findings: Iterable[tuple[Finding, str | None]],
    raw_by_row_number: dict[int, Sequence[str | None]],
) -> None:
    payload = [
        {
            "source": source,
            "file_id": file_id,
            "row_numbers": list(finding.row_numbers),
            "rule": finding.rule.name,
            "action": finding.rule.action.value,
            "message": finding.message,
            "game_key": game_key,
            "raw": [
                {"row_number": number, "cells": list(raw_by_row_number.get(number, ()))}
                for number in finding.row_numbers
            ],
        }
        for finding, game_key in findings
    ]
    if payload:
        session.execute(QuarantinedRow.__table__.insert(), payload)


def _count_rules(findings: Iterable[Finding], rejected: bool) -> dict[str, int]:
    counts = Counter(
        finding.rule.name
        for finding in findings
        if (finding.rule.action is Action.REJECTED) == rejected
    )
    return dict(sorted(counts.items()))


def _upsert(
    session: Session,
    table: Table,
    rows: list[dict[str, Any]],
    conflict_columns: Sequence[str],
    update_columns: Sequence[str],
) -> None:
    """INSERT ... ON CONFLICT DO UPDATE that only touches rows whose values differ."""
    if not rows:
        return
    statement = insert(table)
    changes: dict[str, Any] = {name: statement.excluded[name] for name in update_columns}
    if "updated_at" in table.c:
        changes["updated_at"] = func.now()
    statement = statement.on_conflict_do_update(
        index_elements=list(conflict_columns),
        set_=changes,
        where=or_(
            *(table.c[name].is_distinct_from(statement.excluded[name]) for name in update_columns)
        ),
    )
    session.execute(statement, rows)


def _retrosheet_season_ends(session: Session, seasons: Iterable[int]) -> dict[int, date]:
    """The last regular-season date of each season whose Retrosheet log is staged."""
    found = session.execute(
        select(StagingRetrosheetGame.season, func.max(StagingRetrosheetGame.game_date))
        .where(StagingRetrosheetGame.season.in_(list(seasons)))
        .group_by(StagingRetrosheetGame.season)
    )
    return {season: last_date for season, last_date in found}


IngestNewFile = Callable[[Session, Path, bytes, str], FileReport]


def _ingest_files(
    session: Session, source: str, paths: Iterable[str | PathLike[str]], ingest_file: IngestNewFile
) -> list[FileReport]:
    """One report per file, in order; a file whose content was ingested before is skipped."""
    reports = []
    for path in map(Path, paths):
        data = path.read_bytes()
        sha256 = _sha256(data)
        if _already_ingested(session, source, sha256):
            reports.append(FileReport(path=str(path), skipped_unchanged=True))
        else:
            reports.append(ingest_file(session, path, data, sha256))
    return reports


def ingest_sbro(session: Session, paths: Iterable[str | PathLike[str]]) -> list[FileReport]:
    """Ingest SBRO odds workbooks; returns one report per file, in order."""
    return _ingest_files(session, SOURCE_SBRO, paths, _ingest_sbro_file)


def _ingest_sbro_file(session: Session, path: Path, data: bytes, sha256: str) -> FileReport:
    workbook = sbro.read_workbook(data, path.name)
    season = sbro.season_from_file_name(path.name)
    parsed = sbro.parse_workbook(workbook, season)
    details = {
        "season": season,
        "total_price_layout": {
            "visitor_row_is_over_open": parsed.total_layout.visitor_row_is_over_open,
            "visitor_row_is_over_close": parsed.total_layout.visitor_row_is_over_close,
            "evidence": parsed.total_layout.evidence,
        },
    }
    file_id = _register_file(
        session, SOURCE_SBRO, path, sha256, len(data), len(workbook.rows), details
    )
    if file_id is None:  # ingested by a concurrent transaction meanwhile
        return FileReport(path=str(path), skipped_unchanged=True)
    raw_ids = _insert_raw_rows(
        session,
        RawSbroRow.__table__,
        file_id,
        "cells",
        ((row.row_number, list(row.cells)) for row in workbook.rows),
    )

    season_end = _retrosheet_season_ends(session, [season]).get(season)
    sbro.mark_postseason(parsed.games, season_end or sbro.regular_season_end(parsed.games))
    game_ids = _upsert_sbro_games(session, parsed.games)
    _insert_sbro_staging(session, file_id, parsed.games, raw_ids, game_ids)

    findings = [(finding, None) for finding in parsed.rejections]
    findings += [(finding, game.game_key) for game in parsed.games for finding in game.findings]
    cells_by_row = {row.row_number: row.cells for row in workbook.rows}
    _insert_findings(session, SOURCE_SBRO, file_id, findings, cells_by_row)

    match_rates = refresh_retrosheet_matches(session, [season])
    return FileReport(
        path=str(path),
        raw_rows=len(workbook.rows),
        games_curated=len(parsed.games),
        quarantined=_count_rules(parsed.rejections, rejected=True),
        retrosheet_match_rate=match_rates.get(season),
        corrections=_count_rules((f for g in parsed.games for f in g.findings), rejected=False),
    )


def _upsert_sbro_games(session: Session, games: Sequence[sbro.SbroGame]) -> dict[str, int]:
    """Upsert curated games and their SBRO odds; returns game key -> game id."""
    game_rows = [
        {"game_key": game.game_key, **{name: getattr(game, name) for name in SBRO_GAME_COLUMNS}}
        for game in games
    ]
    _upsert(session, Game.__table__, game_rows, ["game_key"], SBRO_GAME_COLUMNS)
    keys = [game.game_key for game in games]
    found = session.execute(select(Game.game_key, Game.id).where(Game.game_key.in_(keys)))
    game_ids = {game_key: game_id for game_key, game_id in found}
    odds_rows = [
        {
            "game_id": game_ids[game.game_key],
            "book": SBRO_BOOK,
            **{name: getattr(game, name) for name in ODDS_COLUMNS},
        }
        for game in games
    ]
    _upsert(session, Odds.__table__, odds_rows, ["game_id", "book"], ODDS_COLUMNS)
    return game_ids


def _insert_sbro_staging(
    session: Session,
    file_id: int,
    games: Sequence[sbro.SbroGame],
    raw_ids: dict[int, int],
    game_ids: dict[str, int],
) -> None:
    typed_columns = [
        column.name
        for column in StagingSbroGame.__table__.columns
        if column.name not in {"id", "file_id", "visitor_row_id", "home_row_id", "game_id"}
        and column.name not in {"game_key", "away_line_score", "home_line_score"}
    ]
    payload = [
        {
            "file_id": file_id,
            "visitor_row_id": raw_ids[game.visitor_row_number],
            "home_row_id": raw_ids[game.home_row_number],
            "game_id": game_ids[game.game_key],
            "game_key": game.game_key,
            "away_line_score": list(game.away_line_score),
            "home_line_score": list(game.home_line_score),
            **{name: getattr(game, name) for name in typed_columns},
        }
        for game in games
    ]
    if payload:
        session.execute(StagingSbroGame.__table__.insert(), payload)


def ingest_retrosheet(session: Session, paths: Iterable[str | PathLike[str]]) -> list[FileReport]:
    """Ingest Retrosheet game logs (GLYYYY.TXT or .TXT.gz); returns one report per file."""
    return _ingest_files(session, SOURCE_RETROSHEET, paths, _ingest_retrosheet_file)


def _ingest_retrosheet_file(session: Session, path: Path, data: bytes, sha256: str) -> FileReport:
    rows = retrosheet.read_game_log(data)
    games, rejections = retrosheet.parse_game_log(rows)
    seasons = sorted({game.season for game in games})
    file_id = _register_file(
        session, SOURCE_RETROSHEET, path, sha256, len(data), len(rows), {"seasons": seasons}
    )
    if file_id is None:
        return FileReport(path=str(path), skipped_unchanged=True)
    raw_ids = _insert_raw_rows(
        session,
        RawRetrosheetRow.__table__,
        file_id,
        "fields",
        ((row.row_number, list(row.fields)) for row in rows),
    )
    staging_columns = [
        column.name
        for column in StagingRetrosheetGame.__table__.columns
        if column.name not in {"id", "file_id", "raw_row_id", "game_id"}
    ]
    staging_rows = [
        {
            "file_id": file_id,
            "raw_row_id": raw_ids[game.row_number],
            **{name: getattr(game, name) for name in staging_columns},
        }
        for game in games
    ]
    _upsert(
        session,
        StagingRetrosheetGame.__table__,
        staging_rows,
        ["retrosheet_game_id"],
        ["file_id", "raw_row_id", *staging_columns],
    )
    fields_by_row = {row.row_number: row.fields for row in rows}
    rows_by_number = {row.row_number: row for row in rows}
    box_findings = [
        finding
        for game in games
        for finding in retrosheet.parse_box_scores(rows_by_number[game.row_number]).findings
    ]
    findings = [(finding, None) for finding in [*rejections, *box_findings]]
    _insert_findings(session, SOURCE_RETROSHEET, file_id, findings, fields_by_row)

    match_rates = refresh_retrosheet_matches(session, seasons)
    matched = session.execute(
        select(func.count())
        .select_from(StagingRetrosheetGame)
        .where(StagingRetrosheetGame.file_id == file_id, StagingRetrosheetGame.game_id.is_not(None))
    ).scalar_one()
    rates = [rate for season in seasons if (rate := match_rates.get(season)) is not None]
    return FileReport(
        path=str(path),
        raw_rows=len(rows),
        games_curated=matched,
        quarantined=_count_rules(rejections, rejected=True),
        retrosheet_match_rate=min(rates) if rates else None,
        corrections=_count_rules(box_findings, rejected=False),
    )


def refresh_retrosheet_matches(session: Session, seasons: Iterable[int]) -> dict[int, float]:
    """Re-match the curated games of ``seasons`` to staged game logs and enrich them.

    Sets retrosheet_game_id, starting pitcher ids, pitcher decisions, length in outs,
    day/night and park on matched games and upserts their team box scores; clears them on
    games no longer matched, and sets ``postseason`` to "after the log's
    last date". Only rows whose values change are written. Returns, for each season with
    a staged log, the share of its regular-season curated games that matched.
    """
    season_ends = _retrosheet_season_ends(session, seasons)
    if not season_ends:
        return {}
    logs = (
        session.execute(
            select(StagingRetrosheetGame).where(StagingRetrosheetGame.season.in_(list(season_ends)))
        )
        .scalars()
        .all()
    )
    games = session.execute(select(Game.__table__).where(Game.season.in_(list(season_ends)))).all()
    regular = [
        CuratedGame(
            game.id,
            game.game_date,
            game.home_team,
            game.away_team,
            game.game_number,
            game.home_score,
            game.away_score,
        )
        for game in games
        if game.game_date <= season_ends[game.season]
    ]
    matches = retrosheet.match_games(regular, logs)

    game_changes: list[dict[str, Any]] = []
    for game in games:
        log = matches.get(game.id)
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
            "postseason": game.game_date > season_ends[game.season],
        }
        if any(getattr(game, name) != value for name, value in wanted.items()):
            game_changes.append({"b_id": game.id, **{f"v_{k}": v for k, v in wanted.items()}})
    _apply_game_changes(session, game_changes)
    _refresh_box_scores(session, [game.id for game in games], matches)

    game_id_by_log = {log.retrosheet_game_id: game_id for game_id, log in matches.items()}
    log_changes = [
        {"b_id": log.id, "v_game_id": game_id_by_log.get(log.retrosheet_game_id)}
        for log in logs
        if log.game_id != game_id_by_log.get(log.retrosheet_game_id)
    ]
    if log_changes:
        table = StagingRetrosheetGame.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(game_id=bindparam("v_game_id")),
            log_changes,
        )
        session.expire_all()

    rates: dict[int, float] = {}
    for season in season_ends:
        in_season = [view for view in regular if view.game_date.year == season]
        if in_season:
            matched = sum(1 for view in in_season if view.game_id in matches)
            rates[season] = matched / len(in_season)
    return rates


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
    _upsert(session, table, wanted, ["game_id", "side"], BOX_SCORE_COLUMNS)


def _apply_game_changes(session: Session, changes: list[dict[str, Any]]) -> None:
    if not changes:
        return
    table = Game.__table__
    by_id = table.c.id == bindparam("b_id")
    # Clear the unique Retrosheet id first so that ids moving between games never collide.
    session.execute(update(table).where(by_id).values(retrosheet_game_id=None), changes)
    session.execute(
        update(table)
        .where(by_id)
        .values(
            {
                **{name: bindparam(f"v_{name}") for name in RETROSHEET_GAME_COLUMNS},
                "updated_at": func.now(),
            }
        ),
        changes,
    )
