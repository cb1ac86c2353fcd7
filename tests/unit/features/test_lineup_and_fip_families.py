"""The lineup and starter-FIP families: hand-computed values, when they are known, and the
leak probe (a game's own late information and later games change none of its features)."""

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.features.definitions import EVERY_FEATURE, FAMILIES, FEATURE_SET
from app.features.families.lineups import CARRY_PLAYER_FACTOR, CARRY_PLAYER_STARTS
from app.features.families.pitching import CARRY, INNINGS_PER_START
from app.features.pipeline import build_features
from app.games.line_scores import line_score_innings
from app.ml.families import family_columns, family_moment

NEW_FAMILIES = ("lineups", "starter_fip")
NEW_NAMES = [feature.name for family in NEW_FAMILIES for feature in FAMILIES[family]]


def games(rows: list[tuple]) -> pd.DataFrame:
    """(game_id, date, home, away, home_score, away_score, home_pitcher_id, away_pitcher_id)."""
    frame = pd.DataFrame(
        rows,
        columns=["game_id", "game_date", "home_team", "away_team", "home_score", "away_score",
                 "home_pitcher_id", "away_pitcher_id"],
    )  # fmt: skip
    frame["game_date"] = pd.to_datetime(frame["game_date"])
    frame["game_number"] = 0
    return frame


def nine(game_id: int, side: str, players: list[str]) -> list[dict]:
    return [
        {"game_id": game_id, "side": side, "batting_order": slot + 1, "player_id": player,
         "position": slot + 1}
        for slot, player in enumerate(players)
    ]  # fmt: skip


def box(game_id: int, side: str, k: int, bb: int, hbp: int, hr: int, putouts: int, line: str):
    return {
        "game_id": game_id, "side": side, "strikeouts": k, "walks": bb, "hit_by_pitch": hbp,
        "home_runs": hr, "putouts": putouts, "line_score": line,
    }  # fmt: skip


A = [f"a{i}" for i in range(1, 10)]
B = [f"b{i}" for i in range(1, 10)]


def test_line_score_innings() -> None:
    assert line_score_innings("005130000", 5) == (9.0, 5.0)
    assert line_score_innings("1(10)0x", 5) == (11.0, 3.0)  # a short game
    assert all(np.isnan(line_score_innings("", 5)))
    assert all(np.isnan(line_score_innings("0?1", 5)))


def test_hand_computed_lineup_values() -> None:
    history = games(
        [
            (1, "2015-05-01", "NYA", "BOS", 4, 2, None, None),
            (2, "2015-05-02", "NYA", "BOS", 6, 0, None, None),
            (3, "2016-05-01", "NYA", "BOS", 3, 1, None, None),
            (4, "2016-05-03", "NYA", "BOS", None, None, None, None),
        ]
    )
    lineups = pd.DataFrame(
        nine(1, "home", A) + nine(1, "away", B)
        + nine(2, "home", [*A[:8], "x"]) + nine(2, "away", B)
        + nine(3, "home", A) + nine(3, "away", B)
        + nine(4, "home", [*A[:8], "y"]) + nine(4, "away", B)
    )  # fmt: skip
    got = build_features(history, history.iloc[[2, 3]], EVERY_FEATURE, lineups=lineups)
    league, r, k = 3.0, CARRY_PLAYER_FACTOR, CARRY_PLAYER_STARTS  # 2015: 12 runs, 4 team-games

    def value(runs: float, starts: float, last_rate: float | None) -> float:
        prior = league if last_rate is None else league + r * (last_rate - league)
        return (runs + k * prior) / (starts + k) - league

    # Game 3 (the first of 2016): no start this season yet; a1-a8 scored 5 a game last
    # season, a9 4, the b's 1.
    game3 = got.iloc[0]
    assert game3["home_lineup_value"] == pytest.approx((8 * value(0, 0, 5) + value(0, 0, 4)) / 9)
    assert game3["away_lineup_value"] == pytest.approx(value(0, 0, 1))
    assert np.isnan(game3["home_lineup_vs_usual"])  # no earlier lineup this season
    assert game3["home_lineup_new_players"] == 0
    # Game 4: one start each in 2016 (NYA scored 3, BOS 1); y never started: the league.
    game4 = got.iloc[1]
    home = (8 * value(3, 1, 5) + value(0, 0, None)) / 9
    assert game4["home_lineup_value"] == pytest.approx(home)
    assert game4["home_lineup_new_players"] == 1
    assert game4["home_lineup_vs_usual"] == pytest.approx(home - game3["home_lineup_value"])
    assert game4["away_lineup_value"] == pytest.approx(value(1, 1, 1))
    # Without a stored lineup (none posted yet), the features are missing.
    no_lineup = build_features(history, history.iloc[[3]], EVERY_FEATURE, lineups=lineups[:-18])
    assert no_lineup[[f.name for f in FAMILIES["lineups"]]].isna().all(axis=None)


