"""core v3 families: hand-computed values, a naive reference, and point-in-time leakage tests."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.features.definitions import FEATURE_SET, model_features
from app.features.families.form import CARRY_TEAM_FACTOR
from app.features.families.h2h import CARRY_H2H_FACTOR
from app.features.families.starters import CARRY_PITCHER_FACTOR
from app.features.pipeline import build_features
from tests.unit.features.naive_reference import naive_features

TEAMS = ("NYA", "BOS", "TOR")
PITCHERS = ("p1", "p2", "p3", None)
DAY0 = dt.datetime(2016, 5, 1)


def frame(rows: list[dict]) -> pd.DataFrame:
    columns = [
        "game_id", "game_date", "game_number", "start_time", "home_team", "away_team",
        "home_score", "away_score", "day_night", "home_pitcher_id", "away_pitcher_id",
        "winning_pitcher_id", "home_ml_open", "away_ml_open", "total_open", "over_open",
        "under_open", "home_rl",
    ]  # fmt: skip
    games = pd.DataFrame(rows, columns=columns)
    games["game_date"] = pd.to_datetime(games["game_date"])
    games["start_time"] = pd.to_datetime(games["start_time"])
    return games


def game(game_id: int, day: int, home: str, away: str, score=(None, None), **extra) -> dict:
    return {
        "game_id": game_id,
        "game_date": DAY0 + dt.timedelta(days=day),
        "game_number": 0,
        "home_team": home,
        "away_team": away,
        "home_score": score[0],
        "away_score": score[1],
        **extra,
    }


def snapshot(game_id: int, at: dt.datetime, home_ml, away_ml, total=None, book="pinnacle"):
    return {
        "game_id": game_id, "book": book, "captured_at": at, "home_ml": home_ml,
        "away_ml": away_ml, "total": total, "over_price": -110 if total else None,
        "under_price": -110 if total else None, "home_rl": -1.5, "home_rl_price": 150,
        "away_rl_price": -170,
    }  # fmt: skip


def split(game_id: int, at: dt.datetime, market: str, side: str, bets: float, money: float):
    return {
        "game_id": game_id, "source": "test", "captured_at": at, "market": market,
        "side": side, "bets_pct": bets, "money_pct": money,
    }  # fmt: skip


def test_hand_computed_team_temporal_h2h_and_pitcher_features() -> None:
    history = frame(
        [
            game(
                1,
                0,
                "NYA",
                "BOS",
                (5, 1),
                home_pitcher_id="p1",
                away_pitcher_id="q1",
                winning_pitcher_id="p1",
            ),
            game(
                2,
                1,
                "NYA",
                "BOS",
                (2, 3),
                home_pitcher_id="p2",
                away_pitcher_id="q2",
                winning_pitcher_id="r2",
            ),
            game(
                3,
                2,
                "BOS",
                "NYA",
                (0, 4),
                home_pitcher_id="q1",
                away_pitcher_id="p3",
                winning_pitcher_id="p3",
            ),
            game(
                4,
                6,
                "NYA",
                "TOR",
                (6, 2),
                home_pitcher_id="p1",
                away_pitcher_id="t1",
                winning_pitcher_id="r1",
            ),
            game(5, 7, "BOS", "NYA", day_night="N", home_pitcher_id="q1", away_pitcher_id="p1"),
            game(6, 7, "TOR", "SEA", day_night="D", game_number=2, home_pitcher_id="t1"),
        ]
    )
    features = build_features(history, history.iloc[[4, 5]])
    nya = features.iloc[0]  # BOS (home) vs NYA (away) on day 7
    # NYA: W 5-1, L 2-3, W 4-0, W 6-2; BOS: L, W, L.
    assert nya["away_games_played"] == 4 and nya["home_games_played"] == 3
    assert nya["away_runs_scored_per_game"] == pytest.approx(17 / 4)
    assert nya["away_runs_allowed_per_game"] == pytest.approx(6 / 4)
    assert nya["away_pythag"] == pytest.approx(17**1.83 / (17**1.83 + 6**1.83))
    assert nya["away_win_streak"] == 2 and nya["home_win_streak"] == -1
    assert nya["away_venue_streak"] == 0  # NYA's last game was at home
    assert nya["home_venue_streak"] == 1  # BOS: away, away, then one home game
    assert nya["away_games_last7d"] == 4  # days 0..6 are within the 7 days before day 7
    assert nya["home_games_last7d"] == 3
    assert nya["away_rest_days"] == 1 and nya["home_rest_days"] == 5
    assert nya["h2h_games"] == 3  # BOS won one of three meetings
    assert nya["h2h_home_win_rate"] == pytest.approx((1 + 5) / (3 + 10))
    assert (nya["month"], nya["game_number"]) == (5, 0)
    assert "is_night" not in features  # never known when a game is served
    # p1 started days 0 and 6 for NYA (team allowed 1 and 2 runs, won both).
    assert nya["away_sp_starts"] == 2 and nya["away_sp_rest_days"] == 1
    assert nya["away_sp_runs_allowed_last3"] == pytest.approx(1.5)
    assert nya["away_sp_team_win_rate"] == pytest.approx((2 + 5) / (2 + 10))
    # NYA won both of p1's starts; he was the winning pitcher of one (a reliever, r1, of the other).
    assert nya["away_sp_win_credit_share"] == pytest.approx(0.5)
    assert np.isnan(nya["home_sp_win_credit_share"])  # BOS lost both of q1's starts
    # q1 (BOS) started day 0 (allowed 5) and day 2 (allowed 4).
    assert nya["home_sp_starts"] == 2 and nya["home_sp_runs_allowed_per_start"] == 4.5
    tor = features.iloc[1]
    assert tor["away_games_played"] == 0 and np.isnan(tor["away_pythag"])
    assert tor["home_sp_starts"] == 1 and tor["home_sp_rest_days"] == 1
    assert np.isnan(tor["away_sp_starts"])  # starter unknown: NaN, not a debut
    assert tor["game_number"] == 2


def test_debut_pitcher() -> None:
    history = frame([game(1, 0, "NYA", "BOS", home_pitcher_id="new")])
    got = build_features(history, history).iloc[0]
    assert got["home_sp_starts"] == 0  # the debut indicator
    for name in ("rest_days", "runs_allowed_last3", "runs_allowed_per_start"):
        assert np.isnan(got[f"home_sp_{name}"])
    assert got["home_sp_team_win_rate"] == 0.5


def test_line_features_cutoff_movement_and_steam() -> None:
    start = DAY0 + dt.timedelta(hours=23)  # first pitch 23:00 UTC, cutoff 22:00
    targets = frame([game(7, 0, "NYA", "BOS", start_time=start)])
    t = DAY0 + dt.timedelta(hours=10)
    snaps = pd.DataFrame(
        [
            snapshot(7, t, -110, -110, 8.5),
            snapshot(7, t + dt.timedelta(hours=2), -115, 105, 8.5),
            # Steam: -115 -> -135 within 5 minutes moves the home probability > 2 points.
            snapshot(7, t + dt.timedelta(hours=2, minutes=5), -135, 125, 9.0),
            snapshot(7, t + dt.timedelta(hours=2, minutes=8), -140, 130, 9.0),
            snapshot(7, start - dt.timedelta(minutes=30), -200, 180, 10.5),  # after the cutoff
            snapshot(7, t, 500, -600, 3.0, book="other"),  # a second, thinner book
        ]
    )
    got = build_features(targets, targets, snapshots=snaps).iloc[0]
    open_prob = 0.5
    cut_prob = (140 / 240) / (140 / 240 + 100 / 230)
    assert got["line_snapshots"] == 4
    assert got["ml_cut_home_prob"] == pytest.approx(cut_prob)
    assert got["ml_move_home_prob"] == pytest.approx(cut_prob - open_prob)
    assert (got["total_cut"], got["total_move"]) == (9.0, 0.5)
    assert got["total_cut_over_prob"] == pytest.approx(0.5)
    assert got["rl_cut_home_prob"] == pytest.approx((100 / 250) / (100 / 250 + 170 / 270))
    assert got["ml_steam_net"] == 1  # one move toward home (two flagged snapshots, one move)
    assert got["total_steam_net"] == 1
    # Without a start time the cutoff is the start of the date: no snapshot qualifies.
    undated = build_features(targets, targets.assign(start_time=pd.NaT), snapshots=snaps)
    assert np.isnan(undated.iloc[0]["line_snapshots"])
    assert np.isnan(undated.iloc[0]["ml_steam_net"])
    # A longer cutoff keeps fewer snapshots.
    early = build_features(targets, targets, snapshots=snaps, cutoff_minutes=11 * 60 + 1)
    assert early.iloc[0]["line_snapshots"] == 1


def test_splits_and_reverse_line_movement() -> None:
    start = DAY0 + dt.timedelta(hours=23)
    targets = frame([game(7, 0, "NYA", "BOS", start_time=start)])
    t = DAY0 + dt.timedelta(hours=10)
    snaps = pd.DataFrame(
        [snapshot(7, t, -110, -110, 8.5), snapshot(7, t + dt.timedelta(hours=3), -130, 110, 8.0)]
    )
    splits = pd.DataFrame(
        [
            split(7, t, "moneyline", "home", 60, 40),
            split(7, t + dt.timedelta(hours=1), "moneyline", "away", 70, 45),  # home: 30 / 55
            split(7, start, "moneyline", "home", 90, 90),  # at first pitch: after the cutoff
            split(7, t, "total", "over", 65, 50),
        ]
    )
    got = build_features(targets, targets, snapshots=snaps, splits=splits).iloc[0]
    assert got["ml_home_bets_pct"] == 30 and got["ml_home_money_minus_bets"] == 25
    assert got["ml_rlm_home"] == 1  # 70% of bets on the away side, the line moved to home
    assert got["total_over_bets_pct"] == 65
    assert got["total_rlm_over"] == -1  # most bets on the over, the total went down
    no_lines = build_features(targets, targets, splits=splits).iloc[0]
    assert no_lines["ml_home_bets_pct"] == 30 and np.isnan(no_lines["ml_rlm_home"])
    bare = build_features(targets, targets).iloc[0]
    assert np.isnan(bare[["ml_home_bets_pct", "ml_rlm_home", "total_rlm_over"]]).all()


# --- property-based: naive reference and leakage ------------------------------------------


@st.composite
def scenario(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Random games over three weeks, with pitchers, start times, line histories and splits."""
    rows, snaps, splits = [], [], []
    for game_id in range(draw(st.integers(1, 25))):
        home, away = draw(st.permutations(TEAMS))[:2]
        day = draw(st.integers(0, 20))
        start = (
            DAY0 + dt.timedelta(days=day, hours=draw(st.integers(16, 26)))
            if draw(st.booleans())
            else None
        )
        final = draw(st.booleans()) or draw(st.booleans())
        score = (draw(st.integers(0, 9)), draw(st.integers(0, 9))) if final else (None, None)
        rows.append(
            game(
                game_id, day, home, away, score,
                game_number=draw(st.sampled_from([0, 0, 1, 2])), start_time=start,
                day_night=draw(st.sampled_from(["D", "N", None])),
                home_pitcher_id=draw(st.sampled_from(PITCHERS)),
                away_pitcher_id=draw(st.sampled_from(PITCHERS)),
                winning_pitcher_id=draw(st.sampled_from(PITCHERS)),
                home_ml_open=draw(st.sampled_from([-150, -110, 120, None])), away_ml_open=110,
            )
        )  # fmt: skip
        base = DAY0 + dt.timedelta(days=day - 1, hours=draw(st.integers(0, 30)))
        minutes = 0
        for _ in range(draw(st.integers(0, 6))):
            minutes += draw(st.sampled_from([1, 4, 9, 14, 15, 16, 60, 300]))
            snaps.append(
                snapshot(
                    game_id,
                    base + dt.timedelta(minutes=minutes),
                    draw(st.sampled_from([-160, -130, -120, -110, 105, None])),
                    draw(st.sampled_from([-105, 100, 110, 140])),
                    draw(st.sampled_from([7.5, 8.0, 8.5, 9.5, None])),
                    book=draw(st.sampled_from(["pinnacle", "pinnacle", "other"])),
                )
            )
            if draw(st.booleans()):
                splits.append(
                    split(
                        game_id,
                        base + dt.timedelta(minutes=minutes),
                        draw(st.sampled_from(["moneyline", "total"])),
                        draw(st.sampled_from(["home", "away", "over", "under"])),
                        draw(st.integers(0, 100)),
                        draw(st.integers(0, 100)),
                    )
                )
    return frame(rows), pd.DataFrame(snaps), pd.DataFrame(splits)


