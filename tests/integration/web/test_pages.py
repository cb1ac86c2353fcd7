"""The bettor's pages in a real browser, against the API's JSON for the same things.

Numbers are compared as a person reads them: the text of the page, at the precision the
page writes (probabilities to 0.1%, money to cents, log loss to 5 decimals).
"""

import json
import re
from datetime import timedelta

import pytest
import requests

from app.odds import american_to_decimal
from tests.integration.web.conftest import FIRST, LAST, get_json

pytestmark = pytest.mark.integration

MARKETS = ("home_ml", "total_over", "home_spread")
DASH = "—"
EN_DASH = "\u2013"  # between the teams of a score, and in a won-lost-push record
# The API's odds columns quoting each side of each market (open and close).
SIDE_PRICES = {
    ("home_ml", "home"): ("home_ml_open", "home_ml_close"),
    ("home_ml", "away"): ("away_ml_open", "away_ml_close"),
    ("total_over", "over"): ("over_open", "over_close"),
    ("total_over", "under"): ("under_open", "under_close"),
    ("home_spread", "home"): ("home_rl_price",),
    ("home_spread", "away"): ("away_rl_price",),
}


def pct(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{100 * value:.{digits}f}%"


def signed_pct(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{100 * value:+.{digits}f}%"


def money(value: float | None) -> str:
    return DASH if value is None else f"{value:,.2f}"


def fixed(value: float | None, digits: int) -> str:
    return DASH if value is None else f"{value:.{digits}f}"


def text(scope, field: str) -> str:
    """The text of the one element of ``scope`` with ``data-field=field``."""
    return scope.locator(f'[data-field="{field}"]').inner_text().strip()


def all_bets(api: str, **filters) -> tuple[list[dict], int]:
    """The first page of 50 bets matching ``filters``, and how many match."""
    response = requests.get(f"{api}/api/v1/bets", params={**filters, "page_size": 50}, timeout=30)
    response.raise_for_status()
    return response.json(), json.loads(response.headers["X-Pagination"])["total"]


def test_the_slate_shows_every_game_of_the_day_as_the_api_serves_it(visit, stack):
    api = stack["api"]
    visit.goto("/")
    page = visit.page
    day = page.locator("h1 time").get_attribute("datetime")
    assert day == LAST.isoformat()  # today is the replay clock's day: the week's last
    previous = (LAST - timedelta(days=1)).isoformat()
    assert page.locator("a[rel=prev]").get_attribute("href") == f"/?date={previous}"
    assert page.locator("a[rel=next]").count() == 0  # nothing of a later date is stored yet
    games = get_json(api, "/api/v1/games", date=day)
    assert games and page.locator("section.game").count() == len(games)
    priced = 0
    for game in games:
        section = page.locator(f'section.game[data-game-id="{game["id"]}"]')
        assert (
            section.locator("h2")
            .inner_text()
            .startswith(f"{game['away_team']} at {game['home_team']}")
        )
        facts = section.locator("dl.facts")
        pitchers = f"{game['away_pitcher'] or 'TBD'} vs {game['home_pitcher'] or 'TBD'}"
        assert text(facts, "pitchers") == pitchers
        assert text(facts, "status") == "final"
        assert text(facts, "score") == (
            f"{game['away_team']} {game['away_score']} {EN_DASH} "
            f"{game['home_team']} {game['home_score']}"
        )
        prediction = get_json(api, f"/api/v1/predict/{game['id']}")
        assert text(facts, "risk_level") == prediction["risk_level"]
        for market in MARKETS:
            row = section.locator(f'tr[data-market="{market}"]')
            probability = prediction[f"{market}_probability"]
            assert text(row, "probability") == pct(probability)
            assert text(row, "market_probability") == pct(
                prediction[f"{market}_market_probability"]
            )
            assert text(row, "edge") == signed_pct(prediction[f"{market}_edge"])
            served = prediction["betting_recommendations"].get(market)
            assert text(row, "stake") == (
                money(served["recommended_bet_size"]) if served else "not served"
            )
            if not served:
                assert text(row, "risk_level") == "none"
            offer = text(row, "odds")
            if offer == DASH:
                continue
            side, price = offer.split()
            quoted = {
                odds[column]
                for odds in game["odds"]
                for column in SIDE_PRICES[(market, side)]
                if odds[column] is not None
            }
            assert int(price) in quoted, (game["id"], market, offer, quoted)
            side_probability = probability if side in ("home", "over") else 1 - probability
            expected_value = side_probability * american_to_decimal(int(price)) - 1
            assert text(row, "expected_value") == signed_pct(expected_value)
            priced += 1
    assert priced >= len(games)  # at least the moneyline of every game has a price
    visit.screenshot("slate")


def test_the_slate_lists_each_games_graded_bets_like_the_ledger(visit, stack):
    day = FIRST.isoformat()
    bets, total = all_bets(stack["api"], date=day)
    assert total > 0
    page = visit.page
    visit.goto("/")
    page.fill("#date", day)
    with page.expect_navigation():
        page.click("form.datepick button[type=submit]")
    assert page.locator("h1 time").get_attribute("datetime") == day
    for bet in bets:
        row = page.locator(
            f'section.game[data-game-id="{bet["game_id"]}"] tr[data-bet-id="{bet["bet_id"]}"]'
        )
        assert text(row, "status") == bet["status"] != "open"
        assert text(row, "profit") == money(bet["profit"])
        assert text(row, "stake") == money(bet["stake"])
    visit.screenshot("slate-graded")


def test_a_game_page_has_its_line_history_explanation_and_features(visit, stack):
    api = stack["api"]
    page = visit.page
    visit.goto(f"/?date={LAST.isoformat()}")
    link = page.locator("section.game h2 a").first
    game_id = int(link.get_attribute("href").rsplit("/", 1)[1])
    with page.expect_navigation():
        link.click()
    assert page.locator("h1").get_attribute("data-game-id") == str(game_id)

    chart = page.locator("section[aria-labelledby=lines] svg[role=img]")
    assert "home win probability" in chart.get_attribute("aria-label")
    assert "home win probability" in chart.locator("title").text_content()
    assert chart.locator("text").filter(has_text="captured at (UTC)").count() == 1

    prediction = get_json(api, f"/api/v1/predict/{game_id}")
    rows = page.locator("table.explanation tbody tr")
    assert rows.count() == len(prediction["explanation"]) > 0
    for index, item in enumerate(prediction["explanation"]):
        cells = rows.nth(index).locator("td").all_inner_texts()
        assert cells == [item["feature"], fixed(item["value"], 3), fixed(item["contribution"], 4)]

    features = get_json(api, f"/api/v1/features/{game_id}")
    shown = page.locator("dl.features > div")
    assert shown.count() == len(features["values"])
    for name, value in features["values"].items():
        cell = page.locator(f'dl.features [data-feature="{name}"] [data-field="value"]')
        assert cell.inner_text() == ("missing" if value is None else fixed(value, 4)), name

    bets, _ = all_bets(api, date=LAST.isoformat())
    for bet in (b for b in bets if b["game_id"] == game_id):
        row = page.locator(f'tr[data-bet-id="{bet["bet_id"]}"]')
        assert text(row, "clv") == signed_pct(bet["clv"], 2)
        assert text(row, "closing_odds") == (
            DASH if bet["closing_odds"] is None else f"{bet['closing_odds']:+d}"
        )
    visit.screenshot("game")


def test_the_ledger_and_bankroll_are_the_apis(visit, stack):
    api = stack["api"]
    page = visit.page
    visit.goto("/bets")
    summary = get_json(api, "/api/v1/bankroll")["summary"]
    box = page.locator("#bankroll-summary")
    assert summary["bets"] == stack["ledger_bets"]
    assert text(box, "final_bankroll") == money(summary["final_bankroll"])
    assert text(box, "initial_bankroll") == money(summary["initial_bankroll"])
    assert text(box, "bets") == str(summary["bets"])
    assert text(box, "record") == EN_DASH.join(str(summary[key]) for key in ("won", "lost", "push"))
    assert text(box, "staked") == money(summary["staked"])
    assert text(box, "profit") == money(summary["profit"])
    assert text(box, "roi") == signed_pct(summary["roi"], 2)
    assert text(box, "hit_rate") == pct(summary["hit_rate"])
    assert text(box, "max_drawdown") == pct(summary["max_drawdown"], 2)
    assert summary["mean_clv"] is not None
    assert text(box, "mean_clv") == signed_pct(summary["mean_clv"], 2)
    chart = page.locator("section[aria-labelledby=bankroll] svg[role=img]")
    assert chart.get_attribute("aria-label") == "Bankroll by settlement date"
    assert chart.locator("text").filter(has_text="settlement date").count() >= 1

    bets, total = all_bets(api)
    assert page.locator("#bet-count [data-field=total]").inner_text() == str(total)
    assert page.locator("table.bets tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.betId)"
    ) == [bet["bet_id"] for bet in bets]
    visit.screenshot("ledger")

    # Every strategy, its state and its evidence, as the API shows them.
    strategies = get_json(api, "/api/v1/strategies")
    rows = page.locator("#strategy-table tbody tr")
    assert rows.evaluate_all("rows => rows.map(row => row.dataset.strategy)") == [
        entry["name"] for entry in strategies
    ]
    assert len(strategies) > 1
    for entry, row in zip(strategies, rows.all(), strict=True):
        assert text(row, "state").split(" ")[0] == entry["state"]

    # The CLV report, by market, book and strategy, is the API's.
    for group in ("market", "book", "strategy"):
        groups = get_json(api, "/api/v1/bets/clv", group_by=group)["groups"]
        rows = page.locator(f"#clv-{group} tbody tr[data-group]")
        assert rows.count() == len(groups) > 0, group
        for entry, row in zip(groups, rows.all(), strict=True):
            assert row.get_attribute("data-group") == (entry[group] or "")
            assert text(row, "n") == str(entry["n"])
            assert text(row, "mean_clv") == signed_pct(entry["mean_clv"], 2)
            assert text(row, "beat_rate") == pct(entry["beat_rate"])
            assert text(row, "t") == fixed(entry["t"], 2)
            assert text(row, "sharp_n") == str(entry["sharp"]["n"])
            assert text(row, "sharp_mean_clv") == signed_pct(entry["sharp"]["mean_clv"], 2)
    page.locator("#clv").scroll_into_view_if_needed()
    visit.screenshot("ledger-clv")

    page.select_option("#f-market", "home_ml")
    page.select_option("#f-status", "won")
    page.fill("#f-date", "2019-04-03")
    with page.expect_navigation():
        page.click("form.filters button[type=submit]")
    bets, total = all_bets(api, market="home_ml", status="won", date="2019-04-03")
    assert page.locator("#bet-count [data-field=total]").inner_text() == str(total)
    assert page.locator("table.bets tbody tr").evaluate_all(
        "rows => rows.map(row => row.dataset.betId)"
    ) == [bet["bet_id"] for bet in bets]
    for row in page.locator("table.bets tbody tr").all():
        assert (text(row, "market"), text(row, "status")) == ("home_ml", "won")
    visit.screenshot("ledger-filtered")


def test_the_models_page_shows_champions_and_the_model_against_the_market(visit, stack):
    api = stack["api"]
    page = visit.page
    visit.goto("/models")
    for target in ("moneyline", "total_over", "home_spread"):
        name = f"bullpen-{target}"
        section = page.locator(f'section.target[data-target="{target}"]')
        model = get_json(api, f"/api/v1/models/{name}")
        champion = str(model["aliases"]["champion"])
        version = next(v for v in model["versions"] if v["version"] == champion)
        row = section.locator(f'table.versions tr[data-version="{champion}"]')
        assert "champion" in text(row, "aliases")
        assert text(row, "promotion_decision") == version["promotion_decision"]

        live = get_json(api, f"/api/v1/models/{name}/performance", source="live")["live"]
        assert live["n"] > 0
        for series in ("model", "market_open", "market_close"):
            metrics = live[series]
            shown = section.locator(f'table.live tr[data-series="{series}"]')
            assert text(shown, "log_loss") == fixed(metrics and metrics["log_loss"], 5)
            assert text(shown, "brier") == fixed(metrics and metrics["brier"], 4)
            assert text(shown, "n") == (str(int(metrics["n"])) if metrics else DASH)
        chart = section.locator("svg[role=img]")
        assert "live calibration" in chart.get_attribute("aria-label")

        recorded = get_json(api, f"/api/v1/models/{name}/performance", source="backtest")
        runs = recorded["backtests"] + recorded["evaluations"]
        assert runs  # the fixture evaluated every champion
        for run in runs:
            shown = section.locator(f'table.backtest tr[data-run-id="{run["run_id"]}"]')
            for field in ("model_log_loss", "market_open_log_loss", "market_close_log_loss"):
                assert text(shown, field) == fixed(run["metrics"].get(f"eval_{field}"), 5)
    visit.screenshot("models")


@pytest.mark.parametrize(
    ("path", "status", "message"),
    [
        ("/?date=2019-02-30", 400, "'date' must be a date as YYYY-MM-DD"),
        ("/games/99999999", 404, "no game 99999999"),
        ("/games/abc", 404, "a game id is a positive whole number"),
        ("/games/99999999999", 404, "a game id is a positive whole number"),
        ("/games/%C2%B2", 404, "a game id is a positive whole number"),
        ("/bets?market=parlay", 400, "'market' must be one of"),
        ("/bets?page=0", 400, "'page' must be a whole number"),
        ("/bets?page=%C2%B2", 400, "'page' must be a whole number"),
        ("/bets?date=yesterday", 400, "'date' must be a date"),
    ],
)
def test_bad_input_gets_a_page_saying_what_was_wrong(visit, stack, path, status, message):
    response = visit.goto(path, status=status)
    assert response.headers["content-type"].startswith("text/html")
    assert message in visit.page.locator(".error[role=alert]").inner_text()
    if path.startswith("/games/abc"):
        visit.screenshot("error-404")


def test_the_swagger_ui_renders_every_operation_offline(visit, stack):
    spec = get_json(stack["api"], "/api/v1/openapi.json")
    operations = sum(
        method in ("get", "post", "put", "patch", "delete")
        for path in spec["paths"].values()
        for method in path
    )
    visit.goto("/api/v1/docs")
    page = visit.page
    page.wait_for_selector(".opblock .opblock-summary-path")
    assert page.locator(".opblock").count() == operations
    assert page.get_by_text(re.compile(r"^/api/v1/bankroll$")).count() == 1
    visit.screenshot("swagger-ui")
