"""A walk-forward backtest runs every target it can fit and says why it skipped the rest."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from app.config import Settings
from app.db.session import get_engine, session_scope
from app.ingest.sources import ingest
from app.ml.backtest import backtest

pytestmark = pytest.mark.integration


def test_a_target_without_training_labels_is_skipped_and_the_others_run(
    clean_database: str, sample_dir: Path
) -> None:
    with session_scope(clean_database) as session:
        ingest(
            session, "sbro", [sample_dir / "mlb-odds-2018.xlsx", sample_dir / "mlb-odds-2019.xlsx"]
        )
    # Like the seasons before 2014: SBRO kept no run lines.
    with get_engine(clean_database).begin() as connection:
        connection.execute(
            sa.text(
                "UPDATE odds SET home_rl = NULL, home_rl_price = NULL, away_rl_price = NULL "
                "FROM games WHERE games.id = odds.game_id AND games.season = 2018"
            )
        )

    with session_scope(clean_database) as session:
        result = backtest(session, Settings.from_env({}), 2019, log_to_mlflow=False)

    body = result.to_dict()
    assert set(body["targets"]) == {"moneyline", "total_over"}
    assert "0 labelled home_spread games" in body["skipped"]["home_spread"]
    assert body["targets"]["moneyline"]["n"] > 2000
