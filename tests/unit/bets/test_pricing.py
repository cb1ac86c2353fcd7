import pytest

from app.markets import MONEYLINE, TOTAL
from app.staking.kelly import StakingPolicy
from app.staking.pricing import (
    BookQuote,
    Gate,
    Staking,
    apply_daily_exposure,
    best_prices,
    cap_daily_exposure,
    comparable,
    consensus_probability,
    price_shop,
    risk_level,
)

EDGE = Gate(bets_enabled=True, calibrated=False)
CALIBRATED = Gate(bets_enabled=False, calibrated=True)
CLOSED = Gate(bets_enabled=False, calibrated=False)


def test_best_price_of_each_side_is_the_largest_payout_over_books():
    quotes = [
        BookQuote("a", -120, 110),
        BookQuote("b", -105, 100),
        BookQuote("c", -130, 120),
    ]

    best_yes, best_no = best_prices(quotes)

    assert (best_yes.book, best_yes.price) == ("b", -105)
    assert (best_no.book, best_no.price) == ("c", 120)
    assert best_no.decimal == pytest.approx(2.2)


def test_invalid_and_missing_prices_are_skipped_and_ties_go_to_the_first_book_by_name():
    best_yes, best_no = best_prices([BookQuote("z", 150, None), BookQuote("m", 150, 50)])

    assert best_yes.book == "m"
    assert best_no is None


def test_only_quotes_at_the_models_line_are_comparable():
    quotes = [BookQuote("a", -110, -110, 8.5), BookQuote("b", 120, -140, 9.0)]

    assert comparable(quotes, 8.5) == [quotes[0]]
    assert comparable(quotes, None) == quotes


def test_consensus_is_the_mean_de_vigged_probability():
    assert consensus_probability([BookQuote("a", -110, -110), BookQuote("b", 100, 100)]) == 0.5
    assert consensus_probability([BookQuote("a", None, -110)]) is None


def test_an_edge_model_is_served_at_the_best_book_when_ev_clears_the_threshold():
    quotes = [BookQuote("a", -110, -110), BookQuote("b", 105, -125)]
    staking = Staking(bankroll=1000, policy=StakingPolicy(0.25, 0.05), min_ev=0.02)

    bet = price_shop(MONEYLINE, 0.52, quotes, None, EDGE, staking)

    assert bet["side"] == "home"
    assert (bet["book"], bet["odds"]) == ("b", 105)
    assert bet["expected_value"] == pytest.approx(0.52 * 2.05 - 1)
    assert bet["basis"] == "edge"
    assert bet["min_odds"] == round(-100 * 0.52 / 0.48)
    # Quarter Kelly: 0.25 * (0.52 * 1.05 - 0.48) / 1.05
    assert bet["recommended_bet_size"] == pytest.approx(1000 * 0.25 * (0.546 - 0.48) / 1.05)


def test_below_the_ev_threshold_nothing_is_served():
    quotes = [BookQuote("a", 100, -120)]

    assert price_shop(MONEYLINE, 0.505, quotes, None, EDGE, Staking(min_ev=0.02)) is None
    assert price_shop(MONEYLINE, 0.505, quotes, None, EDGE, Staking(min_ev=0.0)) is not None


def test_a_calibrated_model_serves_only_prices_that_beat_the_markets_own_fair_price():
    # Books agree on 50%; one of them hangs +120 on the home side.
    quotes = [BookQuote("a", -110, -110), BookQuote("b", -110, -110), BookQuote("c", 120, -140)]
    consensus = consensus_probability(quotes)
    assert consensus * 2.2 - 1 > 0.02

    bet = price_shop(MONEYLINE, 0.5, quotes, None, CALIBRATED, Staking())

    assert (bet["side"], bet["book"], bet["basis"]) == ("home", "c", "price")
    assert bet["market_probability"] == pytest.approx(consensus)


def test_a_calibrated_model_disagreeing_with_the_market_is_not_an_edge():
    quotes = [BookQuote("a", -110, -110)]  # the market says 50%, the model 60%

    assert price_shop(MONEYLINE, 0.6, quotes, None, CALIBRATED, Staking()) is None
    assert price_shop(MONEYLINE, 0.6, quotes, None, EDGE, Staking())["side"] == "home"
    assert price_shop(MONEYLINE, 0.6, quotes, None, CLOSED, Staking()) is None


def test_totals_are_shopped_only_at_the_models_line():
    quotes = [BookQuote("a", -110, -110, 8.5), BookQuote("b", 150, -180, 9.5)]

    bet = price_shop(TOTAL, 0.56, quotes, 8.5, EDGE, Staking())

    assert (bet["book"], bet["odds"], bet["line"]) == ("a", -110, 8.5)