def test_hand_computed_fip_components() -> None:
    history = games(
        [
            (1, "2015-05-01", "NYA", "BOS", 3, 2, "p1", "q1"),
            (2, "2016-05-01", "NYA", "BOS", 1, 0, "p1", "q1"),
            (3, "2016-05-06", "NYA", "BOS", None, None, "p1", "q9"),
        ]
    )
    box_scores = pd.DataFrame(
        [
            # Game 1: BOS batted against p1's NYA (K 8, BB 2, HBP 1, HR 1, NYA recorded 27
            # outs, BOS scored 1 in innings 1-5); NYA against q1's BOS (24 outs: no 9th).
            box(1, "away", 8, 2, 1, 1, 24, "010000100"),
            box(1, "home", 5, 3, 0, 2, 27, "20100000x"),
            box(2, "away", 10, 0, 0, 0, 24, "000000000"),
            box(2, "home", 4, 1, 0, 0, 27, "00000100x"),
        ]
    )
    got = build_features(history, history.iloc[[1, 2]], EVERY_FEATURE, box_scores=box_scores)
    # 2015's league: K 13, BB+HBP 6, HR 3 over 17 innings; 4 runs in 10 early innings.
    league = {"fip": (13 * 3 + 3 * 6 - 2 * 13) / 17, "kbb": 9 * (13 - 6) / 17, "early": 2.0}
    p1 = {"fip": (13 + 9 - 16) / 9, "kbb": 9 * (8 - 3) / 9, "early": 1.0}
    factors = {"fip": CARRY["fip"][0], "kbb": CARRY["k_minus_bb_per9"][0],
               "early": CARRY["early_runs"][0]}  # fmt: skip
    prior = {name: league[name] + factors[name] * (p1[name] - league[name]) for name in league}
    innings = CARRY["fip"][1] * INNINGS_PER_START
    first = got.iloc[0]  # p1's first start of 2016: last season's, regressed
    assert first["home_sp_fip"] == pytest.approx(prior["fip"])
    assert first["home_sp_k_minus_bb_per9"] == pytest.approx(prior["kbb"])
    assert first["home_sp_early_runs"] == pytest.approx(prior["early"])
    second = got.iloc[1]  # after a 2016 start: 10 K, no walk, no HR over 9 innings
    assert second["home_sp_fip"] == pytest.approx(
        (-2 * 10 + innings * prior["fip"]) / (9 + innings)
    )
    assert np.isnan(second["away_sp_fip"])  # q9 never started: unknown, not the league
    # The default set does not read the family (it has not earned its place): no box scores,
    # no columns.
    assert "home_sp_fip" not in build_features(history, history.iloc[[2]]).columns


def test_lineup_features_are_known_at_the_lineup_and_scored_at_the_close() -> None:
    for feature in FAMILIES["lineups"]:
        assert feature.known_at == "lineup"
    for target in ("moneyline", "total_over"):
        opening = EVERY_FEATURE.known_for(target, "open")
        assert not set(opening) & {f.name for f in FAMILIES["lineups"]}
        assert family_moment("lineups", target) == "lineup"
        without, with_family = family_columns("lineups", target)
        assert set(with_family) - set(without) == {f.name for f in FAMILIES["lineups"]}
        assert set(without) == set(FEATURE_SET.known_for(target, "open"))
    assert family_moment("lineups", "home_spread") == "close"
    # A default family is measured by leaving it out.
    without, with_family = family_columns("form", "moneyline")
    assert set(with_family) - set(without) == {f.name for f in FAMILIES["form"]}


