"""The fair line: book roles, staleness, first pitch, width, EV and arbitrage, by hand."""

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.bets.devig import fair_pair
from app.bets.fairline import (
    FairLineRules,
    arbitrage,
    book_prices,
    fair_line,
    priced_quotes,
)
from app.markets import MONEYLINE, TOTAL
from app.odds import american_to_implied
from app.staking.kelly import StakingPolicy, stake_fraction
from app.staking.pricing import BookQuote

PITCH = datetime(2024, 6, 1, 23, 5, tzinfo=UTC)
NOW = PITCH - timedelta(hours=2)
FRESH = NOW - timedelta(minutes=5)
RULES = FairLineRules(method="multiplicative")


def quote(book: str, yes: int, no: int, line: float | None = None, at=FRESH) -> BookQuote:
    return BookQuote(book, yes, no, line, at)


def test_the_sharp_book_gives_the_fair_line_and_a_soft_book_is_priced_against_it() -> None:
    quotes = [quote("pinnacle", -150, 140), quote("softbook", 130, -150)]
    line = fair_line(MONEYLINE, quotes, None, NOW, PITCH, RULES)

    q_home, q_away = american_to_implied(-150), american_to_implied(140)
    assert line.source == "sharp" and line.books == ("pinnacle",)
    assert line.fair_yes == pytest.approx(q_home / (q_home + q_away))
    assert line.ages == {"pinnacle": 300.0}
    prices = book_prices(MONEYLINE, line, StakingPolicy())
    best = prices[0]
    # softbook's home +130 (decimal 2.3) against pinnacle's fair 0.5848: EV 0.345.
    assert (best.book, best.side, best.odds) == ("softbook", "home", 130)
    assert best.expected_value == pytest.approx(line.fair_yes * 2.3 - 1)
    assert best.kelly_fraction == pytest.approx(stake_fraction(line.fair_yes, 2.3, StakingPolicy()))


def test_weighted_sharp_books_and_the_flagged_consensus() -> None:
    rules = FairLineRules(method="multiplicative", sharp_books=(("pinnacle", 3.0), ("circa", 1.0)))
    sharp = fair_line(
        MONEYLINE,
        [quote("pinnacle", -110, -110), quote("circa", -150, 130)],
        None,
        NOW,
        PITCH,
        rules,
    )
    circa = fair_pair(american_to_implied(-150), american_to_implied(130), "multiplicative")[0]
    assert sharp.fair_yes == pytest.approx((3 * 0.5 + circa) / 4)

    soft = [quote("a", -110, -110), quote("b", -150, 130)]
    consensus = fair_line(MONEYLINE, soft, None, NOW, PITCH, RULES)
    assert consensus.source == "consensus"
    assert consensus.fair_yes == pytest.approx((0.5 + circa) / 2)
    # One soft book alone is no consensus.
    assert fair_line(MONEYLINE, soft[:1], None, NOW, PITCH, RULES) is None


def test_stale_late_unknown_and_wide_quotes_are_never_priced() -> None:
    stale = quote("pinnacle", -150, 140, at=NOW - timedelta(minutes=31))
    after_pitch = quote("pinnacle", -150, 140, at=PITCH + timedelta(minutes=1))
    unknown = quote("pinnacle", -150, 140, at=None)
    future = quote("pinnacle", -150, 140, at=NOW + timedelta(minutes=1))
    for bad in (stale, after_pitch, unknown, future):
        assert priced_quotes([bad], None, NOW, PITCH, RULES) == []
        assert fair_line(MONEYLINE, [bad], None, NOW, PITCH, RULES) is None
    # Too wide to give a fair line, but its prices are still priced against one.
    wide = quote("softbook", 130, -250)  # overround 0.149
    assert fair_line(MONEYLINE, [wide], None, NOW, PITCH, RULES) is None
    assert fair_line(MONEYLINE, [quote("pinnacle", -200, 120)], None, NOW, PITCH, RULES) is None
    line = fair_line(MONEYLINE, [quote("pinnacle", -150, 140), wide], None, NOW, PITCH, RULES)
    assert line.books == ("pinnacle",)
    assert book_prices(MONEYLINE, line, StakingPolicy())[0].book == "softbook"
    # At or after first pitch nothing is priced, however fresh.
    late_now = PITCH + timedelta(minutes=1)
    fresh_then = quote("pinnacle", -150, 140, at=late_now - timedelta(minutes=1))
    assert fair_line(MONEYLINE, [fresh_then], None, late_now, PITCH, RULES) is None


