"""The migrations build exactly the schema the models describe."""

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from app.db.session import get_engine
from app.tables import Base

pytestmark = pytest.mark.integration


def test_migrations_match_the_models(database_url):
    with get_engine(database_url).connect() as conn:
        differences = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata
        )

    assert differences == []
