"""The one ingest runner: every source is read -> parse -> stage -> curate, the same way.

A source (``app/ingest/sbro/``, ``retrosheet/``, ``lines.py``, ``splits.py``, and the live
feeds' responses, ``app/feeds/schedule.py`` and ``odds.py``) provides the four steps; the
runner registers the unit (a file, or a fetched response), keeps the file history and finds
which game results the ingest changed. Domain code: it takes a session inside the caller's
transaction, prints nothing and returns one :class:`FileReport` per unit.

The file history: the latest file ingested for a (source, season) is the one that counts.
Ingesting the bytes of the current file again is a no-op; ingesting an earlier version again
(or any file with ``force``) stages it anew and makes it current, so a correction can be undone.
A source without a history (a feed: every response counts once) skips any bytes seen before.

A unit a source refuses as a whole (:class:`RefusedUnit`: a response that is not JSON of the
documented shape) is registered with one quarantine row holding its raw form under the rule
named; a file source's format error is raised instead, and nothing is written.
"""

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from os import PathLike
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import delete, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.db.base import Base
from app.games.models import Game
from app.ingest.models import IngestedFile, IngestRun
from app.ingest.quarantine import record_findings
from app.ingest.rules import Finding, Rule

# A finding about a unit as a whole (not one of its rows) names row 0.
WHOLE_UNIT = 0
# A unit of this many raw rows or more refreshes the planner's statistics when it is curated.
ANALYZE_AFTER_ROWS = 1000


@dataclass(frozen=True)
class SourceFile:
    """One unit of ingest: the path a report names and the bytes of each of its parts.

    A fetched response is a unit too: ``path`` is its short file name, ``ref`` where it came
    from (the URL, secrets redacted, or the saved file), with when and the response headers.
    """

    path: Path
    parts: tuple[tuple[Path, bytes], ...]
    ref: str | None = None
    fetched_at: datetime | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path, *more: Path) -> "SourceFile":
        """The unit made of ``path`` (and further parts, e.g. a line history's games file)."""
        return cls(path, tuple((part, part.read_bytes()) for part in (*more, path)))

    @classmethod
    def response(
        cls,
        ref: str,
        name: str,
        body: bytes,
        fetched_at: datetime,
        headers: Mapping[str, str] | None = None,
    ) -> "SourceFile":
        """A fetched response (or one saved to a file) named ``name``, from ``ref``."""
        path = Path(name)
        return cls(path, ((path, body),), ref, fetched_at, dict(headers or {}))

    @property
    def label(self) -> str:
        """What a report and the file registry name the unit by: its ref, else its path."""
        return self.ref or str(self.path)

    @property
    def data(self) -> bytes:
        """The bytes of the named file."""
        return dict(self.parts)[self.path]

    @property
    def sha256(self) -> str:
        """The content hash: of the bytes, or of the parts' hashes when there are several."""
        hashes = [hashlib.sha256(data).hexdigest() for _, data in self.parts]
        if len(hashes) == 1:
            return hashes[0]
        return hashlib.sha256("".join(hashes).encode()).hexdigest()

    @property
    def size_bytes(self) -> int:
        return sum(len(data) for _, data in self.parts)


@dataclass
class ParsedFile:
    """What a source's parse found, before anything is written."""

    seasons: list[int]
    raw_rows: int
    details: dict[str, Any]
    content: Any  # the source's own typed rows, for its stage and curate steps


@dataclass(frozen=True)
class ResultsChanged:
    """Final results of a season that an ingest changed: from which date, how many games."""

    season: int
    from_date: date
    games: int