def _as_frames(snaps: pd.DataFrame, splits: pd.DataFrame) -> dict:
    return {"snapshots": snaps if len(snaps) else None, "splits": splits if len(splits) else None}


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_every_feature_matches_the_naive_reference(data) -> None:
    history, snaps, splits = data
    frames = _as_frames(snaps, splits)
    features = build_features(history, history, **frames)
    for position, (_, target) in enumerate(history.iterrows()):
        expected = naive_features(history, target, frames["snapshots"], frames["splits"])
        assert set(expected) == set(FEATURE_SET.names)
        got = features.iloc[position].to_dict()
        assert got == pytest.approx(expected, nan_ok=True), target["game_id"]


@settings(
    max_examples=35,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data(), two_seasons=st.booleans())
def test_nothing_after_the_cutoff_changes_any_feature(
    data: st.DataObject, two_seasons: bool
) -> None:
    """Alter or remove games on/after the target's date, and lines/splits after its cutoff;
    with two seasons, the target may be in the second (its prior is the first season)."""
    history, snaps, splits = data.draw(scenario(), label="world")
    if two_seasons:
        history, snaps, splits = _two_seasons(
            (history, snaps, splits), data.draw(scenario(), label="next season")
        )
    target_position = data.draw(st.integers(0, len(history) - 1), label="target")
    target = history.iloc[[target_position]]
    target_date = target["game_date"].iloc[0]
    start = target["start_time"].iloc[0]
    cutoff = target_date if pd.isna(start) else start - pd.Timedelta(minutes=60)
    expected = build_features(history, target, **_as_frames(snaps, splits))

    later = (history["game_date"] >= target_date).to_numpy().copy()
    later[target_position] = False  # the target itself stays (its own result is changed below)
    drop = np.array(
        data.draw(st.lists(st.booleans(), min_size=len(history), max_size=len(history)))
    )
    altered = history[~(later & drop)].copy()
    changed = (altered["game_date"] >= target_date).to_numpy()
    altered.loc[changed, "home_score"] = data.draw(st.integers(0, 9), label="home score")
    altered.loc[changed, "away_score"] = data.draw(st.integers(0, 9), label="away score")
    # The target's own starter is pre-game information; other games' starters may change.
    others = changed & (altered["game_id"] != target["game_id"].iloc[0]).to_numpy()
    altered.loc[others, "home_pitcher_id"] = data.draw(st.sampled_from(PITCHERS), label="sp")

    def after_cutoff(rows: pd.DataFrame) -> np.ndarray:
        if rows.empty:
            return np.zeros(0, dtype=bool)
        return (
            (rows["game_id"] == target["game_id"].iloc[0]) & (rows["captured_at"] >= cutoff)
        ).to_numpy() | (rows["game_id"] != target["game_id"].iloc[0]).to_numpy()

    snap_late, split_late = after_cutoff(snaps), after_cutoff(splits)
    assume(later.any() or snap_late.any() or split_late.any())
    new_snaps = snaps[~(snap_late & np.resize(drop, len(snaps)))].copy()
    if len(new_snaps):
        moved = after_cutoff(new_snaps)
        new_snaps.loc[moved, "home_ml"] = -300
        new_snaps.loc[moved, "total"] = 12.5
    new_splits = splits[~(split_late & np.resize(drop, len(splits)))].copy()
    if len(new_splits):
        new_splits.loc[after_cutoff(new_splits), "bets_pct"] = 99
    # A burst of late lines right at the cutoff.
    burst = pd.DataFrame(
        [snapshot(int(target["game_id"].iloc[0]), cutoff + pd.Timedelta(minutes=m), -400, 350, 3.5)
         for m in (0, 1, 2)]
    )  # fmt: skip
    new_snaps = pd.concat([new_snaps, burst], ignore_index=True)

    got = build_features(altered, target, **_as_frames(new_snaps, new_splits))
    pd.testing.assert_frame_equal(got, expected)


