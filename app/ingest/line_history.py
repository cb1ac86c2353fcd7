"""Ingest line histories: raw rows -> staged games joined to curated games -> odds_snapshots.

The unit of ingest is a pair of files (``NAME_games.csv`` + ``NAME_lines.csv[.gz]``), registered
once under the hash of both contents: re-ingesting the same pair changes nothing, a corrected
pair upserts the snapshots it changes. Every line row is kept verbatim in ``raw_line_rows`` and
points to the snapshot it became; every line that did not become one is in quarantine.
"""

import json
from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from os import PathLike
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, func, select, text, update
from sqlalchemy.orm import Session

from app.games.models import SNAPSHOT_PRICE_COLUMNS, Game
from app.ingest import lines as parse
from app.ingest import rules
from app.ingest.models import RawLineRow, StagingLineGame
from app.ingest.pipeline import (
    FileReport,
    _already_ingested,
    _insert_findings,
    _register_file,
    _sha256,
)
from app.ingest.rules import Action, Finding

SOURCE_LINES = "lines"
QUARANTINE_GAMES = "line_games"
BOOK = "pinnacle"


class LinesOrderError(ValueError):
    """Line histories join to curated games: the season's odds workbook must come first."""


def ingest_lines(session: Session, paths: Iterable[str | PathLike[str]]) -> list[FileReport]:
    """Ingest line-history pairs given as files or directories; one report per pair."""
    pairs = parse.pair_paths(Path(path) for path in paths)
    if not pairs:
        raise parse.LinesFormatError("no NAME_games.csv / NAME_lines.csv pair found")
    return [_ingest_pair(session, games_path, lines_path) for games_path, lines_path in pairs]


def _ingest_pair(session: Session, games_path: Path, lines_path: Path) -> FileReport:
    games_bytes, lines_bytes = games_path.read_bytes(), lines_path.read_bytes()
    games_sha, lines_sha = _sha256(games_bytes), _sha256(lines_bytes)
    pair_sha = _sha256(f"{games_sha}{lines_sha}".encode())
    if _already_ingested(session, SOURCE_LINES, pair_sha):
        return FileReport(path=str(lines_path), skipped_unchanged=True)

    game_table, line_table = parse.read_csv(games_bytes), parse.read_csv(lines_bytes)
    games, game_rejections = parse.parse_games(game_table)
    lines, line_rejections = parse.parse_lines(line_table)
    season = parse.season_of(games)
    offset = parse.measure_event_time_offset(games, lines)
    curated = _curated_games(session, season)
    if not curated:
        raise LinesOrderError(
            f"{lines_path.name}: no curated games of {season}; ingest that season's odds "
            "workbook (bullpen ingest sbro) before its line history"
        )
    joined, join_findings = parse.match_games(games, offset.shift, curated)

    details = {
        "season": season,
        "seasons": [season],
        "book": BOOK,
        "games_file": games_path.name,
        "games_sha256": games_sha,
        "games_rows": len(game_table.rows),
        "lines_file": lines_path.name,
        "lines_sha256": lines_sha,
        "lines_rows": len(line_table.rows),
        "event_time_offset": {
            "shift_hours": offset.shift.total_seconds() / 3600,
            "median_hours_event_after_last_line": offset.median_hours_event_after_last_line,
            "games_measured": offset.games_measured,
            "line_timestamps": "true UTC, not shifted (the last line comes at first pitch)",
        },
    }
    file_id = _register_file(
        session,
        SOURCE_LINES,
        lines_path,
        pair_sha,
        len(games_bytes) + len(lines_bytes),
        len(game_table.rows) + len(line_table.rows),
        details,
    )
    if file_id is None:
        return FileReport(path=str(lines_path), skipped_unchanged=True)

    game_raw_ids = _insert_game_rows(session, file_id, game_table)
    _stage_games(session, file_id, games, offset.shift, season, joined, game_raw_ids, lines)
    _set_start_times(session, games, offset.shift, joined)

    accepted, line_findings = _screen_lines(games, offset.shift, joined, lines, game_table)
    snapshot_count = _write_snapshots_and_raw_lines(session, file_id, line_table, accepted, joined)

    game_findings: list[Finding] = [*game_rejections, *join_findings]
    if offset.shift:
        game_findings.append(
            Finding(
                rules.LINES_EVENT_TIME_SHIFTED,
                f"event times moved {offset.shift} earlier (median gap from last line to event "
                f"{offset.median_hours_event_after_last_line} h over {offset.games_measured} "
                "games)",
                tuple(game.row_number for game in games),
            )
        )
    all_line_findings = [*line_rejections, *line_findings]
    _insert_findings(
        session,
        QUARANTINE_GAMES,
        file_id,
        ((finding, None) for finding in game_findings),
        {row.row_number: row.fields for row in game_table.rows},
    )
    _insert_findings(
        session,
        SOURCE_LINES,
        file_id,
        ((finding, None) for finding in all_line_findings),
        {row.row_number: row.fields for row in line_table.rows},
    )
    all_findings = [*game_findings, *all_line_findings]
    return FileReport(
        path=str(lines_path),
        raw_rows=len(game_table.rows) + len(line_table.rows),
        games_curated=len(joined),
        quarantined=_count_rows(all_findings, rejected=True),
        corrections=_count_rows(all_findings, rejected=False),
        line_join_rate=len(joined) / len(game_table.rows) if game_table.rows else None,
        snapshots=snapshot_count,
    )


