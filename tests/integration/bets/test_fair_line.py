"""A prediction job on the real worker serves a soft book that beats Pinnacle's de-vigged line,
whatever the model's gate; a stale sharp quote, or a quote after first pitch, is never priced."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select

from app.bets.devig import fair_pair
from app.bets.models import Bet, StrategyState
from app.clock import eastern_date
from app.config import Settings
from app.db.session import session_scope
from app.games.models import Game, OddsSnapshot
from app.ml import registry
from app.ml.models import Prediction
from app.odds import american_to_decimal, american_to_implied, decimal_to_american

pytestmark = pytest.mark.integration

PINNACLE = (-150, 140)


def _game(session, key: str, start: datetime) -> int:
    # Listed on the US Eastern date of the run, as the board's day is: a start 3 hours ahead
    # is on the next UTC date (or Eastern, late at night), and the board of today lost it.
    day = eastern_date(datetime.now(UTC))
    game = Game(
        game_key=key,
        season=day.year,
        game_date=day,
        start_time=start,
        home_team="NYA",
        away_team="BOS",
    )
    session.add(game)
    session.flush()
    return game.id


def _quote(game_id: int, book: str, at: datetime, home: int, away: int) -> OddsSnapshot:
    return OddsSnapshot(game_id=game_id, book=book, captured_at=at, home_ml=home, away_ml=away)


def _predict(client, game_id: int) -> tuple[dict, uuid.UUID]:
    body = {"game_id": game_id, "targets": ["moneyline"], "bankroll": 1000}
    submitted = client.post("/api/v1/predict", json=body)
    job = client.get(f"{submitted.headers['Location']}?wait=30").get_json()
    assert job["status"] == "succeeded", job
    return client.get(job["results_url"]).get_json()["items"][0], uuid.UUID(job["job_id"])


@pytest.fixture
def upcoming(seeded: Settings) -> dict:
    """Three games later today: fresh Pinnacle and a soft book paying ~8% over its fair home
    price; the same with Pinnacle's quote 40 minutes old; one whose first pitch has passed."""
    now = datetime.now(UTC)
    q_home, q_away = (american_to_implied(price) for price in PINNACLE)
    fair_home = fair_pair(q_home, q_away, seeded.devig)[0]
    soft = round(decimal_to_american(1.08 / fair_home))
    tag = uuid.uuid4().hex[:6]  # each run its own games
    with session_scope(seeded.database_url) as session:
        fresh = _game(session, f"fair-{tag}-fresh", now + timedelta(hours=3))
        stale = _game(session, f"fair-{tag}-stale", now + timedelta(hours=3))
        started = _game(session, f"fair-{tag}-started", now - timedelta(minutes=10))
        for game_id, pinnacle_at in ((fresh, now - timedelta(minutes=5)),
                                     (stale, now - timedelta(minutes=40)),
                                     (started, now - timedelta(minutes=15))):  # fmt: skip
            session.add(_quote(game_id, "pinnacle", pinnacle_at, *PINNACLE))
            session.add(_quote(game_id, "softbook", now - timedelta(minutes=2), soft, -170))
    return {"fresh": fresh, "stale": stale, "started": started, "soft": soft, "fair": fair_home}


def test_a_soft_book_beating_the_sharp_fair_line_is_served_and_recorded(
    client, worker, seeded, upcoming
):
    champion = registry.load_version(
        seeded, "moneyline", registry.champion_versions(seeded)["moneyline"]
    )
    # The model's own gate is closed: the bet rests on the market alone.
    assert not champion.bets_enabled and not champion.calibrated(seeded.max_ece)

    prediction, job_id = _predict(client, upcoming["fresh"])
    bet = prediction["betting_recommendations"]["home_ml"]
    assert (bet["side"], bet["book"], bet["odds"]) == ("home", "softbook", upcoming["soft"])
    assert (bet["basis"], bet["fair_source"], bet["fair_books"]) == ("fair", "sharp", ["pinnacle"])
    # EV recomputed from the quotes alone: Pinnacle de-vigged, the soft book's price.
    expected = upcoming["fair"] * american_to_decimal(upcoming["soft"]) - 1
    assert bet["expected_value"] == pytest.approx(expected)
    assert bet["expected_value"] == pytest.approx(0.08, abs=0.01)
    assert bet["fair_probability"] == pytest.approx(upcoming["fair"])
    assert bet["model_probability"] == pytest.approx(prediction["home_ml_probability"])
    # The sample champion earned no blend weight on its held-out games: the fair line as is.
    assert bet["blend_weight"] == champion.blend_weight == 0.0
    assert 0 < bet["recommended_bet_size"] <= 1000 * seeded.kelly_cap
    # The strategy has proven nothing yet: a paper bet, graded like any other.
    assert (bet["strategy"], bet["paper"]) == ("fair", True)
    with session_scope(seeded.database_url) as session:
        rows = session.scalars(
            select(Bet).join(Prediction, Prediction.id == Bet.prediction_id)
            .where(Prediction.job_id == job_id)
        ).all()  # fmt: skip
        by_strategy = {b.strategy: b for b in rows}
        # Every shipped strategy that trades the moneyline takes it, each its own paper bet.
        assert sorted(by_strategy) == ["conservative", "fair", "moneyline"]
        assert {(b.book, b.odds, b.side, b.paper) for b in rows} == {
            ("softbook", upcoming["soft"], "home", True)
        }
        assert by_strategy["fair"].fair_probability == pytest.approx(upcoming["fair"])
        assert by_strategy["moneyline"].fair_probability == pytest.approx(upcoming["fair"])
        # The conservative one prices against the worst case of the de-vig methods.
        worst = fair_pair(*(american_to_implied(p) for p in PINNACLE), "worst_case")[0]
        assert by_strategy["conservative"].fair_probability == pytest.approx(worst)
    assert sorted(prediction["paper_bets"]["home_ml"]) == ["conservative", "moneyline"]


