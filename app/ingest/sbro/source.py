"""The SBRO source of the ingest runner: stage a workbook and curate its games and odds.

Raw rows -> staged games -> curated games and the book's ``odds`` rows; games the season's
current file no longer lists are removed or retired (app/ingest/retire.py)."""

from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from app.games.models import ODDS_COLUMNS, Game, Odds
from app.ingest import bulk, rules
from app.ingest.curated import CuratedGame, season_games
from app.ingest.models import IngestedFile, RawSbroRow, StagingSbroGame
from app.ingest.quarantine import count_firings, record_findings
from app.ingest.retire import Removal, reinstate_games, remove_games
from app.ingest.retrosheet import parse as retrosheet
from app.ingest.retrosheet import reconcile
from app.ingest.rules import Finding
from app.ingest.runner import FileReport, FileSource, ParsedFile, SourceFile
from app.ingest.sbro.layout import Workbook, read_workbook, season_from_file_name
from app.ingest.sbro.parse import (
    SbroGame,
    SbroParse,
    mark_postseason,
    parse_workbook,
    regular_season_end,
)

SOURCE_NAME = "sbro"
BOOK = "sbro"
# Columns of ``games`` that SBRO owns; app/ingest/retrosheet/reconcile.py owns the Retrosheet ones.
CURATED_GAME_COLUMNS = (
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


class SbroSource(FileSource):
    """SBRO odds workbooks: one file a season; its games and opening/closing odds are curated."""

    name = SOURCE_NAME

    def files(self, paths: Sequence[Path]) -> list[SourceFile]:
        """One unit per workbook."""
        return [SourceFile.read(path) for path in paths]

    def read(self, file: SourceFile) -> Workbook:
        """The workbook's rows, cells verbatim."""
        return read_workbook(file.data, file.path.name)

    def parse(self, session: Session, file: SourceFile, raw: Workbook) -> ParsedFile:
        """Typed games; postseason from the season's Retrosheet log when one is staged."""
        season = season_from_file_name(file.path.name)
        parsed = parse_workbook(raw, season)
        season_end = reconcile.retrosheet_season_ends(session, [season]).get(season)
        mark_postseason(parsed.games, season_end or regular_season_end(parsed.games))
        parsed.games, taken = attach_to_curated_games(session, season, parsed.games)
        parsed.rejections.extend(taken)
        details = {
            "season": season,
            "seasons": [season],
            "total_price_layout": {
                "visitor_row_is_over_open": parsed.total_layout.visitor_row_is_over_open,
                "visitor_row_is_over_close": parsed.total_layout.visitor_row_is_over_close,
                "evidence": parsed.total_layout.evidence,
            },
            "columns": parsed.columns,
        }
        return ParsedFile([season], len(raw.rows), details, parsed)

    def stage(self, session: Session, file_id: int, raw: Workbook, parsed: ParsedFile) -> None:
        """Raw rows verbatim, the typed games (curated first, for their ids) and findings."""
        content: SbroParse = parsed.content
        raw_ids = _insert_raw_rows(session, file_id, raw)
        game_ids = _curate_games(session, content.games)
        _insert_staging(session, file_id, content.games, raw_ids, game_ids)
        findings = [(finding, None) for finding in content.rejections]
        findings += [
            (finding, game.game_key) for game in content.games for finding in game.findings
        ]
        record_findings(
            session, SOURCE_NAME, file_id, findings, {row.row_number: row.cells for row in raw.rows}
        )

    def curate(self, session: Session, file_id: int, parsed: ParsedFile) -> FileReport:
        """Drop the season's games the file no longer has; match the season to Retrosheet."""
        content: SbroParse = parsed.content
        (season,) = parsed.seasons
        removed = _remove_games_not_in(
            session, season, file_id, {game.game_key for game in content.games}
        )
        reconciled = reconcile.reconcile_seasons(session, [season])
        return FileReport(
            path="",  # the runner names the file
            raw_rows=parsed.raw_rows,
            games_curated=len(content.games),
            quarantined=count_firings(content.rejections, rejected=True),
            retrosheet_match_rate=reconciled.match_rates.get(season),
            corrections=count_firings(
                (f for g in content.games for f in g.findings), rejected=False
            ),
            conflicts=reconciled.conflicts.get(season, {}),
            games_retired=len(removed.retired),
            bets_voided=removed.bets_voided,
        )


def attach_to_curated_games(
    session: Session, season: int, games: list[SbroGame]
) -> tuple[list[SbroGame], list[Finding]]:
    """Make each workbook game the curated game it is, so that its prices attach to it.

    A season may hold games before its workbook does: from its game log or the schedule
    feed (results only), or from an earlier version of the workbook. Workbook games are
    matched to the season's curated games on date, teams, game number and score like
    game-log lines (``retrosheet.match_games``; a priced game's score is its workbook's
    final), and a matched game takes the curated game's number and date (a date a day off
    fires ``sources_date_disagree``), hence its key: a
    doubleheader the two sources number differently is one game, never two, and stays the
    same game when the workbook is ingested again. A game left unmatched whose key a
    matched game took is rejected (``sources_game_key_taken``).
    """
    if not games:
        return games, []
    archive = reconcile.archive_finals(session, [season])
    existing = [
        replace(game, home_score=final[0], away_score=final[1])
        if (final := archive.get(game.game_id))
        else game
        for game in season_games(session, season)
    ]
    views = [
        CuratedGame(
            index,
            game.game_date,
            game.home_team,
            game.away_team,
            game.game_number,
            game.home_score,
            game.away_score,
        )
        for index, game in enumerate(games)
    ]
    matches = retrosheet.match_games(views, existing)
    for index, curated in matches.items():
        game = games[index]
        if game.game_date != curated.game_date:
            game.findings.append(
                Finding(
                    rules.SOURCES_DATE_DISAGREE,
                    f"{game.game_key}: the curated game is dated {curated.game_date}",
                    game.row_numbers,
                )
            )
        game.game_date, game.game_number = curated.game_date, curated.game_number
    counts = Counter(game.game_key for game in games)
    kept, taken = [], []
    for index, game in enumerate(games):
        if counts[game.game_key] > 1 and index not in matches:
            taken.append(
                Finding(
                    rules.GAME_KEY_TAKEN,
                    f"{game.game_key}: another game of the file is that curated game",
                    game.row_numbers,
                )
            )
        else:
            kept.append(game)
    return kept, taken


def _insert_raw_rows(session: Session, file_id: int, workbook: Workbook) -> dict[int, int]:
    """Insert the rows verbatim; returns row number -> raw row id."""
    payload = [
        {"file_id": file_id, "row_number": row.row_number, "cells": list(row.cells)}
        for row in workbook.rows
    ]
    if payload:
        session.execute(RawSbroRow.__table__.insert(), payload)
    found = session.execute(
        select(RawSbroRow.row_number, RawSbroRow.id).where(RawSbroRow.file_id == file_id)
    )
    return {number: raw_id for number, raw_id in found}


def _curate_games(session: Session, games: Sequence[SbroGame]) -> dict[str, int]:
    """Upsert curated games and their SBRO odds; returns game key -> game id."""
    game_rows = [
        {"game_key": game.game_key, **{name: getattr(game, name) for name in CURATED_GAME_COLUMNS}}
        for game in games
    ]
    bulk.upsert(session, Game.__table__, game_rows, ["game_key"], CURATED_GAME_COLUMNS)
    keys = [game.game_key for game in games]
    found = session.execute(select(Game.game_key, Game.id).where(Game.game_key.in_(keys)))
    game_ids = {game_key: game_id for game_key, game_id in found}
    reinstate_games(session, list(game_ids.values()))
    odds_rows = [
        {
            "game_id": game_ids[game.game_key],
            "book": BOOK,
            **{name: getattr(game, name) for name in ODDS_COLUMNS},
        }
        for game in games
    ]
    bulk.upsert(session, Odds.__table__, odds_rows, ["game_id", "book"], ODDS_COLUMNS)
    return game_ids


def _insert_staging(
    session: Session,
    file_id: int,
    games: Sequence[SbroGame],
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


def _remove_games_not_in(
    session: Session, season: int, file_id: int, game_keys: set[str]
) -> Removal:
    """Remove what the current file no longer has of the season's games curated from SBRO.

    A game a Retrosheet log still lists stays, a results-only game: only this archive's prices
    of it go. Any other game is removed; one a bet or a prediction refers to is retired, not
    deleted (app/ingest/retire.py)."""
    stale = [
        (game_id, retrosheet_game_id)
        for game_id, game_key, retrosheet_game_id in session.execute(
            select(Game.id, Game.game_key, Game.retrosheet_game_id)
            .join(Odds, (Odds.game_id == Game.id) & (Odds.book == BOOK))
            .where(Game.season == season, Game.retired_at.is_(None))
        )
        if game_key not in game_keys
    ]
    logged = [game_id for game_id, retrosheet_game_id in stale if retrosheet_game_id]
    if logged:
        session.execute(delete(Odds).where(Odds.game_id.in_(logged), Odds.book == BOOK))
    file_name = session.scalar(select(IngestedFile.file_name).where(IngestedFile.id == file_id))
    return remove_games(
        session,
        [game_id for game_id, retrosheet_game_id in stale if not retrosheet_game_id],
        f"not in {file_name}, the current SBRO file of {season}",
    )


SOURCE = SbroSource()
