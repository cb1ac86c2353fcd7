"""Ingest public betting splits (% of bets, % of money) from the CSV format of
docs/betting-splits.md: raw rows verbatim -> validated rows -> ``betting_splits``.

No public historical splits exist; the format is the project's own, so that a user's
export can be loaded. Every rejected row goes to quarantine with its rule.
"""

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.games.models import BettingSplit, Game
from app.ingest import bulk, rules
from app.ingest.headers import find_columns
from app.ingest.models import RawSplitRow
from app.ingest.quarantine import count_firings, record_findings
from app.ingest.rules import Finding
from app.ingest.runner import FileReport, FileSource, ParsedFile, SourceFile
from app.ingest.teams import canonical_from_any_code
from app.markets import MARKETS

SOURCE_SPLITS = "splits"
REQUIRED_COLUMNS = (
    "game_date",
    "home_team",
    "away_team",
    "captured_at",
    "source",
    "market",
    "side",
    "bets_pct",
    "money_pct",
)
OPTIONAL_COLUMNS = ("game_number",)
SIDES_BY_MARKET = {market.short: market.sides for market in MARKETS.values()}


class SplitsFormatError(ValueError):
    """The file is not a betting-splits CSV (a required column is missing)."""


@dataclass(frozen=True)
class SplitRow:
    """A validated split, its game still to be found."""

    row_number: int
    game_date: date
    home_team: str
    away_team: str
    game_number: int | None
    captured_at: datetime
    source: str
    market: str
    side: str
    bets_pct: float | None
    money_pct: float | None


# Spellings of each column, compared by meaning (see app.ingest.headers.normalise_header).
SPLITS_COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "game_date": ("game_date", "date", "game day"),
    "home_team": ("home_team", "home", "home team code"),
    "away_team": ("away_team", "away", "visitor", "visitor_team", "visiting team", "road team"),
    "captured_at": ("captured_at", "captured", "timestamp", "as_of", "snapshot_time"),
    "source": ("source", "book", "sportsbook", "provider"),
    "market": ("market", "bet_type", "market_type"),
    "side": ("side", "selection", "pick"),
    "bets_pct": ("bets_pct", "bets", "bets %", "bet_pct", "tickets_pct", "tickets", "pct_bets"),
    "money_pct": ("money_pct", "money", "money %", "handle_pct", "handle", "pct_money"),
    "game_number": ("game_number", "game_no", "game #", "doubleheader_game"),
}


def read_splits_csv(data: bytes) -> list[tuple[int, dict[str, str]]]:
    """(1-based data row number, {column: text}) for every non-empty row.

    Columns are found by meaning ("Bets %", "bets_pct" and "BETS PCT" are one column) and
    keyed by our name; other columns keep their header text (``column_N`` when blank).
    """
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, [])
    found, missing = find_columns(header, SPLITS_COLUMN_ALIASES)
    missing = [name for name in REQUIRED_COLUMNS if name in missing]
    if missing:
        raise SplitsFormatError(f"betting-splits CSV lacks the columns {missing}")
    names = [name.strip() or f"column_{index + 1}" for index, name in enumerate(header)]
    for ours, index in found.items():
        names[index] = ours
    rows = []
    number = 0
    for record in reader:
        if not record:  # an empty line is no record (as csv.DictReader has it)
            continue
        number += 1
        values = [*record, *[""] * (len(names) - len(record))]
        cleaned = {name: (value or "").strip() for name, value in zip(names, values, strict=False)}
        if any(cleaned.values()):
            rows.append((number, cleaned))
    return rows


def _percent(text: str) -> float | None:
    value = float(text.rstrip("%"))
    if not 0.0 <= value <= 100.0:
        raise ValueError(f"{value:g} outside 0-100")
    return value


