"""Ingest as a unit of job work."""

from dataclasses import asdict
from typing import Any

from sqlalchemy.orm import Session

from app.ingest.pipeline import ingest_retrosheet, ingest_sbro

INGESTERS = {"sbro": ingest_sbro, "retrosheet": ingest_retrosheet}


def ingest_for_params(session: Session, params: dict[str, Any]) -> dict:
    """Ingest ``params["paths"]`` as ``params["source"]``; the per-file reports are the result."""
    reports = INGESTERS[params["source"]](session, params["paths"])
    return {"files": [asdict(report) for report in reports]}
