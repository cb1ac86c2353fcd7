"""What the live feeds' sources share: a response is a unit of the ingest runner like a file.

A response (``SourceFile.response``) is registered in ``ingested_files`` by (source,
SHA-256): the same bytes again are a no-op (``skipped_unchanged``). Its body is read as JSON
of the provider's documented shape (else it is refused whole, under rule
``feeds_malformed_response``, with the start of its body); each game or event of it is a
``raw_feed_rows`` row pointing to the curated game it became; each rule firing is a
``quarantine`` row holding the raw JSON it concerns.

A source of a feed says how a response's games or events are found (:meth:`FeedSource.payloads`),
typed (:meth:`FeedSource.typed`) and written (:meth:`FeedSource.write`); the rest is here.
"""

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import bindparam, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.games.models import Game
from app.ingest import rules
from app.ingest.models import RawFeedRow
from app.ingest.quarantine import count_firings, record_findings
from app.ingest.rules import Finding
from app.ingest.runner import FileReport, ParsedFile, RefusedUnit, SourceFile


class MalformedResponse(RefusedUnit):
    """A body that is not JSON, or not the documented shape; the message says which."""

    def __init__(self, reason: str, body: bytes = b"") -> None:
        super().__init__(rules.FEEDS_MALFORMED_RESPONSE, reason, body_excerpt(body))


@dataclass
class FeedReport(FileReport):
    """What one response did (a file's report, with a feed's counts). ``became_final`` lists
    the curated games whose result this run wrote for the first time (for settlement);
    ``refused`` says why nothing was curated."""

    feed: str = ""  # schedule | odds
    games_created: list[int] = field(default_factory=list)
    games_updated: list[int] = field(default_factory=list)
    became_final: list[int] = field(default_factory=list)
    status_changed: list[int] = field(default_factory=list)
    quoted_games: list[int] = field(default_factory=list)  # games with a new snapshot
    # Games not begun whose starting lineup arrived or changed (a lineup is known after the
    # open: they are predicted again).
    lineups_posted: list[int] = field(default_factory=list)
    quota: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """One line for a terminal."""
        if self.skipped_unchanged:
            return f"{self.path}: the same response was ingested before, skipped"
        if self.refused:
            return f"{self.path}: refused: {self.refused}"
        noun = "games" if self.feed == "schedule" else "events"
        parts = [f"{self.raw_rows} {noun}"]
        if self.feed == "schedule":
            parts += [
                f"{len(self.games_created)} games created",
                f"{len(self.games_updated)} updated",
                f"{len(self.became_final)} became final",
            ]
            if self.lineups_posted:
                parts.append(f"{len(self.lineups_posted)} lineups posted")
        else:
            parts.append(f"{self.snapshots or 0} odds snapshots written")
        parts += self.rule_counts("values nulled")
        if self.quota:
            parts.append(
                "quota " + ", ".join(f"{key} {value}" for key, value in self.quota.items())
            )
        return f"{self.path}: " + "; ".join(parts)


@dataclass
class FeedParse:
    """A response, its games or events as sent (``payloads``, row ``n`` is ``payloads[n-1]``),
    typed (``typed``, the source's own), the rules' findings, and the raw row ids once staged."""

    file: SourceFile
    payloads: list[Any]
    typed: Any
    findings: list[Finding]
    raw_ids: dict[int, int] = field(default_factory=dict)