def _count_rows(findings: Iterable[Finding], rejected: bool) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for finding in findings:
        if (finding.rule.action is Action.REJECTED) == rejected:
            counts[finding.rule.name] += len(finding.row_numbers)
    return dict(sorted(counts.items()))


def _curated_games(session: Session, season: int | None) -> list[parse.CuratedGame]:
    if season is None:
        return []
    found = session.execute(
        select(
            Game.id,
            Game.game_date,
            Game.home_team,
            Game.away_team,
            Game.game_number,
            Game.home_score,
            Game.away_score,
        ).where(Game.season == season)
    )
    return [parse.CuratedGame(*row) for row in found]


def _insert_game_rows(session: Session, file_id: int, table: parse.CsvTable) -> dict[int, int]:
    payload = [
        {"file_id": file_id, "part": "games", "row_number": row.row_number, "fields": row.fields}
        for row in table.rows
    ]
    if payload:
        session.execute(RawLineRow.__table__.insert(), payload)
    found = session.execute(
        select(RawLineRow.row_number, RawLineRow.id).where(
            RawLineRow.file_id == file_id, RawLineRow.part == "games"
        )
    )
    return {number: raw_id for number, raw_id in found}


def _stage_games(
    session: Session,
    file_id: int,
    games: list[parse.LineGame],
    shift: Any,
    season: int | None,
    joined: dict[int, int],
    raw_ids: dict[int, int],
    lines: list[parse.Line],
) -> None:
    line_counts = Counter(line.game_idx for line in lines)
    payload = []
    for game in games:
        start = game.event_time - shift
        payload.append(
            {
                "file_id": file_id,
                "raw_row_id": raw_ids[game.row_number],
                "game_id": joined.get(game.game_idx),
                "book": BOOK,
                "season": season,
                "game_idx": game.game_idx,
                "source_game_id": game.source_game_id,
                "event_time": game.event_time,
                "start_time": start,
                "game_date": parse.local_date(start),
                "doubleheader_game": game.doubleheader_game,
                "away_team": game.away_team,
                "home_team": game.home_team,
                "away_pitcher": game.away_pitcher,
                "home_pitcher": game.home_pitcher,
                "away_score": game.away_score,
                "home_score": game.home_score,
                "lines": line_counts.get(game.game_idx, 0),
            }
        )
    if payload:
        session.execute(StagingLineGame.__table__.insert(), payload)


def _set_start_times(
    session: Session, games: list[parse.LineGame], shift: Any, joined: dict[int, int]
) -> None:
    """Set the true first pitch on joined games whose start time differs."""
    wanted = {joined[g.game_idx]: g.event_time - shift for g in games if g.game_idx in joined}
    if not wanted:
        return
    current = dict(
        session.execute(select(Game.id, Game.start_time).where(Game.id.in_(list(wanted)))).all()
    )
    changes = [
        {"b_id": game_id, "v_start": start}
        for game_id, start in wanted.items()
        if current.get(game_id) != start
    ]
    if changes:
        table = Game.__table__
        session.execute(
            update(table)
            .where(table.c.id == bindparam("b_id"))
            .values(start_time=bindparam("v_start"), updated_at=func.now()),
            changes,
        )


