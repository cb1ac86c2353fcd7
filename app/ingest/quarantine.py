"""Rule firings of an ingest: written to ``quarantine`` with their raw rows, and counted."""

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from app.ingest.models import QuarantinedRow
from app.ingest.rules import Action, Finding


def record_findings(
    session: Session,
    source: str,
    file_id: int,
    findings: Iterable[tuple[Finding, str | None]],
    raw_by_row_number: Mapping[int, Any],
    *,
    form: str = "cells",
) -> None:
    """Write each (finding, curated game key or None) with the raw rows it concerns, each in
    its source's raw ``form``: "cells" (a row's fields) or "json" (a feed's game or event)."""
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
                _raw_row(number, raw_by_row_number.get(number), form)
                for number in finding.row_numbers
            ],
        }
        for finding, game_key in findings
    ]
    if payload:
        session.execute(QuarantinedRow.__table__.insert(), payload)


def _raw_row(number: int, raw: Any, form: str) -> dict[str, Any]:
    if form == "cells":
        return {"row_number": number, "cells": list(raw or ())}
    return {"row_number": number, form: raw}


def count_firings(findings: Iterable[Finding], *, rejected: bool) -> dict[str, int]:
    """Rule name -> firings, of the rejecting rules or of the others."""
    counts = Counter(
        finding.rule.name
        for finding in findings
        if (finding.rule.action is Action.REJECTED) == rejected
    )
    return dict(sorted(counts.items()))


def count_rows(findings: Iterable[Finding], *, rejected: bool) -> dict[str, int]:
    """Rule name -> source rows concerned, of the rejecting rules or of the others."""
    counts: Counter[str] = Counter()
    for finding in findings:
        if (finding.rule.action is Action.REJECTED) == rejected:
            counts[finding.rule.name] += len(finding.row_numbers)
    return dict(sorted(counts.items()))