def _a_year_later(world: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame], ids: int):
    """The same scenario one season later, with other game ids."""
    games, snaps, splits = (frame.copy() for frame in world)
    year = pd.Timedelta(days=365)
    games[["game_date", "start_time"]] += year
    for rows in (games, snaps, splits):
        if len(rows):
            rows["game_id"] += ids
    for rows in (snaps, splits):
        if len(rows):
            rows["captured_at"] += year
    return games, snaps, splits


def _two_seasons(first, second) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """``first`` as one season and ``second`` one year later, as one world."""
    seasons = [first, _a_year_later(second, ids=1000)]
    return tuple(pd.concat(parts, ignore_index=True) for parts in zip(*seasons, strict=True))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario(), scenario())
def test_every_feature_matches_the_naive_reference_across_seasons(first, second) -> None:
    """Carried ratings: the second season's priors come from the first, in both codes."""
    games, snaps, splits = _two_seasons(first, second)
    frames = _as_frames(snaps, splits)
    features = build_features(games, games, **frames)
    for position, (_, target) in enumerate(games.iterrows()):
        expected = naive_features(games, target, frames["snapshots"], frames["splits"])
        got = features.iloc[position].to_dict()
        assert got == pytest.approx(expected, nan_ok=True), target["game_id"]


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario(), scenario(), scenario())
def test_a_season_needs_only_itself_and_the_season_before(first, second, third) -> None:
    """Training builds the features of every stored season once and keeps the rows of the
    seasons it trains on (app.ml.train.labelled): a season's rows must be the same built
    with only its previous season as with every earlier one (older seasons never count)."""
    seasons = [first, _a_year_later(second, ids=1000), _a_year_later(
        _a_year_later(third, ids=1000), ids=1000
    )]  # fmt: skip
    together = pd.concat([season[0] for season in seasons], ignore_index=True)
    last_two = pd.concat([season[0] for season in seasons[1:]], ignore_index=True)
    third_games = seasons[2][0]
    assert np.array_equal(
        build_features(together, third_games).to_numpy(),
        build_features(last_two, third_games).to_numpy(),
        equal_nan=True,
    )


