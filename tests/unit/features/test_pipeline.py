"""build_features: hand-computed values, the point-in-time rule, and a naive reference."""

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from app.features.definitions import FEATURE_SET
from app.features.featureset import FeatureDef, FeatureSet
from app.features.pipeline import build_features
from tests.unit.features.naive_reference import naive_features as reference_features

COLUMNS = [
    "game_id",
    "game_date",
    "game_number",
    "home_team",
    "away_team",
    "home_score",
    "away_score",
    "home_ml_open",
    "away_ml_open",
    "total_open",
    "over_open",
    "under_open",
]


def games(rows: list[tuple]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    frame["game_date"] = pd.to_datetime(frame["game_date"])
    return frame


NO_ODDS = (None, None, None, None, None)
HISTORY = games(
    [
        (0, "2021-09-30", 0, "NYA", "BOS", 9, 0, *NO_ODDS),  # two seasons ago: never counts
        (1, "2023-04-01", 0, "NYA", "BOS", 5, 3, *NO_ODDS),
        (2, "2023-04-02", 0, "BOS", "NYA", 4, 2, *NO_ODDS),
        (3, "2023-04-04", 1, "NYA", "BOS", 7, 1, *NO_ODDS),  # doubleheader game 1
        (4, "2023-04-04", 2, "NYA", "BOS", 2, 6, -150, 130, 8.5, -115, -105),  # game 2
        (5, "2023-04-05", 0, "BOS", "NYA", None, None, *NO_ODDS),  # not final yet
    ]
)


def row(features: pd.DataFrame, label: object) -> dict[str, float]:
    return features.loc[label].to_dict()


def test_hand_computed_doubleheader_game_two() -> None:
    features = build_features(HISTORY, HISTORY.loc[[4]])
    got = row(features, 4)
    raw_home, raw_away = 150 / 250, 100 / 230
    raw_over, raw_under = 115 / 215, 105 / 205
    expected = {
        "ml_open_home_prob": raw_home / (raw_home + raw_away),
        "ml_open_overround": raw_home + raw_away - 1,
        "total_open": 8.5,
        "total_open_over_prob": raw_over / (raw_over + raw_under),
        "run_line_home": math.nan,  # this fixture has no run line
        # Game 1 of the same day is not history for game 2: only games 1 and 2 count.
        "home_win_rate": (1 + 5) / (2 + 10),
        "home_last10_win_rate": 0.5,
        "home_run_diff_per_game": 0.0,
        "home_games_played": 2.0,
        "home_rest_days": 2.0,
        "away_win_rate": (1 + 5) / (2 + 10),
        "away_last10_win_rate": 0.5,
        "away_run_diff_per_game": 0.0,
        "away_games_played": 2.0,
        "away_rest_days": 2.0,
        "home_home_win_rate": (1 + 5) / (1 + 10),  # NYA at home: won game 1
        "away_away_win_rate": (0 + 5) / (1 + 10),  # BOS away: lost game 1
    }
    assert list(features.columns) == list(FEATURE_SET.names)
    assert {name: got[name] for name in expected} == pytest.approx(expected, nan_ok=True)


def test_hand_computed_next_day_and_unknown_teams() -> None:
    targets = games(
        [
            (5, "2023-04-05", 0, "BOS", "NYA", None, None, *NO_ODDS),
            (99, "2023-04-05", 0, "TOR", "SEA", None, None, 120, -140, None, -110, -110),
        ]
    ).set_index("game_id", drop=False)
    features = build_features(HISTORY, targets)
    bos_home = row(features, 5)
    # BOS: L 3-5, W 4-2, L 1-7, W 6-2 -> 2-2, run diff -2; NYA: 2-2, run diff +2.
    assert bos_home["home_win_rate"] == pytest.approx(7 / 14)
    assert bos_home["home_run_diff_per_game"] == pytest.approx(-0.5)
    assert bos_home["away_run_diff_per_game"] == pytest.approx(0.5)
    assert bos_home["home_games_played"] == bos_home["away_games_played"] == 4
    assert bos_home["home_rest_days"] == bos_home["away_rest_days"] == 1
    assert bos_home["home_home_win_rate"] == pytest.approx(6 / 11)  # BOS won its home game
    assert bos_home["away_away_win_rate"] == pytest.approx(5 / 11)  # NYA lost its away game
    assert np.isnan([bos_home[name] for name in FEATURE_SET.names[:20]]).all()  # no market data

    newcomers = row(features, 99)
    assert newcomers["ml_open_home_prob"] == pytest.approx((100 / 220) / (100 / 220 + 140 / 240))
    assert np.isnan(newcomers["total_open"]) and np.isnan(newcomers["total_open_over_prob"])
    for side in ("home", "away"):
        assert newcomers[f"{side}_win_rate"] == 0.5
        assert newcomers[f"{side}_games_played"] == 0
        for name in ("last10_win_rate", "run_diff_per_game", "rest_days"):
            assert np.isnan(newcomers[f"{side}_{name}"])


def test_season_start_ignores_seasons_before_the_last() -> None:
    features = build_features(HISTORY, HISTORY.loc[[1]])
    assert features.loc[1, "home_games_played"] == 0
    assert np.isnan(features.loc[1, "home_rest_days"])


def test_last10_window_slides() -> None:
    # NYA wins its first 5 games, then loses 10: the last 10 are all losses.
    rows = [
        (i, f"2023-04-{i + 1:02d}", 0, "NYA", "BOS", 5 if i < 5 else 1, 3, *NO_ODDS)
        for i in range(15)
    ]
    rows.append((15, "2023-04-16", 0, "NYA", "BOS", None, None, *NO_ODDS))
    history = games(rows)
    got = row(build_features(history, history.loc[[15]]), 15)
    assert got["home_last10_win_rate"] == 0.0
    assert got["away_last10_win_rate"] == 1.0
    assert got["home_win_rate"] == pytest.approx((5 + 5) / (15 + 10))
    assert got["home_games_played"] == 15


def test_a_game_never_sees_its_own_result() -> None:
    without_self = HISTORY.drop(index=3)
    changed_result = HISTORY.assign(home_score=HISTORY["home_score"].where(HISTORY.index != 3, 0))
    targets = HISTORY.loc[[3]]
    expected = build_features(without_self, targets)
    pd.testing.assert_frame_equal(build_features(HISTORY, targets), expected)
    pd.testing.assert_frame_equal(build_features(changed_result, targets), expected)


def test_output_follows_targets_index_and_order() -> None:
    targets = HISTORY.iloc[[4, 1, 3]].set_axis(["c", "a", "b"])
    features = build_features(HISTORY, targets)
    assert list(features.index) == ["c", "a", "b"]
    assert (features.dtypes == np.float64).all()
    pd.testing.assert_frame_equal(features.loc[["a"]], build_features(HISTORY, targets.loc[["a"]]))


def test_targets_may_omit_odds_and_history_may_be_empty() -> None:
    targets = pd.DataFrame(
        {"game_date": [dt.date(2023, 5, 1)], "home_team": ["NYA"], "away_team": ["BOS"]}
    )
    features = build_features(HISTORY.iloc[:0], targets)
    assert features.shape == (1, len(FEATURE_SET))
    assert np.isnan(features.loc[0, "ml_open_home_prob"])
    assert features.loc[0, "home_win_rate"] == 0.5
    assert build_features(HISTORY, HISTORY.iloc[:0]).shape == (0, len(FEATURE_SET))


def test_inputs_are_not_modified() -> None:
    history, targets = HISTORY.copy(), HISTORY.copy()
    build_features(history, targets)
    pd.testing.assert_frame_equal(history, HISTORY)
    pd.testing.assert_frame_equal(targets, HISTORY)


def test_feature_subsets_and_unknown_features() -> None:
    subset = FeatureSet("tiny", 1, (FEATURE_SET.features[5], FEATURE_SET.features[0]))
    features = build_features(HISTORY, HISTORY, subset)
    assert list(features.columns) == [subset.names[0], subset.names[1]]
    with pytest.raises(ValueError, match="unknown features"):
        build_features(HISTORY, HISTORY, FeatureSet("bad", 1, (FeatureDef("nope", ""),)))


def test_missing_columns_or_dates_are_rejected() -> None:
    with pytest.raises(ValueError, match="required columns"):
        build_features(HISTORY.drop(columns="home_score"), HISTORY)
    with pytest.raises(ValueError, match="game_date"):
        build_features(HISTORY, HISTORY.assign(game_date=pd.NaT))


# --- property-based tests -----------------------------------------------------------------

TEAMS = ("NYA", "BOS", "TOR", "TBA")
SEASON_START = dt.date(2023, 4, 1)


@st.composite
def game_rows(draw: st.DrawFn, first_id: int = 0, min_day: int = -3) -> list[tuple]:
    """Random games over a few weeks spanning a season boundary (days < 0 are last season)."""
    count = draw(st.integers(0, 30))
    rows = []
    for offset in range(count):
        home, away = draw(st.permutations(TEAMS))[:2]
        day = draw(st.integers(min_day, 20))
        game_date = SEASON_START + dt.timedelta(days=day) - dt.timedelta(days=180 if day < 0 else 0)
        final = draw(st.booleans()) or draw(st.booleans())
        scores = (draw(st.integers(0, 12)), draw(st.integers(0, 12))) if final else (None, None)
        odds = draw(
            st.one_of(
                st.just(NO_ODDS),
                st.tuples(
                    st.sampled_from([-200, -130, -110, 100, 120, 180]),
                    st.sampled_from([-220, -120, -105, 110, 150]),
                    st.sampled_from([7.5, 8.5, 9.0]),
                    st.just(-110),
                    st.sampled_from([-110, -120]),
                ),
            )
        )
        rows.append(
            (first_id + offset, game_date, draw(st.integers(0, 2)), home, away, *scores, *odds)
        )
    return rows


TEAM_FORM = [
    f"{side}_{name}"
    for side in ("home", "away")
    for name in ("win_rate", "last10_win_rate", "run_diff_per_game", "games_played", "rest_days")
] + ["home_home_win_rate", "away_away_win_rate"]


def naive_features(history: pd.DataFrame, target: pd.Series) -> dict[str, float]:
    """The team-form features of the slow, obviously-correct reference (carried priors
    from the previous season included: the generated games span a season boundary)."""
    full = reference_features(history, target)
    return {name: full[name] for name in TEAM_FORM}


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(game_rows())
def test_matches_naive_reference(rows: list[tuple]) -> None:
    history = games(rows)
    features = build_features(history, history)
    for label, target in history.iterrows():
        expected = naive_features(history, target)
        got = {name: features.loc[label, name] for name in expected}
        assert got == pytest.approx(expected, nan_ok=True)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(data=st.data())
def test_no_leakage_from_games_on_or_after_the_target_date(data: st.DataObject) -> None:
    """Altering, removing or adding history games dated on/after a target changes nothing."""
    history = games(data.draw(game_rows(), label="history"))
    cutoff = pd.Timestamp(
        SEASON_START + dt.timedelta(days=data.draw(st.integers(-3, 21), label="cutoff day"))
    )
    targets = games(data.draw(game_rows(first_id=1000), label="targets"))
    targets = targets[targets["game_date"] <= cutoff]
    assume(len(targets) > 0)

    later = history["game_date"] >= cutoff
    removed = data.draw(st.lists(st.booleans(), min_size=len(history), max_size=len(history)))
    altered = history[~(later & np.array(removed, dtype=bool))].copy()
    later_kept = altered["game_date"] >= cutoff
    # Rescore (which also makes pending games final) and change opponents.
    altered.loc[later_kept, "home_score"] = data.draw(st.integers(0, 12), label="home score")
    altered.loc[later_kept, "away_score"] = data.draw(st.integers(0, 12), label="away score")
    altered.loc[later_kept, "away_team"] = altered.loc[later_kept, "home_team"].map(
        lambda team: TEAMS[(TEAMS.index(team) + 1) % len(TEAMS)]
    )
    extra = games(data.draw(game_rows(first_id=2000, min_day=0), label="extra"))
    extra = extra[extra["game_date"] >= cutoff]
    altered = pd.concat([altered, extra], ignore_index=True)

    pd.testing.assert_frame_equal(
        build_features(history, targets), build_features(altered, targets)
    )