TEAMS = ("NYA", "BOS", "TOR")
PLAYERS = [f"h{i}" for i in range(12)]
PITCHERS = ("p1", "p2", "p3", None)


@st.composite
def world(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Games over two seasons with lineups of a small pool of players and box scores."""
    rows, slots, boxes = [], [], []
    for game_id in range(draw(st.integers(2, 12))):
        home, away = draw(st.permutations(TEAMS))[:2]
        day = dt.date(draw(st.sampled_from([2015, 2016])), 5, 1) + dt.timedelta(
            days=draw(st.integers(0, 12))
        )
        final = draw(st.booleans()) or draw(st.booleans())
        scores = (draw(st.integers(0, 9)), draw(st.integers(0, 9))) if final else (None, None)
        rows.append((game_id, day.isoformat(), home, away, *scores,
                     draw(st.sampled_from(PITCHERS)), draw(st.sampled_from(PITCHERS))))  # fmt: skip
        for side in ("home", "away"):
            if draw(st.integers(0, 4)):
                slots += nine(game_id, side, draw(st.permutations(PLAYERS))[:9])
            if final:
                boxes.append(
                    box(game_id, side, draw(st.integers(0, 15)), draw(st.integers(0, 8)),
                        draw(st.integers(0, 2)), draw(st.integers(0, 4)),
                        draw(st.sampled_from([24, 27, 30])),
                        "".join(str(draw(st.integers(0, 3))) for _ in range(9)))
                )  # fmt: skip
    return games(rows), pd.DataFrame(slots), pd.DataFrame(boxes)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_own_late_information_and_later_games_change_no_lineup_or_fip_feature(
    data: st.DataObject,
) -> None:
    """Alter a game's own result, closing prices, box score and actual starter, and every
    later game's result, lineups and box scores: none of its features known by the lineup
    may move (its own lineup is known then, so it stays)."""
    history, lineups, boxes = data.draw(world(), label="world")
    position = data.draw(st.integers(0, len(history) - 1), label="target")
    target = history.iloc[position]
    target_id = int(target["game_id"])
    frames = {"lineups": lineups if len(lineups) else None,
              "box_scores": boxes if len(boxes) else None}  # fmt: skip
    expected = build_features(history, history.iloc[[position]], EVERY_FEATURE, **frames)

    altered = history.copy()
    later = (altered["game_date"] > target["game_date"]).to_numpy()
    own = (altered["game_id"] == target_id).to_numpy()
    changed = later | own
    for column in ("home_score", "away_score"):
        altered.loc[changed, column] = data.draw(st.sampled_from([0, 5, 12]), label=column)
    altered.loc[own, "home_ml_close"] = data.draw(st.sampled_from([-250, 140]))
    altered.loc[later, "home_pitcher_id"] = data.draw(st.sampled_from(PITCHERS))
    later_ids = set(altered.loc[later, "game_id"].astype(int))
    new_lineups = lineups
    if len(lineups):
        keep = ~lineups["game_id"].isin(later_ids)
        new_lineups = pd.concat(
            [lineups[keep]] + [pd.DataFrame(nine(g, "home", PLAYERS[3:12])) for g in later_ids],
            ignore_index=True,
        )
    new_boxes = boxes
    if len(boxes):
        new_boxes = boxes.copy()
        touched = new_boxes["game_id"].isin(later_ids | {target_id})
        new_boxes.loc[touched, "strikeouts"] = data.draw(st.integers(0, 20))
        new_boxes.loc[touched, "home_runs"] = data.draw(st.integers(0, 6))
        new_boxes.loc[touched, "line_score"] = "999000000"
    got = build_features(
        altered,
        altered.iloc[[position]],
        EVERY_FEATURE,
        lineups=new_lineups if len(new_lineups) else None,
        box_scores=new_boxes if len(new_boxes) else None,
    )
    known = [
        name
        for name in EVERY_FEATURE.known_for("moneyline", "lineup")
        if name in NEW_NAMES or name in FEATURE_SET.known_for("moneyline", "open")
    ]
    pd.testing.assert_frame_equal(got[known], expected[known])