def test_first_game_of_a_season_is_carried_from_the_previous_season_only() -> None:
    """The first game of 2019: team, h2h and pitcher rates from 2018 alone, regressed."""
    year = dt.datetime(2018, 6, 1)

    def at(game_id: int, when: dt.datetime, home: str, away: str, score=(None, None)) -> dict:
        pitchers = {"home_pitcher_id": "p1", "away_pitcher_id": "q1"}
        return {**game(game_id, 0, home, away, score, **pitchers), "game_date": when}

    last_season = [
        at(1, year, "NYA", "BOS", (6, 2)),  # NYA 2-0 vs BOS, scored 10, allowed 3
        at(2, year + dt.timedelta(days=1), "NYA", "BOS", (4, 1)),
        at(3, year + dt.timedelta(days=2), "TOR", "SEA", (3, 3)),  # a tie: neither wins
    ]
    opening = dt.datetime(2019, 3, 28)
    this_season = [
        at(10, opening, "NYA", "BOS"),
        at(11, opening, "TOR", "SEA", (1, 0)),  # same date: not history
        at(12, opening + dt.timedelta(days=1), "BOS", "NYA", (9, 0)),
    ]
    history = frame(last_season + this_season)
    target = history[history["game_id"] == 10]
    got = build_features(history, target).iloc[0]
    league = (6 + 2 + 4 + 1 + 3 + 3) / 6
    factor = CARRY_TEAM_FACTOR
    assert got["home_games_played"] == 0 and got["h2h_games"] == 0
    assert got["home_win_rate"] == pytest.approx(0.5 + factor * 0.5)
    assert got["away_win_rate"] == pytest.approx(0.5 - factor * 0.5)
    assert got["home_runs_scored_per_game"] == pytest.approx(league + factor * (5 - league))
    assert got["home_runs_allowed_per_game"] == pytest.approx(league + factor * (1.5 - league))
    assert got["home_home_win_rate"] == pytest.approx(0.5 + factor * 0.5)
    assert got["away_away_win_rate"] == pytest.approx(0.5 - factor * 0.5)
    assert got["h2h_home_win_rate"] == pytest.approx(0.5 + CARRY_H2H_FACTOR * 0.5)
    assert got["home_sp_starts"] == 0  # p1: no start in 2019 yet, three in 2018
    assert got["home_sp_runs_allowed_per_start"] == pytest.approx(
        league + CARRY_PITCHER_FACTOR * ((2 + 1 + 3) / 3 - league)
    )
    assert np.isnan(got["home_last10_win_rate"]) and np.isnan(got["home_rest_days"])
    carried_names = [
        f"{side}_{name}"
        for side in ("home", "away")
        for name in ("win_rate", "run_diff_per_game", "runs_scored_per_game",
                     "runs_allowed_per_game", "pythag", "sp_runs_allowed_per_start",
                     "sp_team_win_rate")
    ] + ["home_home_win_rate", "away_away_win_rate", "h2h_home_win_rate"]  # fmt: skip
    assert not np.isnan(got[carried_names].to_numpy(np.float64)).any()
    expected = build_features(history, target)
    # Changing, removing or adding any 2019 result changes nothing ...
    later = history["game_date"] >= opening
    rescored = history.assign(
        home_score=history["home_score"].where(~later, 0),
        away_score=history["away_score"].where(~later, 7),
    )
    pd.testing.assert_frame_equal(build_features(rescored, target), expected)
    pd.testing.assert_frame_equal(build_features(history[~later | (history["game_id"] == 10)],
                                                 target), expected)  # fmt: skip
    # ... while a 2018 result does: the prior is used, and it is last season's.
    changed = history.assign(home_score=history["home_score"].where(history["game_id"] != 1, 0))
    assert build_features(changed, target).iloc[0]["home_win_rate"] < got["home_win_rate"]
    # Seasons before the previous one never count.
    older = frame([{**at(0, dt.datetime(2017, 7, 1), "NYA", "BOS", (0, 9))}])
    pd.testing.assert_frame_equal(
        build_features(pd.concat([older, history], ignore_index=True), target), expected
    )


