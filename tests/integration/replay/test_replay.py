"""`bullpen replay` end to end on the shipped sample: train on 2018, replay a week of 2019.

The command runs in its own process with ``--keep``, on a stack of its own (its own
PostgreSQL, Redis, API and workers); the test reads the replay's API while it is up, checks
what the replay did against what the API stored, recomputes the live metrics from the
API's own predictions and the finals, then stops it with SIGINT.

The replay is the session's one replayed week (``replayed_week``, shared with the page tests,
which add a bettor's own bets to it: the checks here read the bets the replay served, those
with a prediction). The calibration gate is opened through the ordinary settings
(``BULLPEN_MAX_ECE=1``) so that the champion may price-shop. With the provider's one bookmaker
it still serves no bet: the models sit on the market, and no side has a positive expected
value at one book's vigged price. The ledger checks hold for whatever is served (settlement
grading exactly once is tested with served bets in tests/integration/bets).
"""

import math
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
import requests

from tests.integration.replay.harness import FIRST, LAST

pytestmark = pytest.mark.replay
CONTRACT_KEYS = {
    "season", "from", "to", "days", "games", "predictions", "bets", "graded", "targets", "betting",
    "strategies",
}  # fmt: skip
BETTING_KEYS = {
    "bets", "paper_bets", "roi", "roi_interval", "mean_clv", "clv_t", "clv_interval",
    "arbitrages", "max_drawdown", "final_bankroll",
}  # fmt: skip
METRIC_KEYS = {"log_loss", "brier", "auc", "accuracy", "ece", "n"}


@pytest.fixture
def replay_run(replayed_week: dict) -> dict:
    return replayed_week


def _get(api: str, path: str, **params) -> dict | list:
    response = requests.get(f"{api}{path}", params=params, timeout=30)
    response.raise_for_status()
    return response.json()


def _served_bets(api: str) -> list[dict]:
    """The bets the replay served (a bettor's own bets, which the page tests add, have no
    prediction)."""
    bets, page = [], 1
    while True:
        batch = _get(api, "/api/v1/bets", page=page, page_size=100)
        bets += [bet for bet in batch if bet["prediction_id"] is not None]
        if len(batch) < 100:
            return bets
        page += 1


def _days() -> list[date]:
    return [FIRST + timedelta(days=n) for n in range((LAST - FIRST).days + 1)]


def _predictions(api: str, report: dict) -> list[dict]:
    predictions = []
    for day in report["days_detail"]:
        body = _get(api, f"/api/v1/jobs/{day['job_id']}/results", page_size=1000)
        items = body["items"] if isinstance(body, dict) else body
        predictions += [{**item, "_day": day["date"]} for item in items]
    return predictions


def test_json_has_the_contract_keys(replay_run: dict) -> None:
    report = replay_run["report"]
    assert report.keys() >= CONTRACT_KEYS
    assert report["betting"].keys() >= BETTING_KEYS
    # One book: nothing gives a fair line, so no strategy serves anything; all stay on watch.
    assert list(report["strategies"]) == ["fair", "conservative", "moneyline", "totals"]
    assert all(s["state"] == "watch" and s["bets"] == 0 for s in report["strategies"].values())
    assert set(report["targets"]) == {"moneyline", "total_over", "home_spread"}
    for target, values in report["targets"].items():
        assert {"model", "market_open", "market_close"} <= values.keys()
        assert values["model"].keys() >= METRIC_KEYS, target
        assert values["market_close"].keys() >= METRIC_KEYS, target
    assert report["targets"]["moneyline"]["market_open"] is not None
    assert report["season"] == 2019
    assert (report["from"], report["to"]) == (FIRST.isoformat(), LAST.isoformat())
    assert (replay_run["root"] / "replay.png").read_bytes().startswith(b"\x89PNG")


def test_every_game_predicted_exactly_once(replay_run: dict) -> None:
    api, report = replay_run["api"], replay_run["report"]
    games = {
        g["id"]: g for day in _days() for g in _get(api, "/api/v1/games", date=day.isoformat())
    }
    assert games and len(games) == report["games"]
    jobs = [day["job_id"] for day in report["days_detail"]]
    assert len(jobs) == len(set(jobs)) == report["days"]  # one prediction job a day
    counts = Counter(p["game_id"] for p in _predictions(api, report))
    assert set(counts) == set(games)
    assert set(counts.values()) == {1}
    assert report["predictions"] == len(games)


def test_every_bet_graded_exactly_once(replay_run: dict) -> None:
    api, report = replay_run["api"], replay_run["report"]
    bets = _served_bets(api)
    assert len(bets) == report["bets"] == report["graded"]
    assert len({b["bet_id"] for b in bets}) == len(bets)
    assert len({(b["prediction_id"], b["market"]) for b in bets}) == len(bets)
    assert all(b["status"] in ("won", "lost", "push", "void") for b in bets)
    assert all(b["settled_at"] is not None for b in bets)
    assert sum(day["graded"] for day in report["days_detail"]) == len(bets)  # once each