def validate_row(row_number: int, row: dict[str, str]) -> SplitRow | Finding:
    """The validated split of one row, or the finding that rejects it."""

    def reject(rule: rules.Rule, message: str) -> Finding:
        return Finding(rule, message, (row_number,))

    blank = [name for name in REQUIRED_COLUMNS if name not in ("bets_pct", "money_pct")]
    blank = [name for name in blank if not row.get(name)]
    if blank:
        return reject(rules.SPLITS_MISSING_COLUMN, f"blank {blank}")
    try:
        captured_at = datetime.fromisoformat(row["captured_at"])
        game_date = date.fromisoformat(row["game_date"])
    except ValueError as error:
        return reject(rules.SPLITS_BAD_TIME, str(error))
    if captured_at.tzinfo is None:
        return reject(rules.SPLITS_BAD_TIME, f"{row['captured_at']!r} has no UTC offset")
    market, side = row["market"].lower(), row["side"].lower()
    if market not in SIDES_BY_MARKET:
        return reject(rules.SPLITS_BAD_MARKET, f"market {row['market']!r}")
    if side not in SIDES_BY_MARKET[market]:
        return reject(rules.SPLITS_BAD_SIDE, f"side {row['side']!r} of {market}")
    try:
        bets = _percent(row["bets_pct"]) if row.get("bets_pct") else None
        money = _percent(row["money_pct"]) if row.get("money_pct") else None
    except ValueError as error:
        return reject(rules.SPLITS_BAD_PERCENT, str(error))
    if bets is None and money is None:
        return reject(rules.SPLITS_BAD_PERCENT, "both bets_pct and money_pct blank")
    home, away = (
        canonical_from_any_code(row["home_team"]),
        canonical_from_any_code(row["away_team"]),
    )
    if home is None or away is None or home == away:
        return reject(rules.SPLITS_UNKNOWN_TEAM, f"{row['away_team']!r}@{row['home_team']!r}")
    number_text = row.get("game_number", "")
    try:
        game_number = int(number_text) if number_text else None
    except ValueError:
        return reject(rules.SPLITS_MISSING_COLUMN, f"game_number {number_text!r}")
    return SplitRow(
        row_number, game_date, home, away, game_number, captured_at, row["source"], market, side,
        bets, money,
    )  # fmt: skip


# --- The betting-splits source: stage and curate -------------------------------------------


@dataclass(frozen=True)
class ParsedSplits:
    """A splits file: its rows, the validated splits with their games, the findings so far."""

    rows: list[tuple[int, dict[str, str]]]
    validated: list[SplitRow]
    game_ids: dict[int, int]  # row number -> curated game id
    findings: list[Finding]


