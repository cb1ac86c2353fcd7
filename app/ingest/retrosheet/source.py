"""The Retrosheet source of the ingest runner: stage a game log and curate its games."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from app.games.models import Odds
from app.ingest import bulk
from app.ingest.csv_files import CsvRow
from app.ingest.models import RawRetrosheetRow, StagingRetrosheetGame
from app.ingest.quarantine import count_firings, record_findings
from app.ingest.retrosheet import reconcile
from app.ingest.retrosheet.parse import (
    RetrosheetGame,
    parse_box_scores,
    parse_game_log,
    read_game_log,
)
from app.ingest.rules import Finding
from app.ingest.runner import FileReport, FileSource, ParsedFile, SourceFile

SOURCE_NAME = "retrosheet"


@dataclass(frozen=True)
class ParsedLog:
    """A whole game log: its typed games, the rows it rejected, the box-score findings."""

    games: list[RetrosheetGame]
    rejections: list[Finding]
    box_findings: list[Finding]


class RetrosheetSource(FileSource):
    """Retrosheet game logs: they enrich and settle the curated games they match, and the
    games no other source has become curated games of their own (results only)."""

    name = SOURCE_NAME

    def files(self, paths: Sequence[Path]) -> list[SourceFile]:
        """One unit per game log."""
        return [SourceFile.read(path) for path in paths]

    def read(self, file: SourceFile) -> list[CsvRow]:
        """The log's lines split into fields."""
        return read_game_log(file.data)

    def parse(self, session: Session, file: SourceFile, raw: list[CsvRow]) -> ParsedFile:
        """Typed games, rejections and box-score findings."""
        games, rejections = parse_game_log(raw)
        rows_by_number = {row.row_number: row for row in raw}
        box_findings = [
            finding
            for game in games
            for finding in parse_box_scores(rows_by_number[game.row_number]).findings
        ]
        seasons = sorted({game.season for game in games})
        return ParsedFile(
            seasons, len(raw), {"seasons": seasons}, ParsedLog(games, rejections, box_findings)
        )

    def stage(self, session: Session, file_id: int, raw: list[CsvRow], parsed: ParsedFile) -> None:
        """Raw lines verbatim, staged games (the latest file's row wins per game id), findings."""
        content: ParsedLog = parsed.content
        payload = [
            {"file_id": file_id, "row_number": row.row_number, "fields": list(row.fields)}
            for row in raw
        ]
        if payload:
            session.execute(RawRetrosheetRow.__table__.insert(), payload)
        raw_ids = dict(
            session.execute(
                select(RawRetrosheetRow.row_number, RawRetrosheetRow.id).where(
                    RawRetrosheetRow.file_id == file_id
                )
            ).all()
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
            for game in content.games
        ]
        bulk.upsert(
            session,
            StagingRetrosheetGame.__table__,
            staging_rows,
            ["retrosheet_game_id"],
            ["file_id", "raw_row_id", *staging_columns],
        )
        findings = [(finding, None) for finding in [*content.rejections, *content.box_findings]]
        record_findings(
            session, SOURCE_NAME, file_id, findings, {row.row_number: row.fields for row in raw}
        )

    def curate(self, session: Session, file_id: int, parsed: ParsedFile) -> FileReport:
        """Drop the seasons' games of earlier logs this one lacks; reconcile the seasons."""
        content: ParsedLog = parsed.content
        session.execute(
            delete(StagingRetrosheetGame).where(
                StagingRetrosheetGame.season.in_(parsed.seasons),
                StagingRetrosheetGame.file_id != file_id,
            )
        )
        reconciled = reconcile.reconcile_seasons(session, parsed.seasons)
        matched = session.scalar(
            select(func.count())
            .select_from(StagingRetrosheetGame)
            .where(
                StagingRetrosheetGame.file_id == file_id, StagingRetrosheetGame.game_id.is_not(None)
            )
        )
        results_only = session.scalar(
            select(func.count())
            .select_from(StagingRetrosheetGame)
            .where(
                StagingRetrosheetGame.file_id == file_id,
                StagingRetrosheetGame.game_id.is_not(None),
                ~select(Odds.id).where(Odds.game_id == StagingRetrosheetGame.game_id).exists(),
            )
        )
        rates = [
            rate for s in parsed.seasons if (rate := reconciled.match_rates.get(s)) is not None
        ]
        conflicts: Counter[str] = Counter()
        not_curated: Counter[str] = Counter()
        for season in parsed.seasons:
            conflicts.update(reconciled.conflicts.get(season, {}))
            not_curated.update(reconciled.not_curated.get(season, {}))
        return FileReport(
            path="",  # the runner names the file
            raw_rows=parsed.raw_rows,
            games_curated=matched or 0,
            quarantined=count_firings(content.rejections, rejected=True),
            retrosheet_match_rate=min(rates) if rates else None,
            corrections=count_firings(content.box_findings, rejected=False),
            conflicts=dict(conflicts),
            results_only=results_only or 0,
            not_curated=dict(not_curated),
        )


SOURCE = RetrosheetSource()