class FeedSource:
    """A live feed as a source of the ingest runner: read, parse, stage, curate a response."""

    name: str
    feed: str
    keeps_history = False
    raw_form = "json"

    def files(self, paths: Sequence[Path]) -> list[SourceFile]:
        """Saved responses, as if fetched now."""
        now = datetime.now(UTC)
        return [saved_response(path, now) for path in paths]

    def describe(self, file: SourceFile) -> dict[str, Any]:
        fetched_at = file.fetched_at.isoformat() if file.fetched_at else None
        return {"fetched_at": fetched_at}

    def new_report(self, file: SourceFile) -> FeedReport:
        return FeedReport(path=file.label, feed=self.feed)

    def skipped(self, session: Session, file: SourceFile, file_id: int) -> FeedReport:
        report = self.new_report(file)
        report.skipped_unchanged, report.file_id = True, file_id
        return report

    def read(self, file: SourceFile) -> list[Any]:
        """The games or events of the body; :class:`MalformedResponse` for another body."""
        try:
            return self.payloads(load_json(file.data))
        except MalformedResponse as error:
            raise MalformedResponse(str(error), file.data) from None

    def parse(self, session: Session, file: SourceFile, raw: list[Any]) -> ParsedFile:
        typed, findings = self.typed(raw, file)
        return ParsedFile([], len(raw), self.describe(file), FeedParse(file, raw, typed, findings))

    def stage(self, session: Session, file_id: int, raw: list[Any], parsed: ParsedFile) -> None:
        """Every game or event verbatim in ``raw_feed_rows``."""
        parsed.content.raw_ids = write_raw_rows(session, file_id, raw)

    def curate(self, session: Session, file_id: int, parsed: ParsedFile) -> FeedReport:
        """Write what the response says; link its raw rows to their games; quarantine the
        rules' findings with their raw JSON."""
        content: FeedParse = parsed.content
        report = self.new_report(content.file)  # the runner names the unit
        report.raw_rows = parsed.raw_rows
        findings = list(content.findings)
        curated = self.write(session, content.typed, findings, report)
        _link_raw_rows(session, content.raw_ids, {n: game.id for n, game in curated.items()})
        keys = {number: game.game_key for number, game in curated.items()}
        record_findings(
            session,
            self.name,
            file_id,
            [(finding, keys.get(finding.row_numbers[0])) for finding in findings],
            dict(enumerate(content.payloads, start=1)),
            form=self.raw_form,
        )
        report.quarantined = count_firings(findings, rejected=True)
        report.corrections = count_firings(findings, rejected=False)
        session.flush()
        return report

    # What each feed says.
    def payloads(self, document: Any) -> list[Any]:
        """The games or events of a response; raises MalformedResponse on another shape."""
        raise NotImplementedError

    def typed(self, payloads: list[Any], file: SourceFile) -> tuple[Any, list[Finding]]:
        """The typed games or events, and the findings of the ones that cannot be typed."""
        raise NotImplementedError

    def write(
        self, session: Session, typed: Any, findings: list[Finding], report: FeedReport
    ) -> dict[int, Game]:
        """Make the curated tables say what the response says; row number -> curated game."""
        raise NotImplementedError


def saved_response(path: Path, now: datetime) -> SourceFile:
    """A response saved to a file, as if fetched ``now``; OSError when it cannot be read."""
    return SourceFile.response(str(path), path.name, path.read_bytes(), now)


def load_json(body: bytes) -> Any:
    """The decoded body; raises :class:`MalformedResponse` with the parser's reason."""
    try:
        return json.loads(body.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise MalformedResponse(f"not UTF-8 text ({error.reason})") from None
    except json.JSONDecodeError as error:
        raise MalformedResponse(
            f"not JSON: {error.msg} at line {error.lineno} column {error.colno}"
        ) from None


def body_excerpt(body: bytes, limit: int = 1_000_000) -> str:
    """The start of a body as text, for a quarantine row of a response that is not JSON."""
    return body[:limit].decode("utf-8", errors="replace")


def write_raw_rows(session: Session, file_id: int, payloads: Sequence[Any]) -> dict[int, int]:
    """Every game or event verbatim (1-based row numbers); row number -> raw row id."""
    if not payloads:
        return {}
    statement = (
        insert(RawFeedRow)
        .values(
            [
                {"file_id": file_id, "row_number": number, "payload": payload}
                for number, payload in enumerate(payloads, start=1)
            ]
        )
        .returning(RawFeedRow.row_number, RawFeedRow.id)
    )
    return dict(session.execute(statement).tuples().all())


def _link_raw_rows(session: Session, raw_ids: Mapping[int, int], games: Mapping[int, int]) -> None:
    """Point raw rows (by row number) to the curated games they became."""
    payload = [
        {"row_id": raw_ids[number], "game_id": game_id}
        for number, game_id in games.items()
        if number in raw_ids
    ]
    if payload:
        session.connection().execute(
            update(RawFeedRow.__table__)
            .where(RawFeedRow.__table__.c.id == bindparam("row_id"))
            .values(game_id=bindparam("game_id")),
            payload,
        )


def utc_time(value: object) -> datetime | None:
    """An ISO 8601 time with its offset ("Z" for UTC) as UTC; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return None if moment.tzinfo is None else moment.astimezone(UTC)