@dataclass
class FileReport:
    """What ingesting one file did.

    ``quarantined`` counts rejected rows or games by rule; ``corrections`` counts rule
    firings that nulled or corrected a value (for line histories and splits, both count
    source rows). The current file of its seasons ingested again is skipped:
    ``skipped_unchanged`` is True and every count is zero. ``results_changed`` lists the
    seasons whose existing final results the file changed (features depending on them are
    stale until refreshed).
    """

    path: str
    file_id: int | None = None
    # Why the unit was refused as a whole (nothing curated), by its source's rule.
    refused: str | None = None
    raw_rows: int = 0
    games_curated: int = 0
    quarantined: dict[str, int] = field(default_factory=dict)
    retrosheet_match_rate: float | None = None
    skipped_unchanged: bool = False
    reapplied: bool = False
    corrections: dict[str, int] = field(default_factory=dict)
    conflicts: dict[str, int] = field(default_factory=dict)
    # Line histories: the share of the file's games joined to curated games, snapshots written.
    line_join_rate: float | None = None
    snapshots: int | None = None
    # Betting splits: rows written to betting_splits.
    splits: int | None = None
    # Games the file no longer lists that a bet or prediction refers to: kept, marked retired.
    games_retired: int = 0
    bets_voided: int = 0
    results_changed: list[ResultsChanged] = field(default_factory=list)
    # Of the games curated, those with no prices of any source (results only).
    results_only: int | None = None
    # Rows kept raw but curated into no game, by the rule that says why (not a rejection).
    not_curated: dict[str, int] = field(default_factory=dict)
    # Seasons that had no curated game before this file (the next season's carried ratings
    # read them: its stored features are stale).
    seasons_added: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The report as JSON-ready values (a job's result)."""
        values = asdict(self)
        values["results_changed"] = [
            {**change, "from_date": change["from_date"].isoformat()}
            for change in values["results_changed"]
        ]
        return values

    def summary(self) -> str:
        """One line for a terminal: the file, its counts, rows quarantined by rule."""
        name = Path(self.path).name
        if self.skipped_unchanged:
            return f"{name}: already the current file of its seasons, skipped (--force re-runs it)"
        curated = f"{self.games_curated} games curated"
        if self.results_only:
            curated += f" ({self.results_only} results only, no prices yet)"
        parts = [f"{self.raw_rows} raw rows", curated]
        if self.reapplied:
            parts.insert(0, "an earlier version made current again")
        parts += self.rule_counts("values nulled or corrected")
        if self.conflicts:
            named = ", ".join(f"{rule} {n}" for rule, n in sorted(self.conflicts.items()))
            parts.append(f"sources disagree: {named}")
        if self.retrosheet_match_rate is not None:
            parts.append(f"Retrosheet match rate {self.retrosheet_match_rate:.2%}")
        if self.snapshots is not None:
            parts.append(f"{self.snapshots} line snapshots")
        if self.line_join_rate is not None:
            parts.append(f"games joined {self.line_join_rate:.2%}")
        if self.splits is not None:
            parts.append(f"{self.splits} splits")
        if self.games_retired:
            parts.append(
                f"{self.games_retired} games no longer listed retired"
                f" ({self.bets_voided} open bets voided)"
            )
        for change in self.results_changed:
            parts.append(
                f"results of {change.games} games of {change.season} changed"
                f" (from {change.from_date})"
            )
        if self.not_curated:
            kept = ", ".join(f"{rule} {n} rows" for rule, n in sorted(self.not_curated.items()))
            parts.append(f"kept raw, not curated: {kept}")
        if self.raw_rows and not self.games_curated:
            parts.append(f"no games curated: {self._why_none_curated()}")
        return f"{name}: " + "; ".join(parts)

    def rule_counts(self, corrected: str) -> list[str]:
        """The summary's quarantined rows by rule, and the values rules nulled or corrected."""
        rejected = sum(self.quarantined.values())
        rules = ", ".join(f"{rule} {n}" for rule, n in sorted(self.quarantined.items()))
        parts = [f"{rejected} quarantined" + (f" ({rules})" if rules else "")]
        if self.corrections:
            fixed = ", ".join(f"{rule} {n}" for rule, n in sorted(self.corrections.items()))
            parts.append(f"{corrected}: {fixed}")
        return parts

    def _why_none_curated(self) -> str:
        """Which rules kept every row of the file out of the curated games, and how many."""
        why = {**self.quarantined, **self.not_curated}
        if not why:
            return "no rule fired: none of its rows describes a game"
        return ", ".join(f"{rule} {n}" for rule, n in sorted(why.items(), key=lambda i: -i[1]))


class RefusedUnit(ValueError):
    """A unit its source refuses as a whole but keeps: registered, with one quarantine row
    under ``rule`` holding ``raw`` (the start of its bytes); the message says why."""

    def __init__(self, rule: Rule, reason: str, raw: object) -> None:
        super().__init__(reason)
        self.rule = rule
        self.raw = raw


class IngestSource(Protocol):
    """A data source: how its units are found and read, parsed, staged and curated."""

    name: str
    # Whether the latest file of a season is the one that counts (re-ingesting an earlier
    # one makes it current again); without, every unit counts once and bytes seen are skipped.
    keeps_history: bool
    # How a quarantine row holds a row of the source: "cells" (CSV, a workbook) or "json".
    raw_form: str

    def describe(self, file: SourceFile) -> dict[str, Any]:
        """What is known of the unit before it is read, kept with it in the file registry."""
        ...

    def new_report(self, file: SourceFile) -> "FileReport":
        """An empty report of the unit (a source may report more than a file does)."""
        ...

    def skipped(self, session: Session, file: SourceFile, file_id: int) -> "FileReport":
        """The report of a unit not ingested again (its bytes were seen)."""
        ...

    def files(self, paths: Sequence[Path]) -> list[SourceFile]:
        """The units of ingest the given paths name, in order."""
        ...

    def read(self, file: SourceFile) -> Any:
        """The file's rows verbatim; raises the source's format error for a file it can't read."""
        ...

    def parse(self, session: Session, file: SourceFile, raw: Any) -> ParsedFile:
        """Typed rows and rule findings; reads (never writes) what it needs of the database."""
        ...

    def stage(self, session: Session, file_id: int, raw: Any, parsed: ParsedFile) -> None:
        """Write the raw rows, the staging rows and the rule findings of the file."""
        ...

    def curate(self, session: Session, file_id: int, parsed: ParsedFile) -> FileReport:
        """Make the curated tables say what the file says; report what was done."""
        ...


class FileSource:
    """What the file sources share: a file history, rows as cells, a file's report."""

    keeps_history = True
    raw_form = "cells"

    def describe(self, file: SourceFile) -> dict[str, Any]:
        return {}

    def new_report(self, file: SourceFile) -> FileReport:
        return FileReport(path=file.label)

    def skipped(self, session: Session, file: SourceFile, file_id: int) -> FileReport:
        report = self.new_report(file)
        report.skipped_unchanged, report.file_id = True, file_id
        return report


def run_ingest(
    session: Session,
    source: IngestSource,
    paths: Iterable[str | PathLike[str]],
    *,
    force: bool = False,
    checkpoint: Callable[[], None] = lambda: None,
) -> list[FileReport]:
    """Ingest ``paths`` with ``source``; one report per unit of ingest, in order.

    ``checkpoint`` is called before each unit (it raises to stop)."""
    reports = []
    for file in source.files([Path(path) for path in paths]):
        checkpoint()
        reports.append(ingest_file(session, source, file, force=force))
    return reports


def ingest_file(
    session: Session, source: IngestSource, file: SourceFile, *, force: bool = False
) -> FileReport:
    """Ingest one unit (a file, or a fetched response) with ``source``; its report."""
    sha256 = file.sha256
    known = session.scalar(
        select(IngestedFile).where(
            IngestedFile.source == source.name, IngestedFile.sha256 == sha256
        )
    )
    if known is not None and not force and (not source.keeps_history or is_current(session, known)):
        return source.skipped(session, file, known.id)

    try:
        raw = source.read(file)
    except RefusedUnit as refusal:
        return _refuse(session, source, file, refusal)
    parsed = source.parse(session, file, raw)  # a format error leaves nothing written
    if known is None:
        file_id = _register(session, source.name, file, parsed.raw_rows, parsed.details)
    else:
        file_id = known.id
        _clear_staged(session, file_id)
        known.path, known.file_name = file.label[:1024], file.path.name[:255]
        known.rows, known.details = parsed.raw_rows, parsed.details
        session.flush()

    # The runs come first: curating a season reads which file is now its current one. A
    # source without a file history keeps none.
    run_seasons = (parsed.seasons or [None]) if source.keeps_history else []
    runs = {
        season: IngestRun(
            source=source.name,
            season=season,
            file_id=file_id,
            forced=force,
            kind="reapplied" if known is not None else "new",
            games_changed=0,
        )
        for season in run_seasons
    }
    session.add_all(runs.values())
    session.flush()

    results_before = _final_results(session, parsed.seasons)
    source.stage(session, file_id, raw, parsed)
    report = source.curate(session, file_id, parsed)
    report.path, report.file_id = file.label, file_id
    report.reapplied = known is not None
    results_after = _final_results(session, parsed.seasons)
    report.results_changed = _results_changed(results_before, results_after)
    report.seasons_added = sorted(
        {season for season, *_ in results_after.values()}
        - {season for season, *_ in results_before.values()}
    )
    for change in report.results_changed:
        if change.season in runs:
            runs[change.season].games_changed = change.games
    session.flush()
    if parsed.raw_rows >= ANALYZE_AFTER_ROWS:
        # A season's rows at once outrun autovacuum: with the planner's row counts of the
        # empty tables, the next file's curation (and any query of these games) could pick
        # nested loops over thousands of rows: minutes instead of milliseconds.
        session.execute(text("ANALYZE"))
    return report


def is_current(session: Session, file: IngestedFile) -> bool:
    """Whether ``file`` is the latest file ingested for every season it was ingested for."""
    seasons = session.scalars(
        select(IngestRun.season).where(IngestRun.file_id == file.id).distinct()
    ).all()
    if not seasons:
        return False
    for season in seasons:
        latest = session.scalar(
            select(IngestRun.file_id)
            .where(
                IngestRun.source == file.source,
                IngestRun.season.is_(None) if season is None else IngestRun.season == season,
            )
            .order_by(IngestRun.id.desc())
            .limit(1)
        )
        if latest != file.id:
            return False
    return True


def current_file_ids(session: Session, source: str, seasons: Iterable[int]) -> dict[int, int]:
    """Season -> the id of the file that counts for it (its latest ingest run)."""
    latest = (
        select(IngestRun.season, func.max(IngestRun.id).label("run_id"))
        .where(IngestRun.source == source, IngestRun.season.in_(list(seasons)))
        .group_by(IngestRun.season)
        .subquery()
    )
    found = session.execute(
        select(IngestRun.season, IngestRun.file_id).join(latest, latest.c.run_id == IngestRun.id)
    )
    return {season: file_id for season, file_id in found}


def _register(
    session: Session, source: str, file: SourceFile, rows: int, details: dict[str, Any]
) -> int:
    statement = (
        insert(IngestedFile)
        .values(
            source=source,
            path=file.label[:1024],
            file_name=file.path.name[:255],
            sha256=file.sha256,
            size_bytes=file.size_bytes,
            rows=rows,
            details=details,
        )
        .returning(IngestedFile.id)
    )
    return session.execute(statement).scalar_one()


def _refuse(
    session: Session, source: IngestSource, file: SourceFile, refusal: RefusedUnit
) -> FileReport:
    """Register a refused unit with one quarantine row holding its raw form; curate nothing."""
    reason = str(refusal)
    details = {**source.describe(file), "refused": reason}
    file_id = _register(session, source.name, file, 0, details)
    finding = Finding(refusal.rule, reason, (WHOLE_UNIT,))
    record_findings(
        session, source.name, file_id, [(finding, None)], {WHOLE_UNIT: refusal.raw},
        form=source.raw_form,
    )  # fmt: skip
    report = source.new_report(file)
    report.file_id, report.refused = file_id, reason
    report.quarantined = {refusal.rule.name: 1}
    return report


def _clear_staged(session: Session, file_id: int) -> None:
    """Delete what an earlier ingest of the same content staged (raw rows, staging, findings)."""
    for table in reversed(Base.metadata.sorted_tables):
        if table.name != IngestRun.__tablename__ and any(
            foreign.column.table.name == IngestedFile.__tablename__
            for foreign in table.foreign_keys
        ):
            session.execute(delete(table).where(table.c.file_id == file_id))


def _final_results(session: Session, seasons: Sequence[int]) -> dict[int, tuple]:
    """Game id -> (season, date, home score, away score) of the seasons' curated games."""
    if not seasons:
        return {}
    found = session.execute(
        select(Game.id, Game.season, Game.game_date, Game.home_score, Game.away_score).where(
            Game.season.in_(list(seasons)), Game.retired_at.is_(None)
        )
    )
    return {game_id: rest for game_id, *rest in found}


def _results_changed(before: dict[int, tuple], after: dict[int, tuple]) -> list[ResultsChanged]:
    """Seasons whose existing results changed: a score changed, a game removed or added.

    A game added to a season that had no games before changes nothing that existed.
    """
    seasons_before = {season for season, *_ in before.values()}
    changed: dict[int, list[date]] = {}
    for game_id in before.keys() | after.keys():
        old, new = before.get(game_id), after.get(game_id)
        if old == new:
            continue
        season, day = (new or old)[0], (new or old)[1]
        if old is None and season not in seasons_before:
            continue
        changed.setdefault(season, []).append(day)
    return [
        ResultsChanged(season, min(days), len(days)) for season, days in sorted(changed.items())
    ]
