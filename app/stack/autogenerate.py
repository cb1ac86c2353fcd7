"""Write a new Alembic revision from the difference between the models and the migrations.

Usage: ``python -m app.stack.autogenerate "message"``. It migrates a scratch database
on the embedded PostgreSQL (or ``BULLPEN_DATABASE_URL``'s server) to head, compares
it with the models, writes the revision, and drops the scratch database.
"""

import sys
import tempfile
import uuid
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from sqlalchemy.engine import make_url

from app.config import Settings
from app.db.migrate import alembic_config, upgrade
from app.stack.embedded import EmbeddedStack


def main(message: str) -> None:
    settings = Settings.from_env()
    stack = None
    server_url = settings.database_url
    if server_url is None:
        stack = EmbeddedStack(Path(tempfile.mkdtemp(prefix="bullpen-autogen-")))
        server_url = stack.start(need_redis=False)["BULLPEN_DATABASE_URL"]
    name = f"bullpen_autogen_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(
        make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT"
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade(url)
        command.revision(alembic_config(url), message=message, autogenerate=True)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        if stack is not None:
            stack.stop()


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "schema change")