def test_the_exposure_cap_scales_stakes_in_proportion_down_to_cents():
    assert cap_daily_exposure([30.0, 20.0], 100.0) == [30.0, 20.0]
    assert cap_daily_exposure([60.0, 40.0, 100.0], 50.0) == [15.0, 10.0, 25.0]
    assert sum(cap_daily_exposure([33.333, 33.333, 33.333], 50.0)) <= 50.0
    assert cap_daily_exposure([10.0], -5.0) == [0.0]


def _payload(game_date: str, **stakes: float) -> dict:
    return {
        "game": {"game_date": game_date},
        "betting_recommendations": {
            market: {"recommended_bet_size": stake} for market, stake in stakes.items()
        },
    }


def test_a_days_stakes_fit_under_the_cap_and_other_days_are_untouched():
    staking = Staking(bankroll=1000, daily_exposure=0.1)  # room: 100 a day
    payloads = [
        _payload("2019-06-01", home_ml=50, total_over=30),
        _payload("2019-06-01", home_ml=80),
        _payload("2019-06-02", home_ml=50),
    ]

    apply_daily_exposure(payloads, staking)

    day_one = [
        bet["recommended_bet_size"]
        for payload in payloads[:2]
        for bet in payload["betting_recommendations"].values()
    ]
    assert day_one == [31.25, 18.75, 50.0]
    assert sum(day_one) <= 100
    # The second day has room of its own: its bet is untouched.
    assert payloads[2]["betting_recommendations"]["home_ml"]["recommended_bet_size"] == 50


def test_best_offer_is_the_side_with_the_larger_ev_at_its_best_price_served_or_not():
    from app.staking.pricing import best_offer

    quotes = [BookQuote("a", -120, 110), BookQuote("b", -105, 100), BookQuote("c", -130, 120)]

    home = best_offer(MONEYLINE, 0.55, quotes, None)
    away = best_offer(MONEYLINE, 0.40, quotes, None)

    assert (home["side"], home["odds"], home["book"]) == ("home", -105, "b")
    assert home["expected_value"] == pytest.approx(0.55 * (1 + 100 / 105) - 1)
    assert (away["side"], away["odds"], away["book"]) == ("away", 120, "c")
    assert away["expected_value"] == pytest.approx(0.60 * 2.2 - 1)
    assert away["fair_probability"] == pytest.approx(0.60)


def test_best_offer_counts_only_quotes_at_the_models_line():
    from app.staking.pricing import best_offer

    quotes = [BookQuote("a", -110, -110, 8.5), BookQuote("b", 150, -180, 9.5)]

    offer = best_offer(TOTAL, 0.6, quotes, 8.5)

    assert (offer["side"], offer["odds"], offer["book"], offer["line"]) == ("over", -110, "a", 8.5)
    assert best_offer(TOTAL, 0.6, quotes, 7.0) is None


def test_risk_level_by_the_largest_stake() -> None:
    assert risk_level({}) == "none"
    assert risk_level({"home_ml": {"kelly_fraction": 0.005}}) == "low"
    assert (
        risk_level({"home_ml": {"kelly_fraction": 0.02}, "total_over": {"kelly_fraction": 0.04}})
        == "high"
    )


def _served_by_chunk(now, first_pitch, captured_at):
    """What a prediction job serves on one moneyline a single soft book quotes (no fair line:
    the model's price-shop fallback behind an open gate)."""
    from datetime import date

    import numpy as np

    from app.bets.fairline import FairLineRules
    from app.bets.recommend import GamePrices, price_chunk

    games = GamePrices(columns={}, starts=[first_pitch], dates=[date(2024, 6, 1)], stored=[True])
    prices = price_chunk(
        games,
        {"moneyline": np.array([0.6])},
        {"moneyline": EDGE},
        Staking(),
        moment=now,
        quotes=[{"home_ml": [BookQuote("softbook", 150, -170, None, captured_at)]}],
        fair_rules=FairLineRules(),
        iso_dates=["2024-06-01"],
    )
    return prices.recommendations[0]


def test_the_fallback_serves_nothing_once_the_game_began_or_at_a_stale_quote():
    from datetime import UTC, datetime, timedelta

    pitch = datetime(2024, 6, 1, 23, 5, tzinfo=UTC)
    before = pitch - timedelta(hours=2)
    # Fresh, before first pitch: the model's edge at the soft book is served.
    assert _served_by_chunk(before, pitch, before - timedelta(minutes=5))["home_ml"]["book"] == (
        "softbook"
    )
    # The same pre-game quote once the game has begun, or is over: nothing.
    for now in (pitch, pitch + timedelta(minutes=10), pitch + timedelta(days=1)):
        assert _served_by_chunk(now, pitch, before - timedelta(minutes=5)) == {}, now
    # Before first pitch, a quote older than the fair rules' max age (30 minutes), or of
    # unknown capture time: no price to bet at now.
    assert _served_by_chunk(before, pitch, before - timedelta(minutes=31)) == {}
    assert _served_by_chunk(before, pitch, None) == {}
