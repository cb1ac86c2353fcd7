"""The vectorised ``score`` writes the payloads the row-by-row one wrote, field for field."""

from datetime import UTC, datetime

import lightgbm as lgb
import numpy as np
import pandas as pd
import pytest

from app import clock
from app.features.definitions import FEATURE_SET
from app.ml.prior import MarketPrior
from app.ml.registry import LoadedModel
from app.predictions.pipeline import score
from app.staking.kelly import StakingPolicy
from app.staking.pricing import BookQuote, Staking
from tests.unit.ml.row_scoring_reference import assert_same_payloads, score_by_rows

ROWS = 200
NAMES = FEATURE_SET.names
# Priors as the hyperparameters declare them: moneyline and total on their opening
# probability, the run line on the moneyline split by the run line's sign.
PRIORS = {
    "moneyline": MarketPrior(NAMES.index("ml_open_home_prob"), 0.53, (0.02, 0.93)),
    "total_over": MarketPrior(NAMES.index("total_open_over_prob"), 0.49, (-0.01, 0.88)),
    "home_spread": MarketPrior(
        NAMES.index("ml_open_home_prob"), 0.45, (-0.6, 0.9, 0.3, 0.1), NAMES.index("run_line_home")
    ),
}


def _features(rng: np.random.Generator) -> np.ndarray:
    features = rng.normal(size=(ROWS, len(NAMES)))
    for name in ("ml_open_home_prob", "total_open_over_prob"):
        features[:, NAMES.index(name)] = rng.uniform(0.3, 0.7, ROWS)
    features[:, NAMES.index("run_line_home")] = rng.choice([-1.5, 1.5], ROWS)
    features[rng.random(features.shape) < 0.1] = np.nan
    return features


def _model(target: str, rng: np.random.Generator, *, bets_enabled: bool, ece: float | None):
    x = _features(rng)
    y = (np.nan_to_num(x[:, 0]) + rng.normal(scale=0.3, size=ROWS) > 0.5).astype(int)
    # Small trees, like the champions': most features contribute exactly 0 to a row, so
    # the explanation's order among ties must be the row-by-row one too.
    booster = lgb.train(
        {"objective": "binary", "verbosity": -1, "min_data_in_leaf": 20, "num_leaves": 3,
         "num_threads": 1},
        lgb.Dataset(x, y),
        2,
    )  # fmt: skip
    return LoadedModel(
        target=target,
        name=f"bullpen-{target}",
        version="3",
        booster=booster,
        feature_fingerprint=FEATURE_SET.fingerprint,
        feature_names=NAMES,
        prior=PRIORS[target] if target != "total_over" or ece is not None else None,
        bets_enabled=bets_enabled,
        ece=ece,
    )


def _prices(rng: np.random.Generator, favourite: float) -> np.ndarray:
    """American prices around ``favourite``: some missing, some not valid American odds."""
    prices = np.round(rng.normal(favourite, 60, ROWS))
    prices = np.where(np.abs(prices) < 100, prices + np.sign(prices + 0.5) * 100, prices)
    prices[rng.random(ROWS) < 0.08] = np.nan
    prices[rng.random(ROWS) < 0.02] = 50.0  # |price| < 100: no market probability
    prices[rng.random(ROWS) < 0.05] += 0.4  # not a whole number: truncated like int()
    return prices


def _games(rng: np.random.Generator) -> pd.DataFrame:
    dates = pd.to_datetime("2019-06-01") + pd.to_timedelta(rng.integers(0, 6, ROWS), unit="D")
    total = rng.choice([7.5, 8.0, 8.5, 9.0, np.nan], ROWS, p=[0.3, 0.2, 0.3, 0.15, 0.05])
    home_rl = rng.choice([-1.5, 1.5, np.nan], ROWS, p=[0.55, 0.4, 0.05])
    return pd.DataFrame(
        {
            "game_id": np.arange(1000, 1000 + ROWS),
            "game_date": dates.astype("datetime64[ns]"),
            "home_team": rng.choice(["NYA", "BOS", "LAN", "SFN"], ROWS),
            "away_team": rng.choice(["TEX", "SEA", "HOU", "OAK"], ROWS),
            "home_ml_open": _prices(rng, -130),
            "away_ml_open": _prices(rng, 120),
            "total_open": total,
            "over_open": _prices(rng, -110),
            "under_open": _prices(rng, -110),
            "home_rl": home_rl,
            "home_rl_price": _prices(rng, 140),
            "away_rl_price": _prices(rng, -160),
        }
    )