def test_the_first_live_strategy_carries_the_bankroll_bet(client, worker, seeded, upcoming):
    with session_scope(seeded.database_url) as session:
        session.merge(StrategyState(name="moneyline", state="live", forced=True,
                                    changed_at=datetime.now(UTC)))  # fmt: skip
    try:
        prediction, job_id = _predict(client, upcoming["fresh"])
    finally:
        with session_scope(seeded.database_url) as session:
            session.execute(delete(StrategyState).where(StrategyState.name == "moneyline"))
    bet = prediction["betting_recommendations"]["home_ml"]
    assert (bet["strategy"], bet["paper"]) == ("moneyline", False)
    assert {name: b["paper"] for name, b in prediction["paper_bets"]["home_ml"].items()} == {
        "fair": True,
        "conservative": True,
    }
    with session_scope(seeded.database_url) as session:
        rows = session.scalars(
            select(Bet).join(Prediction, Prediction.id == Bet.prediction_id)
            .where(Prediction.job_id == job_id)
        ).all()  # fmt: skip
        assert {(b.strategy, b.paper) for b in rows} == {
            ("fair", True), ("conservative", True), ("moneyline", False),
        }  # fmt: skip


def test_a_stale_sharp_quote_or_a_started_game_is_never_priced(client, worker, seeded, upcoming):
    for game in ("stale", "started"):
        prediction, _ = _predict(client, upcoming[game])
        assert prediction["betting_recommendations"] == {}, game


def test_the_fair_board_and_its_arbitrage(client, seeded, upcoming):
    today = eastern_date(datetime.now(UTC)).isoformat()
    board = client.get(f"/api/v1/fair?date={today}").get_json()
    games = {game["game_id"]: game for game in board["games"]}
    (market,) = games[upcoming["fresh"]]["markets"]
    assert (market["market"], market["source"], market["books"]) == (
        "home_ml",
        "sharp",
        ["pinnacle"],
    )
    assert market["fair_yes"] == pytest.approx(upcoming["fair"])
    assert market["blend_weight"] == 0.0
    assert market["served_yes"] == pytest.approx(market["fair_yes"])
    assert 240 <= market["quote_ages_seconds"]["pinnacle"] <= 3600  # 5 min old, a slow machine
    best = market["prices"][0]
    assert (best["book"], best["side"], best["odds"]) == ("softbook", "home", upcoming["soft"])
    assert best["expected_value"] == pytest.approx(
        upcoming["fair"] * american_to_decimal(upcoming["soft"]) - 1
    )
    assert games[upcoming["stale"]]["markets"] == []  # one fresh soft book is no consensus
    assert games[upcoming["started"]]["markets"] == []

    # Soft home at ~8% over fair against Pinnacle's away +140: the implied sum is below 1.
    arbs = client.get(f"/api/v1/arbitrage?date={today}").get_json()["arbitrages"]
    (arb,) = [a for a in arbs if a["game_id"] == upcoming["fresh"]]
    q_home = american_to_implied(upcoming["soft"])
    q_away = american_to_implied(PINNACLE[1])
    assert arb["booksum"] == pytest.approx(q_home + q_away)
    assert (arb["yes"]["book"], arb["no"]["book"]) == ("softbook", "pinnacle")
    total = arb["stake_yes"] + arb["stake_no"]
    assert total == pytest.approx(seeded.kelly_cap * seeded.bankroll)
    assert arb["stake_yes"] * american_to_decimal(upcoming["soft"]) == pytest.approx(arb["payout"])
    assert arb["stake_no"] * american_to_decimal(PINNACLE[1]) == pytest.approx(arb["payout"])
    assert arb["profit"] > 0
