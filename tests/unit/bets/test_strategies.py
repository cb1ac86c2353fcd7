"""Several strategies: what each takes against its own fair line, which bet the bankroll
carries, paper for the rest, the configuration, and what evidence proves a strategy."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from app.bets.devig import fair_pair
from app.bets.fairline import FairLineRules, fair_line
from app.bets.strategies import Evidence, Strategy, configured, served_bet, strategy_bets
from app.config import Settings, parse_strategies
from app.markets import MONEYLINE, RUN_LINE, TOTAL
from app.odds import american_to_decimal, american_to_implied
from app.staking.kelly import StakingPolicy
from app.staking.pricing import BookQuote, Staking

PITCH = datetime(2024, 6, 1, 23, 5, tzinfo=UTC)
NOW = PITCH - timedelta(hours=2)
FRESH = NOW - timedelta(minutes=5)
RULES = FairLineRules(method="additive")
STAKING = Staking(bankroll=1000.0, policy=StakingPolicy(fraction=0.25, cap=0.05), min_ev=0.02)
SETTINGS = Settings.from_env({})  # additive, min EV 0.02, Kelly 0.25, 100 bets to go live
SHIPPED = configured(SETTINGS)

# Pinnacle's home moneyline de-vigs to about 0.59; the soft book pays home +105 (EV ~ +0.2).
QUOTES = [
    BookQuote("pinnacle", -150, 135, None, FRESH),
    BookQuote("softbook", 105, -125, None, FRESH),
]


def _bets(market, quotes, strategies=SHIPPED, live=(), line_value=None):
    line = fair_line(market, quotes, line_value, NOW, PITCH, RULES)
    return strategy_bets(market, line, quotes, NOW, PITCH, RULES, strategies, live, STAKING)


def test_the_shipped_strategies_each_mean_something() -> None:
    assert list(SHIPPED) == ["fair", "conservative", "moneyline", "totals"]
    fair, conservative, moneyline, totals = SHIPPED.values()
    assert fair.method == "additive" and set(fair.markets) == {
        "home_ml",
        "total_over",
        "home_spread",
    }
    assert conservative.method == "worst_case"
    assert conservative.kelly_fraction == pytest.approx(fair.kelly_fraction / 2)
    assert moneyline.markets == (MONEYLINE.key,)
    assert set(totals.markets) == {TOTAL.key, RUN_LINE.key} and totals.min_ev >= 0.03
    assert all(s.description and s.min_bets == 100 for s in SHIPPED.values())


def test_each_strategy_prices_on_its_own_and_all_are_paper_while_they_watch() -> None:
    bets = _bets(MONEYLINE, QUOTES)
    # The totals strategy trades no moneyline; the other three take the soft book's home price.
    assert list(bets) == ["fair", "conservative", "moneyline"]
    assert all(bet["paper"] and bet["strategy"] == name for name, bet in bets.items())
    assert {(bet["book"], bet["side"], bet["odds"]) for bet in bets.values()} == {
        ("softbook", "home", 105)
    }
    q_yes, q_no = american_to_implied(-150), american_to_implied(135)
    additive = fair_pair(q_yes, q_no, "additive")[0]
    worst = fair_pair(q_yes, q_no, "worst_case")[0]
    assert worst < additive
    assert bets["fair"]["fair_probability"] == pytest.approx(additive)
    assert bets["conservative"]["fair_probability"] == pytest.approx(worst)
    assert bets["conservative"]["fair_method"] == "worst_case"
    assert bets["conservative"]["expected_value"] == pytest.approx(
        worst * american_to_decimal(105) - 1
    )
    # Half the Kelly fraction of a smaller edge: a smaller stake.
    assert bets["conservative"]["kelly_fraction"] < bets["fair"]["kelly_fraction"] / 2
    assert served_bet(bets) is bets["fair"]  # nothing live: the first strategy's, on paper


def test_the_first_live_strategy_carries_the_bankroll_and_the_others_stay_paper() -> None:
    bets = _bets(MONEYLINE, QUOTES, live={"moneyline", "conservative"})
    assert {name: bet["paper"] for name, bet in bets.items()} == {
        "fair": True,
        "conservative": False,  # first live in the configured order
        "moneyline": True,  # live, but the market already has its bankroll bet
    }
    assert served_bet(bets) is bets["conservative"]


def test_min_ev_books_and_markets_decide_what_a_strategy_takes() -> None:
    # A price 3% over the fair line: fair (2%) takes it; the conservative (3%, worst case) not.
    slight = [
        BookQuote("pinnacle", -110, -110, None, FRESH),
        BookQuote("softbook", 106, -125, None, FRESH),
    ]
    bets = _bets(MONEYLINE, slight)
    assert bets["fair"]["expected_value"] == pytest.approx(0.5 * 2.06 - 1)
    assert "fair" in bets and "conservative" not in bets
    circa_only = {"circa": Strategy("circa", "additive", 0.02, 0.25, books=("circa",))}
    assert _bets(MONEYLINE, QUOTES, strategies=circa_only) == {}
    totals = [
        BookQuote("pinnacle", -110, -110, 8.5, FRESH),
        BookQuote("softbook", 110, -130, 8.5, FRESH),
    ]
    bets = _bets(TOTAL, totals, line_value=8.5)
    assert set(bets) == {"fair", "conservative", "totals"}  # the moneyline strategy: not its market
    assert bets["totals"]["line"] == 8.5


def test_strategies_from_the_setting_take_the_settings_defaults() -> None:
    raw = (
        '[{"name": "ml-circa", "markets": ["home_ml"], "books": ["circa"], "min_ev": 0.04},'
        ' {"name": "shin-all", "method": "shin", "kelly_fraction": 0.1, "min_bets": 50}]'
    )
    settings = replace(Settings.from_env({"BULLPEN_STRATEGIES": raw}), devig="power")
    strategies = configured(settings)
    assert list(strategies) == ["ml-circa", "shin-all"]
    circa, shin = strategies.values()
    assert (circa.method, circa.books, circa.markets, circa.min_ev) == (
        "power", ("circa",), ("home_ml",), 0.04,
    )  # fmt: skip
    assert (circa.kelly_fraction, circa.min_bets) == (settings.kelly_fraction, 100)
    assert (shin.method, shin.kelly_fraction, shin.min_bets) == ("shin", 0.1, 50)
    assert len(shin.markets) == 3 and shin.books == ()
    assert Settings.from_env({"BULLPEN_STRATEGIES": raw}).as_env()["BULLPEN_STRATEGIES"]
    assert parse_strategies(" ") == ()


@pytest.mark.parametrize(
    "raw",
    [
        "{not json",
        '{"name": "fair"}',
        '[{"method": "additive"}]',
    ],
)
def test_a_malformed_setting_is_refused(raw: str) -> None:
    with pytest.raises(ValueError, match="BULLPEN_STRATEGIES"):
        parse_strategies(raw)


@pytest.mark.parametrize(
    "entry",
    [
        '{"name": "a", "method": "vibes"}',
        '{"name": "a", "markets": ["home_ml", "props"]}',
        '{"name": "Bad Name"}',
        '{"name": "a", "kelly_fraction": 0}',
        '{"name": "a", "min_ev": "lots"}',
        '{"name": "a", "stake": 5}',
    ],
)
def test_a_bad_strategy_is_refused_by_name(entry: str) -> None:
    settings = replace(SETTINGS, strategies=parse_strategies(f"[{entry}]"))
    with pytest.raises(ValueError):
        configured(settings)


def test_two_strategies_may_not_share_a_name() -> None:
    settings = replace(SETTINGS, strategies=parse_strategies('[{"name": "a"}, {"name": "a"}]'))
    with pytest.raises(ValueError, match="share a name"):
        configured(settings)


def test_evidence_proves_only_with_enough_bets_a_positive_mean_and_t_of_two() -> None:
    def proof(n, mean, t):
        return Evidence(n=n, mean_clv=mean, clv_t=t, paper_bets=n, live_bets=0, roi=None)

    assert proof(100, 0.01, 2.0).proves(100)
    assert not proof(99, 0.01, 3.0).proves(100)
    assert not proof(150, 0.01, 1.9).proves(100)
    assert not proof(150, -0.01, 2.5).proves(100)
    assert not proof(150, None, None).proves(100)


MISSPELT = '[{"name": "fair", "method": "multiplcative"}]'


def test_a_misspelt_strategy_stops_every_process_at_start(monkeypatch) -> None:
    from click.testing import CliRunner

    from app import create_app
    from app.cli import main
    from workers.celery_app import make_celery

    settings = replace(
        SETTINGS,
        strategies=parse_strategies(MISSPELT),
        database_url="postgresql+psycopg://nowhere/none",
        broker_url="redis://nowhere:1/0",
    )
    with pytest.raises(ValueError, match="multiplcative"):
        make_celery(settings)  # the workers and the beat
    with pytest.raises(ValueError, match="multiplcative"):
        create_app(settings, queue=None)  # the API
    for variable, value in settings.as_env().items():
        if value is not None:
            monkeypatch.setenv(variable, value)
    result = CliRunner().invoke(main, ["worker"])  # every command: one clear line, status 1
    assert result.exit_code == 1, result.output
    assert "unknown de-vig method 'multiplcative'" in result.output
    assert "Traceback" not in result.output