def _quotes(rng: np.random.Generator, games: pd.DataFrame) -> list[dict[str, list[BookQuote]]]:
    """Several books per market, some at another line, some with one price, some games none."""
    quotes = []
    for total, home_rl in zip(games["total_open"], games["home_rl"], strict=True):
        by_market: dict[str, list[BookQuote]] = {}
        if rng.random() < 0.1:
            quotes.append(by_market)
            continue
        for book in rng.permutation(["pin", "dk", "fd", "mgm"])[: rng.integers(1, 5)]:
            home = int(rng.choice([-150, -135, -120, 105, 125, 160]))
            away = int(rng.choice([-170, -140, 110, 130, 145])) if rng.random() > 0.1 else None
            by_market.setdefault("home_ml", []).append(BookQuote(str(book), home, away))
            line = total if rng.random() > 0.2 else 10.5
            over, under = (int(p) for p in rng.choice([-125, -110, -105, 100, 115], 2))
            by_market.setdefault("total_over", []).append(
                BookQuote(str(book), over, under, None if np.isnan(line) else float(line))
            )
            rl = home_rl if rng.random() > 0.2 else -home_rl
            yes, no = (int(p) for p in rng.choice([-180, -150, 120, 140, 165], 2))
            by_market.setdefault("home_spread", []).append(
                BookQuote(str(book), yes, no, None if np.isnan(rl) else float(rl))
            )
        quotes.append(by_market)
    return quotes


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch):
    monkeypatch.setattr(clock, "now", lambda: datetime(2019, 6, 1, 12, 30, tzinfo=UTC))


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("with_quotes", [True, False])
@pytest.mark.parametrize(
    "champions", ["every gate open", "calibrated only", "gates shut", "no moneyline", "none"]
)
def test_payloads_equal_the_row_by_row_ones(seed, with_quotes, champions):
    rng = np.random.default_rng(seed)
    gates = {
        "every gate open": {t: (True, 0.01) for t in PRIORS},
        "calibrated only": {"moneyline": (False, 0.01), "total_over": (False, 0.05),
                            "home_spread": (False, None)},
        "gates shut": {t: (False, None) for t in PRIORS},
        "no moneyline": {"total_over": (True, 0.01), "home_spread": (True, 0.03)},
        "none": {},
    }[champions]  # fmt: skip
    models = {
        target: _model(target, rng, bets_enabled=bets, ece=ece)
        for target, (bets, ece) in gates.items()
    }
    games = _games(rng)
    features = _features(rng)
    # Stored games and games described in a request (no id, priced at their own odds).
    game_ids = [None if i % 9 == 0 else 1000 + i for i in range(ROWS)]
    quotes = _quotes(rng, games) if with_quotes else None
    staking = Staking(
        bankroll=2500.0,
        policy=StakingPolicy(fraction=0.5, cap=0.05),
        daily_exposure=0.2,
        min_ev=0.01,
    )
    # The daily cap: 500 a date.

    expected = score_by_rows(
        games, features, models, 2500.0, game_ids,
        staking=staking, quotes=quotes, max_ece=0.02,
    )  # fmt: skip
    actual = score(
        games, features, models, 2500.0, game_ids,
        staking=staking, quotes=quotes, max_ece=0.02,
    )  # fmt: skip

    assert_same_payloads(actual, expected)
    if champions == "every gate open":
        assert sum(len(p["betting_recommendations"]) for p in expected) > 20


def test_a_frame_with_only_some_columns_and_string_dates():
    """The columns a caller may leave out are missing prices; dates may be ISO strings."""
    rng = np.random.default_rng(5)
    models = {"moneyline": _model("moneyline", rng, bets_enabled=True, ece=None)}
    games = pd.DataFrame(
        {"home_team": ["NYA", "BOS"], "away_team": ["BOS", "NYA"],
         "game_date": ["2019-06-01", "2019-06-02"],
         "home_ml_open": [150, None], "away_ml_open": [-170, -120]}
    )  # fmt: skip
    features = _features(rng)[:2]

    expected = score_by_rows(games, features, models, 1000.0, [None, None])
    actual = score(games, features, models, 1000.0, [None, None])

    assert_same_payloads(actual, expected)


@pytest.mark.parametrize("with_quotes", [True, False])
def test_each_alone_prices_every_row_as_a_job_of_its_own(with_quotes):
    """A micro-batch of one-game jobs: scored together, each row priced as its own job (the
    daily exposure cap sees only its own game), as if each were scored alone."""
    rng = np.random.default_rng(7)
    models = {t: _model(t, rng, bets_enabled=True, ece=0.01) for t in PRIORS}
    games = _games(rng)
    features = _features(rng)
    game_ids = [1000 + i for i in range(ROWS)]
    quotes = _quotes(rng, games) if with_quotes else None
    staking = Staking(
        bankroll=2500.0, policy=StakingPolicy(fraction=0.5, cap=0.05), daily_exposure=0.02
    )
    options = {"staking": staking, "max_ece": 0.02}

    together = score(games, features, models, 2500.0, game_ids, quotes=quotes, each_alone=True,
                     **options)  # fmt: skip
    alone = [
        score(games.iloc[[i]], features[i : i + 1], models, 2500.0, game_ids[i : i + 1],
              quotes=None if quotes is None else quotes[i : i + 1], **options)[0]
        for i in range(ROWS)
    ]  # fmt: skip
    as_one_chunk = score(games, features, models, 2500.0, game_ids, quotes=quotes, **options)

    assert_same_payloads(together, alone)

    # The cap binds in one chunk of these games: pricing them as one job would differ.
    def stakes(payloads: list[dict]) -> list[list[float]]:
        return [
            [bet["recommended_bet_size"] for bet in p["betting_recommendations"].values()]
            for p in payloads
        ]

    assert stakes(together) != stakes(as_one_chunk)
