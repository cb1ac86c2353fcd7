"""What both feeds share: a response registered like an ingested file, its raw rows, its
rule findings in ``quarantine``, and the report a feed run returns.

A response is registered in ``ingested_files`` by (source, SHA-256): the same bytes again are
a no-op (``skipped_unchanged``). Each game or event of it is a ``raw_feed_rows`` row; each
rule firing is a ``quarantine`` row holding the raw JSON it concerns.
"""

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from app.feeds.models import RawFeedRow
from app.ingest.models import IngestedFile, QuarantinedRow
from app.ingest.rules import Finding

SCHEDULE_SOURCE = "schedule_feed"
ODDS_SOURCE = "odds_feed"
# A finding about the response as a whole (not one game or event) names row 0.
WHOLE_RESPONSE = 0


class MalformedResponse(ValueError):
    """A body that is not JSON, or not the documented shape; the message says which."""


@dataclass(frozen=True)
class Fetched:
    """A response to ingest: where it came from, its bytes, when, and its headers."""

    ref: str  # the URL (secrets redacted) or the file it was loaded from
    name: str  # a short file name for ingested_files, e.g. schedule-2024-06-15.json
    body: bytes
    fetched_at: datetime
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body).hexdigest()


@dataclass
class FeedReport:
    """What one response did. ``became_final`` lists the curated games whose result this run
    wrote for the first time (for settlement); ``refused`` says why nothing was curated."""

    feed: str  # schedule | odds
    ref: str
    file_id: int | None = None
    skipped_unchanged: bool = False
    refused: str | None = None
    rows: int = 0  # games or events in the response
    games_created: list[int] = field(default_factory=list)
    games_updated: list[int] = field(default_factory=list)
    became_final: list[int] = field(default_factory=list)
    status_changed: list[int] = field(default_factory=list)
    snapshots_written: int = 0
    quoted_games: list[int] = field(default_factory=list)  # games with a new snapshot
    quarantined: dict[str, int] = field(default_factory=dict)
    corrections: dict[str, int] = field(default_factory=dict)
    quota: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready values (a task's return value)."""
        return asdict(self)

    def summary(self) -> str:
        """One line for a terminal."""
        if self.skipped_unchanged:
            return f"{self.ref}: the same response was ingested before, skipped"
        if self.refused:
            return f"{self.ref}: refused: {self.refused}"
        noun = "games" if self.feed == "schedule" else "events"
        parts = [f"{self.rows} {noun}"]
        if self.feed == "schedule":
            parts += [
                f"{len(self.games_created)} games created",
                f"{len(self.games_updated)} updated",
                f"{len(self.became_final)} became final",
            ]
        else:
            parts.append(f"{self.snapshots_written} odds snapshots written")
        rejected = sum(self.quarantined.values())
        rules = ", ".join(f"{rule} {n}" for rule, n in sorted(self.quarantined.items()))
        parts.append(f"{rejected} quarantined" + (f" ({rules})" if rules else ""))
        if self.corrections:
            fixed = ", ".join(f"{rule} {n}" for rule, n in sorted(self.corrections.items()))
            parts.append(f"values nulled: {fixed}")
        if self.quota:
            parts.append(
                "quota " + ", ".join(f"{key} {value}" for key, value in self.quota.items())
            )
        return f"{self.ref}: " + "; ".join(parts)


def known_file_id(session: Session, source: str, sha256: str) -> int | None:
    """The id of a response with these bytes registered before, if any."""
    return session.scalar(
        select(IngestedFile.id).where(IngestedFile.source == source, IngestedFile.sha256 == sha256)
    )


def register_response(
    session: Session, source: str, fetched: Fetched, rows: int, details: dict[str, Any]
) -> int:
    """Register the response in ``ingested_files``; its id."""
    statement = (
        insert(IngestedFile)
        .values(
            source=source,
            path=fetched.ref[:1024],
            file_name=fetched.name[:255],
            sha256=fetched.sha256,
            size_bytes=len(fetched.body),
            rows=rows,
            details=details,
        )
        .returning(IngestedFile.id)
    )
    return session.execute(statement).scalar_one()


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


def link_raw_rows(session: Session, raw_ids: Mapping[int, int], games: Mapping[int, int]) -> None:
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


def quarantine(
    session: Session,
    source: str,
    file_id: int,
    findings: Iterable[tuple[Finding, str | None]],
    payload_by_row: Mapping[int, Any],
) -> None:
    """Write each (finding, curated game key or None) with the raw JSON of its rows."""
    rows = [
        {
            "source": source,
            "file_id": file_id,
            "row_numbers": list(finding.row_numbers),
            "rule": finding.rule.name,
            "action": finding.rule.action.value,
            "message": finding.message,
            "game_key": game_key,
            "raw": [
                {"row_number": number, "json": payload_by_row.get(number)}
                for number in finding.row_numbers
            ],
        }
        for finding, game_key in findings
    ]
    if rows:
        session.execute(QuarantinedRow.__table__.insert(), rows)


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