def test_no_prediction_after_its_days_finals_were_visible(replay_run: dict) -> None:
    api, report = replay_run["api"], replay_run["report"]
    for day in report["days_detail"]:
        shown = datetime.fromisoformat(day["finals_first_shown_at"])  # wall clock
        job = _get(api, f"/api/v1/jobs/{day['job_id']}")
        assert datetime.fromisoformat(job["finished_at"]) < shown, day
    finals_clock = {day["date"]: day["finals_clock"] for day in report["days_detail"]}
    for prediction in _predictions(api, report):
        made = datetime.fromisoformat(prediction["prediction_timestamp"])
        assert made < datetime.fromisoformat(finals_clock[prediction["_day"]])
        assert made.date().isoformat() == prediction["_day"]  # the morning of its own day


def _american_implied(price: float) -> float:
    return 100 / (price + 100) if price > 0 else -price / (-price + 100)


def _devig(yes: float | None, no: float | None) -> float | None:
    if yes is None or no is None:
        return None
    a, b = _american_implied(yes), _american_implied(no)
    return a / (a + b)


def _log_loss(pairs: list[tuple[float, float]]) -> float:
    return sum(-(y * math.log(p) + (1 - y) * math.log(1 - p)) for y, p in pairs) / len(pairs)


def _label(home: int, away: int, target: str, line: float | None) -> float | None:
    if target == "moneyline":
        return None if home == away else float(home > away)
    if line is None:
        return None
    if target == "total_over":
        runs = home + away
        return None if runs == line else float(runs > line)
    margin = home + line
    return None if margin == away else float(margin > away)


QUOTES = {  # target -> moment -> (yes price, no price, line)
    "moneyline": {"open": ("home_ml_open", "away_ml_open", None),
                  "close": ("home_ml_close", "away_ml_close", None)},
    "total_over": {"open": ("over_open", "under_open", "total_open"),
                   "close": ("over_close", "under_close", "total_close")},
    "home_spread": {"close": ("home_rl_price", "away_rl_price", "home_rl")},
}  # fmt: skip
MODEL_LINE = {"moneyline": None, "total_over": "total_open", "home_spread": "home_rl"}
PREFIX = {"moneyline": "home_ml", "total_over": "total_over", "home_spread": "home_spread"}


def test_live_metrics_equal_an_independent_recomputation(replay_run: dict) -> None:
    api, report = replay_run["api"], replay_run["report"]
    games = {
        g["id"]: g for day in _days() for g in _get(api, "/api/v1/games", date=day.isoformat())
    }
    predictions = {p["game_id"]: p for p in _predictions(api, report)}
    for target, quotes in QUOTES.items():
        model, market = [], {moment: [] for moment in quotes}
        for game_id, game in games.items():
            (odds,) = [o for o in game["odds"] if o["book"] == "feed"]
            home, away = game["home_score"], game["away_score"]
            line = odds[MODEL_LINE[target]] if MODEL_LINE[target] else None
            y = _label(home, away, target, line)
            graded = {}
            for moment, (yes, no, line_column) in quotes.items():
                at_line = odds[line_column] if line_column else None
                graded[moment] = (
                    _label(home, away, target, at_line),
                    _devig(odds[yes], odds[no]),
                )
            if y is None or any(v[0] is None or v[1] is None for v in graded.values()):
                continue
            model.append((y, predictions[game_id][f"{PREFIX[target]}_probability"]))
            for moment, pair in graded.items():
                market[moment].append(pair)
        live = report["targets"][target]
        assert live["model"]["n"] == len(model) > 0, target
        assert live["model"]["log_loss"] == pytest.approx(_log_loss(model), abs=1e-9), target
        for moment, pairs in market.items():
            assert live[f"market_{moment}"]["log_loss"] == pytest.approx(
                _log_loss(pairs), abs=1e-9
            ), (target, moment)
    # The betting summary is the ledger's served bets (paper or not): profit over stakes of
    # the graded bets.
    bets = _served_bets(api)
    action = [b for b in bets if b["status"] in ("won", "lost", "push")]
    staked = sum(b["stake"] for b in action)
    profit = sum(b["profit"] or 0 for b in bets)
    assert report["betting"]["bets"] == len(bets)
    assert report["betting"]["action"] == len(action)
    if staked:
        assert report["betting"]["roi"] == pytest.approx(profit / staked, abs=1e-9)
    else:
        assert report["betting"]["roi"] is None
    start = report["betting"]["initial_bankroll"]
    assert report["betting"]["final_bankroll"] == pytest.approx(start + profit, abs=1e-6)