def test_rolling_windows_exclude_the_game_itself() -> None:
    rows = [game(i, i, "NYA", "BOS", (9, 0), home_pitcher_id="p1") for i in range(12)]
    history = frame(rows)
    target = history.iloc[[11]]
    with_self = build_features(history, target)
    without_self = build_features(history.iloc[:11], target)
    rescored = history.assign(home_score=history["home_score"].where(history.index != 11, 0))
    pd.testing.assert_frame_equal(with_self, without_self)
    pd.testing.assert_frame_equal(build_features(rescored, target), without_self)
    assert with_self.iloc[0]["home_last10_win_rate"] == 1.0
    assert with_self.iloc[0]["home_sp_starts"] == 11


def test_snapshot_columns_of_any_dtype() -> None:
    """A column holding only None (object dtype) is missing data, not an error."""
    targets = frame([game(7, 0, "NYA", "BOS", start_time=DAY0 + dt.timedelta(hours=23))])
    snaps = pd.DataFrame([snapshot(7, DAY0 + dt.timedelta(hours=10), -120, 110, None)])
    assert snaps["total"].dtype == object
    got = build_features(targets, targets, snapshots=snaps).iloc[0]
    assert got["line_snapshots"] == 1 and np.isnan(got["total_cut"])
    assert np.isnan(got["total_steam_net"]) and got["ml_steam_net"] == 0


