"""Job events: a notification when a job changes, for clients waiting on it."""

import uuid

from sqlalchemy import func, select
from sqlalchemy.orm import Session

CHANNEL = "bullpen_job_changed"


def publish_job_changed(session: Session, job_id: uuid.UUID) -> None:
    """Notify listeners that ``job_id`` changed; delivered only if the transaction commits."""
    session.execute(select(func.pg_notify(CHANNEL, str(job_id))))