def _screen_lines(
    games: list[parse.LineGame],
    shift: Any,
    joined: dict[int, int],
    lines: list[parse.Line],
    game_table: parse.CsvTable,
) -> tuple[list[parse.Line], list[Finding]]:
    """The lines that become snapshots, and the rule firings of all lines grouped by game."""
    start_by_idx = {g.game_idx: g.event_time - shift for g in games}
    known_idx = _game_idx_values(game_table)
    accepted: list[parse.Line] = []
    firings: list[tuple[int, rules.Rule, str, int]] = []
    seen: set[tuple[int, datetime]] = set()
    for line in lines:
        idx = line.game_idx

        def reject(rule: rules.Rule, message: str, line: parse.Line = line) -> None:
            firings.append((line.game_idx, rule, message, line.row_number))

        if idx not in known_idx:
            reject(rules.LINES_UNKNOWN_GAME_IDX, f"game_idx {idx}")
        elif idx not in joined:
            reject(rules.LINES_OF_REJECTED_GAME, f"game_idx {idx} was rejected or not joined")
        elif line.captured_at >= start_by_idx[idx]:
            late = line.captured_at - start_by_idx[idx]
            reject(rules.LINES_AFTER_FIRST_PITCH, f"entered {late} after first pitch")
        elif (idx, line.captured_at) in seen:
            reject(rules.LINES_DUPLICATE_TIMESTAMP, f"second line at {line.captured_at}")
        else:
            seen.add((idx, line.captured_at))
            accepted.append(line)
            for rule, message in line.findings:
                firings.append((idx, rule, message, line.row_number))
    grouped = [finding for _, finding in parse.group_findings(firings)]
    return accepted, grouped


def _game_idx_values(table: parse.CsvTable) -> set[int]:
    index = parse.column_indexes(table.header, parse.GAME_COLUMNS)["game_idx"]
    values: set[int] = set()
    for row in table.rows:
        try:
            values.add(int(float(row.fields[index])))
        except (ValueError, IndexError):
            continue
    return values


def _write_snapshots_and_raw_lines(
    session: Session,
    file_id: int,
    line_table: parse.CsvTable,
    accepted: list[parse.Line],
    joined: dict[int, int],
) -> int:
    """Upsert the accepted lines as snapshots and keep every line row verbatim, linked to its
    snapshot. COPY into a temporary table, then two set-based statements: 240k lines in seconds.
    """
    by_row = {line.row_number: line for line in accepted}
    connection = session.connection()
    connection.execute(
        text(
            "CREATE TEMPORARY TABLE tmp_lines (row_number integer, fields jsonb, game_id integer,"
            " captured_at timestamptz, home_ml integer, away_ml integer, total double precision,"
            " over_price integer, under_price integer, home_rl double precision,"
            " home_rl_price integer, away_rl_price integer) ON COMMIT DROP"
        )
    )
    cursor = connection.connection.driver_connection.cursor()
    columns = ", ".join(["row_number", "fields", "game_id", "captured_at", *SNAPSHOT_PRICE_COLUMNS])
    with cursor.copy(f"COPY tmp_lines ({columns}) FROM STDIN") as copy:
        for row in line_table.rows:
            line = by_row.get(row.row_number)
            if line is None:
                copy.write_row((row.row_number, json.dumps(row.fields)) + (None,) * 10)
            else:
                prices = tuple(getattr(line, name) for name in SNAPSHOT_PRICE_COLUMNS)
                game_id = joined[line.game_idx]
                copy.write_row(
                    (row.row_number, json.dumps(row.fields), game_id, line.captured_at, *prices)
                )
    changed = ", ".join(f"{name} = excluded.{name}" for name in SNAPSHOT_PRICE_COLUMNS)
    differs = " OR ".join(
        f"odds_snapshots.{name} IS DISTINCT FROM excluded.{name}" for name in SNAPSHOT_PRICE_COLUMNS
    )
    prices = ", ".join(SNAPSHOT_PRICE_COLUMNS)
    connection.execute(
        text(
            f"INSERT INTO odds_snapshots (game_id, book, captured_at, {prices})"
            f" SELECT game_id, :book, captured_at, {prices} FROM tmp_lines"
            " WHERE game_id IS NOT NULL"
            f" ON CONFLICT (game_id, book, captured_at) DO UPDATE SET {changed} WHERE {differs}"
        ),
        {"book": BOOK},
    )
    connection.execute(
        text(
            "INSERT INTO raw_line_rows (file_id, part, row_number, fields, snapshot_id)"
            " SELECT :file_id, 'lines', t.row_number, t.fields, s.id FROM tmp_lines t"
            " LEFT JOIN odds_snapshots s ON s.game_id = t.game_id AND s.book = :book"
            " AND s.captured_at = t.captured_at"
        ),
        {"file_id": file_id, "book": BOOK},
    )
    connection.execute(text("DROP TABLE tmp_lines"))
    return len(accepted)