# What the open cannot know of the target itself: its closing prices and lines, every line
# snapshot and split (all after the open), the starter who actually took the mound (the odds
# name the one they priced), day or night, and its result.
OWN_LATE_COLUMNS = {
    "home_ml_close": [-250, -105, 140],
    "away_ml_close": [-160, 115, 210],
    "total_close": [6.5, 9.0, 11.5],
    "over_close": [-130, -110, 105],
    "under_close": [-125, -105, 110],
    "home_rl": [-1.5, 1.5],
    "home_rl_price": [-180, 120, 160],
    "away_rl_price": [-170, 110, 150],
    "home_pitcher_id": ["p1", "p2", "p3", "scratch", None],
    "away_pitcher_id": ["p1", "p2", "p3", "scratch", None],
    "winning_pitcher_id": ["p1", "p2", None],
    "day_night": ["D", "N", None],
    "home_score": [0, 4, 11],
    "away_score": [0, 3, 12],
}
OPEN_FEATURES = sorted({*model_features("moneyline"), *model_features("total_over")})
# SBRO-form names of the scenario's pitchers: the odds name a starter, the log gives his id.
NAMES = {"p1": "AONE", "p2": "BTWO", "p3": "CTHREE"}


@settings(max_examples=35, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_games_own_closing_information_changes_no_feature_scored_at_the_open(
    data: st.DataObject,
) -> None:
    """Alter one game's own closing prices and lines, its snapshots and splits (any time,
    before or after the cutoff), its actual starters, day/night and result: none of the
    features a model scored against the open reads may move."""
    history, snaps, splits = data.draw(scenario(), label="world")
    for side in ("home", "away"):
        history[f"{side}_pitcher"] = history[f"{side}_pitcher_id"].map(NAMES)
    for column, values in OWN_LATE_COLUMNS.items():
        if column not in history:
            history[column] = data.draw(st.sampled_from(values), label=f"all {column}")
    position = data.draw(st.integers(0, len(history) - 1), label="target")
    target_id = int(history["game_id"].iloc[position])
    expected = build_features(history, history.iloc[[position]], **_as_frames(snaps, splits))

    altered = history.copy()
    for column, values in OWN_LATE_COLUMNS.items():
        altered.iloc[position, altered.columns.get_loc(column)] = data.draw(
            st.sampled_from(values), label=column
        )
    own = data.draw(
        st.lists(
            st.tuples(
                st.integers(-1, 21),
                st.integers(0, 23),
                st.sampled_from([-300, -140, 120, 250]),
                st.sampled_from([-280, -120, 130, 240]),
                st.sampled_from([6.5, 8.5, 11.0, None]),
            ),
            max_size=6,
        ),
        label="own snapshots",
    )
    own_snaps = pd.DataFrame(
        [
            snapshot(target_id, DAY0 + dt.timedelta(days=day, hours=hour), home, away, total)
            for day, hour, home, away, total in own
        ]
    )
    others = snaps[snaps["game_id"] != target_id] if len(snaps) else snaps
    new_snaps = pd.concat([others, own_snaps], ignore_index=True)
    new_splits = splits[splits["game_id"] != target_id] if len(splits) else splits
    new_splits = pd.concat(
        [new_splits, pd.DataFrame([split(target_id, DAY0, "moneyline", "home", 95, 5)])],
        ignore_index=True,
    )
    got = build_features(altered, altered.iloc[[position]], **_as_frames(new_snaps, new_splits))
    pd.testing.assert_frame_equal(got[OPEN_FEATURES], expected[OPEN_FEATURES])


def test_the_starter_is_the_one_the_odds_named() -> None:
    """A late scratch: the odds named p1, p2 took the mound. The game's features are p1's;
    p2's start is history for p2's later games."""
    history = frame(
        [
            game(1, 0, "NYA", "BOS", (5, 1), home_pitcher_id="p1", away_pitcher_id="q1"),
            game(2, 1, "NYA", "BOS", (2, 3), home_pitcher_id="p2", away_pitcher_id="q2"),
            game(3, 5, "NYA", "BOS", (4, 4), home_pitcher_id="p2", away_pitcher_id="q1"),
            game(4, 9, "NYA", "BOS", home_pitcher_id="p2"),
        ]
    ).assign(
        home_pitcher=["PONE", "PTWO", "PONE", "PTWO"],  # game 3: p1 listed, p2 started
        away_pitcher=["QONE", "QTWO", "QONE", None],
    )
    got = build_features(history, history)
    assert got.loc[2, "home_sp_starts"] == 1  # p1's one earlier start, not p2's
    assert got.loc[2, "home_sp_runs_allowed_per_start"] == 1  # p1's game 1: BOS scored 1
    assert got.loc[3, "home_sp_starts"] == 2  # p2: game 2 and the start he made in game 3
    assert np.isnan(got.loc[3, "away_sp_starts"])  # no name, no id: unknown
    # A name never seen on an earlier date maps to nobody: unknown, as at serving.
    debut = frame([game(1, 0, "NYA", "BOS", home_pitcher_id="p9")]).assign(home_pitcher="PNINE")
    assert np.isnan(build_features(debut, debut).loc[0, "home_sp_starts"])
