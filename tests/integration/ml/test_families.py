"""Each feature family's gain, walk-forward on the real sample (2018 -> 2019) in PostgreSQL:
with and without the family, paired by game, the SE clustered by date."""

import math

import pytest

from app.db.session import session_scope
from app.ml.families import family_gains, table_lines

pytestmark = pytest.mark.integration


def test_families_are_measured_with_and_without_on_the_same_games(seeded) -> None:
    with session_scope(seeded.database_url) as session:
        body = family_gains(
            session, [2019], families=["starters", "lineups"], targets=["moneyline"]
        )
    starters = body["targets"]["moneyline"]["starters"]
    lineups = body["targets"]["moneyline"]["lineups"]
    # A default family is left out of the default set; lineups post after the open, so they
    # are measured on models that know them, and compared with the close.
    assert (starters["moment"], starters["in_default"]) == ("open", True)
    assert (lineups["moment"], lineups["in_default"]) == ("lineup", False)
    for entry in (starters, lineups):
        pooled = entry["pooled"]
        assert pooled["n"] > 2000 and pooled["dates"] > 150  # the 2019 games with prices
        assert pooled["gain"] == pytest.approx(
            pooled["log_loss_without"] - pooled["log_loss_with"], abs=1e-12
        )
        assert math.isfinite(pooled["close_minus_model"]) and pooled["close_minus_model"] < 0
        assert entry["earns"] == (pooled["gain"] > pooled["standard_error"])
        assert entry["seasons"]["2019"]["n"] == pooled["n"]
    # Leaving the starters out changes the model: a paired difference with its noise.
    assert starters["pooled"]["gain"] != 0 and starters["pooled"]["standard_error"] > 0
    # The sample's only training season, 2018, has no season before it to carry a player's
    # value or the league's from: its lineup values are missing (never invented), the trees
    # cannot split on them, and the model with them is the model without them.
    assert lineups["pooled"]["gain"] == 0
    assert lineups["pooled"]["log_loss_without"] == starters["pooled"]["log_loss_with"]
    assert len(table_lines(body)) == 2 + 2
