"""`bullpen replay` of four days of 2016 with two books: Pinnacle's every line change (the
sharp book) and the SBRO archive's prices. Every served bet is recomputed here from the files
themselves, read with pandas and this file's own arithmetic: its fair probability from
Pinnacle's line standing at the decision, de-vigged additively; its EV at the archive's price
the API shows; its CLV from Pinnacle's last line before first pitch. Trained on 2014-2015 to
keep it short."""

from datetime import date, datetime, timedelta

import pandas as pd
import pytest
import requests

from app.ingest.teams import canonical_from_team_name
from tests.integration.replay.harness import running_replay
from tests.shared_data import SHARED_DATA, needs_shared_data

pytestmark = [pytest.mark.replay, needs_shared_data]

FIRST, LAST = date(2016, 4, 3), date(2016, 4, 6)
# The 2016 file's event times run 3 hours late (../shared/data/README.md).
EVENT_TIME_LATE = timedelta(hours=3)
MIN_EV = 0.02  # the shipped BULLPEN_MIN_EV
# The shipped strategies that ask more (app/bets/strategies.py).
STRATEGY_MIN_EV = {"conservative": 0.03, "totals": 0.03}
LAST_SEEN = timedelta(seconds=1)  # app.replay.provider.LAST_SEEN_BEFORE_START


def _implied(price: float) -> float:
    return 100 / (price + 100) if price > 0 else -price / (-price + 100)


def _additive(price_side: float, price_other: float) -> float:
    q_side, q_other = _implied(price_side), _implied(price_other)
    return q_side - (q_side + q_other - 1) / 2


def _decimal(price: float) -> float:
    return 1 + (price / 100 if price > 0 else 100 / -price)


@pytest.fixture(scope="module")
def replay() -> dict:
    with running_replay(SHARED_DATA, FIRST, LAST, seasons=(2014, 2015, 2016)) as run:
        api = run["api"]
        bets, page = [], 1
        while True:
            batch = requests.get(
                f"{api}/api/v1/bets", params={"page": page, "page_size": 100}, timeout=60
            )
            batch.raise_for_status()
            bets += batch.json()
            if len(batch.json()) < 100:
                break
            page += 1
        games = {}
        for offset in range((LAST - FIRST).days + 1):
            day = (FIRST + timedelta(days=offset)).isoformat()
            for game in requests.get(
                f"{api}/api/v1/games", params={"date": day}, timeout=60
            ).json():
                games[game["id"]] = game
        yield {"report": run["report"], "bets": bets, "games": games}


@pytest.fixture(scope="module")
def pinnacle() -> tuple[pd.DataFrame, pd.DataFrame]:
    folder = SHARED_DATA / "pinnacle"
    games = pd.read_csv(folder / "MLB2016_games.csv")
    games["start"] = pd.to_datetime(games["EventDateTimeEst"], utc=True) - EVENT_TIME_LATE
    games["home"] = games["HomeTeam"].map(canonical_from_team_name)
    games["away"] = games["AwayTeam"].map(canonical_from_team_name)
    lines = pd.read_csv(folder / "MLB2016_lines.csv.gz")
    lines["at"] = pd.to_datetime(lines["EnteredDateTime"], utc=True, format="ISO8601")
    return games, lines.sort_values("at")


def _quote(line: pd.Series, market: str, side: str) -> tuple[float, float, float | None] | None:
    """(price of the side, price of the other side, the home line or total) of a line row."""
    if market == "home_ml":
        pair = (line["MoneyUS2"], line["MoneyUS1"])
        point = None
    elif market == "total_over":
        pair, point = (line["TotalUSOver"], line["TotalUSUnder"]), line["TotalPoints"]
    else:
        pair, point = (line["SpreadUS2"], line["SpreadUS1"]), -line["SpreadTeam1"]
    if any(pd.isna(value) for value in pair) or (point is not None and pd.isna(point)):
        return None
    yes = side in ("home", "over")
    return (pair[0], pair[1], point) if yes else (pair[1], pair[0], point)


def test_bets_are_served_graded_once_and_the_strategy_watches(replay) -> None:
    report, bets = replay["report"], replay["bets"]
    served = [bet for bet in bets if bet["prediction_id"] is not None]
    assert len(served) == report["betting"]["bets"] > 0
    assert all(bet["status"] != "open" and bet["settled_at"] for bet in served)
    assert report["graded"] == report["bets"] == len(served)
    assert len({(b["game_id"], b["market"], b["book"], b["strategy"]) for b in served}) == len(
        served
    )
    assert report["betting"]["clv_bets"] > 0 and report["betting"]["clv_interval"] is not None
    assert report["strategies"]["fair"]["state"] == "watch"  # fewer than 100 settled bets


def test_each_bets_ev_and_clv_recomputed_from_the_files(replay, pinnacle) -> None:
    pin_games, lines = pinnacle
    served = [bet for bet in replay["bets"] if bet["prediction_id"] is not None]
    checked = 0
    for bet in served:
        game = replay["games"][bet["game_id"]]
        matches = pin_games[
            (pin_games["home"] == game["home_team"])
            & (pin_games["away"] == game["away_team"])
            & (pin_games["start"].dt.tz_convert("America/New_York").dt.date.astype(str)
               == game["game_date"])
        ]  # fmt: skip
        assert len(matches) == 1, (game, bet)
        (row,) = matches.itertuples()
        history = lines[lines["game_idx"] == row.game_idx]
        placed = pd.Timestamp(datetime.fromisoformat(bet["placed_at"]))
        standing = history[history["at"] <= placed].iloc[-1]
        quote = _quote(standing, bet["market"], bet["side"])
        assert quote is not None, bet
        fair = _additive(quote[0], quote[1])
        if bet["strategy"] == "conservative":
            # The worst case over the de-vig methods: never above the additive one.
            assert bet["fair_probability"] <= fair + 1e-12, bet
            fair = bet["fair_probability"]
        else:
            assert bet["fair_probability"] == pytest.approx(fair, abs=1e-9), bet
        # Every bet is at the archive's book: Pinnacle's price never beats its own fair line.
        assert bet["book"] == "sbro", bet
        min_ev = STRATEGY_MIN_EV.get(bet["strategy"], MIN_EV)
        assert fair * _decimal(bet["odds"]) - 1 >= min_ev - 1e-12, bet
        # CLV against Pinnacle's close: its last line before first pitch (up to the second the
        # provider last shows pre-game prices), at the bet's line.
        before = history[history["at"] <= row.start - LAST_SEEN]
        close = _quote(before.iloc[-1], bet["market"], bet["side"])
        if close is None:
            continue  # the last line took the market off: the close is an earlier pull's
        if bet["line"] is not None and close[2] != bet["line"]:
            assert bet["sharp_clv"] is None and bet["sharp_close_note"], bet
            continue
        expected = _additive(close[0], close[1]) - _implied(bet["odds"])
        assert bet["sharp_clv"] == pytest.approx(expected, abs=1e-9), bet
        checked += 1
    assert checked > 0