class SplitsSource(FileSource):
    """Betting-splits CSV files (docs/betting-splits.md): rows keyed by game, time and side."""

    name = SOURCE_SPLITS

    def files(self, paths: Sequence[Path]) -> list[SourceFile]:
        """One unit per CSV file."""
        return [SourceFile.read(path) for path in paths]

    def read(self, file: SourceFile) -> list[tuple[int, dict[str, str]]]:
        """Every non-empty row as {column: text}."""
        return read_splits_csv(file.data)

    def parse(
        self, session: Session, file: SourceFile, raw: list[tuple[int, dict[str, str]]]
    ) -> ParsedFile:
        """Validated rows and the curated games they name."""
        validated: list[SplitRow] = []
        findings: list[Finding] = []
        for number, row in raw:
            result = validate_row(number, row)
            if isinstance(result, Finding):
                findings.append(result)
            else:
                validated.append(result)
        seasons = sorted({split.game_date.year for split in validated})
        content = ParsedSplits(raw, validated, _find_games(session, validated), findings)
        return ParsedFile(seasons, len(raw), {"seasons": seasons}, content)

    def stage(
        self,
        session: Session,
        file_id: int,
        raw: list[tuple[int, dict[str, str]]],
        parsed: ParsedFile,
    ) -> None:
        """The rows verbatim (linked to their splits when curated)."""
        payload = [{"file_id": file_id, "row_number": n, "fields": row} for n, row in raw]
        if payload:
            session.execute(RawSplitRow.__table__.insert(), payload)

    def curate(self, session: Session, file_id: int, parsed: ParsedFile) -> FileReport:
        """Upsert the splits of known games; quarantine the rest."""
        content: ParsedSplits = parsed.content
        findings = list(content.findings)
        payload: dict[tuple, dict] = {}
        row_of_key: dict[tuple, int] = {}
        for split in content.validated:
            game_id = content.game_ids.get(split.row_number)
            if game_id is None:
                message = f"{split.away_team}@{split.home_team} {split.game_date}" + (
                    f" game {split.game_number}" if split.game_number is not None else ""
                )
                findings.append(Finding(rules.SPLITS_UNKNOWN_GAME, message, (split.row_number,)))
                continue
            key = (game_id, split.source, split.captured_at, split.market, split.side)
            if key in payload:
                message = f"same as row {row_of_key[key]}"
                findings.append(Finding(rules.SPLITS_DUPLICATE_ROW, message, (split.row_number,)))
                continue
            row_of_key[key] = split.row_number
            payload[key] = {
                "game_id": game_id,
                "source": split.source,
                "captured_at": split.captured_at,
                "market": split.market,
                "side": split.side,
                "bets_pct": split.bets_pct,
                "money_pct": split.money_pct,
            }
        if payload:
            _link_raw_rows(session, file_id, _upsert_splits(session, payload), row_of_key)
        record_findings(
            session,
            SOURCE_SPLITS,
            file_id,
            ((finding, None) for finding in findings),
            {number: [f"{k}={v}" for k, v in row.items()] for number, row in content.rows},
        )
        return FileReport(
            path="",  # the runner names the file
            raw_rows=parsed.raw_rows,
            games_curated=len({key[0] for key in payload}),
            quarantined=count_firings(findings, rejected=True),
            splits=len(payload),
        )


def _upsert_splits(session: Session, payload: dict[tuple, dict]) -> dict[tuple, int]:
    """Upsert the splits; returns their natural key -> split id."""
    statement = insert(BettingSplit)
    statement = statement.on_conflict_do_update(
        index_elements=["game_id", "source", "captured_at", "market", "side"],
        set_={
            "bets_pct": statement.excluded.bets_pct,
            "money_pct": statement.excluded.money_pct,
        },
    ).returning(
        BettingSplit.id,
        BettingSplit.game_id,
        BettingSplit.source,
        BettingSplit.captured_at,
        BettingSplit.market,
        BettingSplit.side,
    )
    return {
        (game_id, source, captured_at, market, side): split_id
        for split_id, game_id, source, captured_at, market, side in session.execute(
            statement.values(list(payload.values()))
        )
    }


def _link_raw_rows(
    session: Session, file_id: int, split_ids: dict[tuple, int], row_of_key: dict[tuple, int]
) -> None:
    raw_ids = dict(
        session.execute(
            select(RawSplitRow.row_number, RawSplitRow.id).where(RawSplitRow.file_id == file_id)
        ).all()
    )
    links = [
        {"id": raw_ids[row_of_key[key]], "split_id": split_id}
        for key, split_id in split_ids.items()
        if key in row_of_key
    ]
    bulk.update_by_id(session, RawSplitRow.__table__, links, ["split_id"])


def _find_games(session: Session, splits: list[SplitRow]) -> dict[int, int]:
    """Row number -> curated game id, on date, teams and (when given) game number."""
    days = sorted({split.game_date for split in splits})
    if not days:
        return {}
    found = session.execute(
        select(Game.id, Game.game_date, Game.home_team, Game.away_team, Game.game_number).where(
            Game.game_date.in_(days)
        )
    ).all()
    by_matchup: dict[tuple, list[tuple[int, int]]] = {}
    for game_id, day, home, away, number in found:
        by_matchup.setdefault((day, home, away), []).append((game_id, number))
    result: dict[int, int] = {}
    for split in splits:
        options = by_matchup.get((split.game_date, split.home_team, split.away_team), [])
        if split.game_number is not None:
            options = [option for option in options if option[1] == split.game_number]
        if len(options) == 1:
            result[split.row_number] = options[0][0]
    return result


SOURCE = SplitsSource()