def test_a_line_market_prices_only_quotes_at_its_own_line() -> None:
    quotes = [quote("pinnacle", -110, -110, 8.5), quote("softbook", 105, -125, 9.0)]
    line = fair_line(TOTAL, quotes, 8.5, NOW, PITCH, RULES)
    assert [p.quote.book for p in line.priced] == ["pinnacle"]
    assert fair_line(TOTAL, quotes, 7.5, NOW, PITCH, RULES) is None


def test_the_model_is_shown_beside_the_fair_line_and_moves_nothing() -> None:
    line = fair_line(MONEYLINE, [quote("pinnacle", -110, -110)], None, NOW, PITCH, RULES, 0.7)
    assert line.model_yes == 0.7 and line.blend_weight == 0
    assert line.served(True) == pytest.approx(0.5)


def test_the_model_moves_the_served_probability_by_the_weight_it_earned() -> None:
    quotes = [quote("pinnacle", -110, -110)]
    line = fair_line(MONEYLINE, quotes, None, NOW, PITCH, RULES, 0.7, blend_weight=0.25)

    assert line.served(True) == pytest.approx(0.75 * 0.5 + 0.25 * 0.7)
    assert line.served(False) == pytest.approx(0.75 * 0.5 + 0.25 * 0.3)
    assert line.as_dict()["blend_weight"] == 0.25
    assert line.as_dict()["served_yes"] == pytest.approx(0.55)
    # Without the model's probability a weight means nothing: the fair line is served.
    alone = fair_line(MONEYLINE, quotes, None, NOW, PITCH, RULES, None, blend_weight=0.25)
    assert alone.blend_weight == 0 and alone.served(True) == pytest.approx(0.5)


def test_worst_case_prices_each_side_at_its_lowest_fair_probability() -> None:
    rules = FairLineRules(method="worst_case")
    line = fair_line(MONEYLINE, [quote("pinnacle", -200, 170)], None, NOW, PITCH, rules)
    assert line.fair_yes + line.fair_no < 1.0


def test_an_unknown_method_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="unknown de-vig method"):
        FairLineRules(method="median")


def test_arbitrage_with_both_stakes() -> None:
    # +110 at one book, +105 on the other side at another: 0.4762 + 0.4878 = 0.964 < 1.
    quotes = [quote("a", 110, -130), quote("b", -130, 105)]
    priced = priced_quotes(quotes, None, NOW, PITCH, RULES)
    arb = arbitrage(MONEYLINE, priced, None, total_stake=100.0)
    booksum = 1 / 2.1 + 1 / 2.05
    assert arb.booksum == pytest.approx(booksum)
    assert (arb.yes.book, arb.no.book) == ("a", "b")
    assert arb.stake_yes + arb.stake_no == pytest.approx(100.0)
    # Either side wins, the same payout.
    assert arb.stake_yes * 2.1 == pytest.approx(arb.payout)
    assert arb.stake_no * 2.05 == pytest.approx(arb.payout)
    assert arb.as_dict()["profit"] == pytest.approx(100 / booksum - 100)
    assert arbitrage(MONEYLINE, priced[:1], None, 100.0) is None


@given(
    st.lists(
        st.tuples(st.integers(-300, -101) | st.integers(100, 300), st.integers(-300, -101)),
        min_size=2,
        max_size=6,
    )
)
def test_an_arbitrage_returns_more_than_it_stakes_whichever_side_wins(pairs) -> None:
    quotes = [quote(f"book{i}", yes, no) for i, (yes, no) in enumerate(pairs)]
    rules = FairLineRules(method="multiplicative", max_overround=1.0)
    arb = arbitrage(MONEYLINE, priced_quotes(quotes, None, NOW, PITCH, rules), None, 100.0)
    if arb is not None:
        assert arb.booksum < 1
        assert arb.stake_yes * arb.yes.decimal == pytest.approx(arb.payout)
        assert arb.stake_no * arb.no.decimal == pytest.approx(arb.payout)
        assert arb.payout > 100.0
