"""A deliberately naive, per-game reference of every ``core`` feature.

Slow and obvious: for each target it walks the history game by game in plain Python.
Carried ratings (core v3): the previous calendar year's final games give each rate a
prior, last season's raw rate regressed toward the league mean, worth k games.
The vectorized pipeline must agree with it (unit property tests and the integration
test that recomputes a stored season).
"""

import math
from collections import Counter
from datetime import datetime, timedelta
from functools import cache

import pandas as pd

from app.features.families.form import (
    CARRY_TEAM_FACTOR,
    CARRY_TEAM_GAMES,
    FORM_WINDOWS,
    GAMES_WINDOW_DAYS,
    LAST_N_GAMES,
    PYTHAG_EXPONENT,
)
from app.features.families.h2h import CARRY_H2H_FACTOR, CARRY_H2H_GAMES
from app.features.families.lines import (
    DEFAULT_CUTOFF_MINUTES,
    STEAM_PROB_MOVE,
    STEAM_TOTAL_MOVE,
    STEAM_WINDOW_MINUTES,
)
from app.features.families.splits import RLM_PROB_MOVE, RLM_TOTAL_MOVE
from app.features.families.starters import (
    CARRY_PITCHER_FACTOR,
    CARRY_PITCHER_STARTS,
    PITCHER_RECENT_STARTS,
)
from app.features.history import PRIOR_GAMES
from app.features.pitchers import MIN_SHARE, sbro_pitcher_key

NAN = math.nan


def implied(price: float) -> float:
    if price is None or pd.isna(price) or abs(price) < 100:
        return NAN
    return 100 / (price + 100) if price > 0 else -price / (-price + 100)


def devig(a: float, b: float) -> tuple[float, float]:
    """(probability of side a, overround)."""
    ia, ib = implied(a), implied(b)
    return ia / (ia + ib), ia + ib - 1


def shrunk(wins: float, games: float) -> float:
    return (wins + PRIOR_GAMES / 2) / (games + PRIOR_GAMES)


def carried(total: float, count: float, prior: float | None, weight: float) -> float:
    """(total + weight * prior) / (count + weight); None prior: total / count (NaN at 0)."""
    if prior is None:
        return total / count if count else NAN
    return (total + weight * prior) / (count + weight)


def carried_win_rate(wins: float, games: float, prior_wins: float, prior_games: float,
                     factor: float, weight: float) -> float:  # fmt: skip
    if not prior_games:
        return shrunk(wins, games)
    return carried(wins, games, 0.5 + factor * (prior_wins / prior_games - 0.5), weight)


def mean_or_nan(values: list[float]) -> float:
    return sum(values) / len(values) if values else NAN


def pythag(scored: list[float], allowed: list[float]) -> float:
    rs, ra = sum(scored) ** PYTHAG_EXPONENT, sum(allowed) ** PYTHAG_EXPONENT
    return rs / (rs + ra) if scored and rs + ra > 0 else NAN


def listed_starter(history: pd.DataFrame, target: pd.Series, side: str) -> str | None:
    """The starter the odds named (``*_pitcher``), as the id that name started under most on
    earlier dates of this season and last (at least MIN_SHARE of them); without a name
    column, the target's ``*_pitcher_id``."""
    if f"{side}_pitcher" not in target.index:
        return value(target, f"{side}_pitcher_id")
    key = _key(value(target, f"{side}_pitcher"))
    if not key:
        return None
    date = pd.Timestamp(target["game_date"]).normalize()
    dates = pd.to_datetime(history["game_date"]).dt.normalize()
    earlier = history[(dates < date) & dates.dt.year.isin([date.year, date.year - 1])]
    counts: Counter = Counter()
    for game_side in ("home", "away"):
        for name, pitcher in zip(
            earlier.get(f"{game_side}_pitcher", []),
            earlier.get(f"{game_side}_pitcher_id", []),
            strict=False,
        ):
            if isinstance(name, str) and isinstance(pitcher, str) and pitcher and _key(name) == key:
                counts[pitcher] += 1
    if not counts:
        return None
    pitcher, starts = counts.most_common(1)[0]
    return pitcher if starts >= MIN_SHARE * sum(counts.values()) else None


@cache
def _key(name: str | None) -> str:
    return sbro_pitcher_key(name)


def value(row: pd.Series, column: str) -> object:
    got = row.get(column) if column in row else None
    return None if got is None or (not isinstance(got, str) and pd.isna(got)) else got


def naive_features(
    history: pd.DataFrame,
    target: pd.Series,
    snapshots: pd.DataFrame | None = None,
    splits: pd.DataFrame | None = None,
    cutoff_minutes: int = DEFAULT_CUTOFF_MINUTES,
) -> dict[str, float]:
    date = pd.Timestamp(target["game_date"]).normalize()
    past, last_season = [], []
    for _, game in history.iterrows():
        game_date = pd.Timestamp(game["game_date"]).normalize()
        final = not pd.isna(game["home_score"]) and not pd.isna(game["away_score"])
        if final and game_date < date and game_date.year == date.year:
            past.append(game)
        if final and game_date.year == date.year - 1:
            last_season.append(game)
    past.sort(
        key=lambda g: (pd.Timestamp(g["game_date"]), value(g, "game_number") or 0, g["game_id"])
    )
    runs = [float(g["home_score"]) for g in last_season] + [
        float(g["away_score"]) for g in last_season
    ]
    league_runs = mean_or_nan(runs)
    result: dict[str, float] = {}
    result.update(_market(target))
    start = value(target, "start_time")
    cutoff = date
    if start is not None:
        start = pd.Timestamp(start)
        start = start.tz_convert("UTC").tz_localize(None) if start.tzinfo else start
        cutoff = start - timedelta(minutes=cutoff_minutes)
    result.update(_lines(target, snapshots, cutoff))
    result.update(_splits(target, splits, cutoff, result))
    result["month"] = float(date.month)
    result["game_number"] = float(value(target, "game_number") or 0)
    for side in ("home", "away"):
        result.update(_team(past, last_season, league_runs, target[f"{side}_team"], side, date))
        pitcher = listed_starter(history, target, side)
        result.update(_pitcher(past, last_season, league_runs, pitcher, side, date))
    home, away = target["home_team"], target["away_team"]
    meetings = [g for g in past if {g["home_team"], g["away_team"]} == {home, away}]
    home_wins = sum(
        1
        for g in meetings
        if (g["home_team"] == home and g["home_score"] > g["away_score"])
        or (g["away_team"] == home and g["away_score"] > g["home_score"])
    )
    last_meetings = [g for g in last_season if {g["home_team"], g["away_team"]} == {home, away}]
    last_home_wins = sum(
        1
        for g in last_meetings
        if (g["home_team"] == home and g["home_score"] > g["away_score"])
        or (g["away_team"] == home and g["away_score"] > g["home_score"])
    )
    result["h2h_games"] = float(len(meetings))
    result["h2h_home_win_rate"] = carried_win_rate(
        home_wins, len(meetings), last_home_wins, len(last_meetings),
        CARRY_H2H_FACTOR, CARRY_H2H_GAMES,
    )  # fmt: skip
    return result


def _market(target: pd.Series) -> dict[str, float]:
    home_prob, overround = devig(value(target, "home_ml_open"), value(target, "away_ml_open"))
    total = value(target, "total_open")
    total = total if total is not None and total > 0 else NAN
    over_prob, total_overround = devig(value(target, "over_open"), value(target, "under_open"))
    rl = value(target, "home_rl")
    return {
        "ml_open_home_prob": home_prob,
        "ml_open_overround": overround,
        "total_open": total,
        "total_open_over_prob": NAN if math.isnan(total) else over_prob,
        "total_open_overround": NAN if math.isnan(total) else total_overround,
        "run_line_home": NAN if rl is None else rl,
    }


def _lines(target: pd.Series, snapshots: pd.DataFrame | None, cutoff: datetime) -> dict:
    names = [
        "line_snapshots",
        "ml_cut_home_prob",
        "ml_move_home_prob",
        "total_cut",
        "total_move",
        "total_cut_over_prob",
        "rl_cut_home_prob",
        "ml_steam_net",
        "total_steam_net",
    ]
    result = dict.fromkeys(names, NAN)
    game_id = value(target, "game_id")
    if snapshots is None or game_id is None:
        return result
    rows = [
        row
        for _, row in snapshots.iterrows()
        if row["game_id"] == game_id and pd.Timestamp(row["captured_at"]) < cutoff
    ]
    if not rows:
        return result
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["book"]] = counts.get(row["book"], 0) + 1
    book = sorted(counts, key=lambda b: (-counts[b], b))[0]
    rows = sorted((r for r in rows if r["book"] == book), key=lambda r: r["captured_at"])
    ml = [(r["captured_at"], devig(r["home_ml"], r["away_ml"])[0]) for r in rows]
    ml = [(t, p) for t, p in ml if not math.isnan(p)]
    totals = [
        (r["captured_at"], r["total"]) for r in rows if not pd.isna(r["total"]) and r["total"] > 0
    ]
    over = [devig(r["over_price"], r["under_price"])[0] for r in rows if not pd.isna(r["total"])]
    over = [p for p in over if not math.isnan(p)]
    rl = [
        devig(r["home_rl_price"], r["away_rl_price"])[0] for r in rows if not pd.isna(r["home_rl"])
    ]
    rl = [p for p in rl if not math.isnan(p)]
    result["line_snapshots"] = float(len(rows))
    if ml:
        result["ml_cut_home_prob"] = ml[-1][1]
        result["ml_move_home_prob"] = ml[-1][1] - ml[0][1]
        result["ml_steam_net"] = _steam(ml, STEAM_PROB_MOVE)
    if totals:
        result["total_cut"] = totals[-1][1]
        result["total_move"] = totals[-1][1] - totals[0][1]
        result["total_steam_net"] = _steam(totals, STEAM_TOTAL_MOVE)
    result["total_cut_over_prob"] = over[-1] if over else NAN
    result["rl_cut_home_prob"] = rl[-1] if rl else NAN
    return result


def _steam(series: list[tuple], threshold: float) -> float:
    window = timedelta(minutes=STEAM_WINDOW_MINUTES)
    net, previous = 0.0, 0.0
    for time, current in series:
        reference = next(v for t, v in series if t >= time - window)
        change = current - reference
        direction = (1.0 if change > 0 else -1.0) if abs(change) >= threshold - 1e-9 else 0.0
        if direction != 0 and direction != previous:
            net += direction
        previous = direction
    return net


def _splits(target: pd.Series, splits: pd.DataFrame | None, cutoff: datetime, lines: dict) -> dict:
    result = {
        "ml_home_bets_pct": NAN,
        "ml_home_money_minus_bets": NAN,
        "total_over_bets_pct": NAN,
    }
    game_id = value(target, "game_id")
    if splits is not None and game_id is not None:
        for market, side, prefix in (
            ("moneyline", "home", "ml_home"),
            ("total", "over", "total_over"),
        ):
            rows = [
                row
                for _, row in splits.iterrows()
                if row["game_id"] == game_id
                and row["market"] == market
                and pd.Timestamp(row["captured_at"]) < cutoff
            ]
            rows = sorted(rows, key=lambda r: r["captured_at"])  # stable: input order on ties
            bets = [
                r["bets_pct"] if r["side"] == side else 100 - r["bets_pct"]
                for r in rows
                if not pd.isna(r["bets_pct"])
            ]
            money = [
                (r["money_pct"] if r["side"] == side else 100 - r["money_pct"])
                - (r["bets_pct"] if r["side"] == side else 100 - r["bets_pct"])
                for r in rows
                if not pd.isna(r["money_pct"]) and not pd.isna(r["bets_pct"])
            ]
            if bets:
                result[f"{prefix}_bets_pct"] = bets[-1]
            if market == "moneyline" and money:
                result["ml_home_money_minus_bets"] = money[-1]
    result["ml_rlm_home"] = _rlm(
        result["ml_home_bets_pct"], lines["ml_move_home_prob"], RLM_PROB_MOVE
    )
    result["total_rlm_over"] = _rlm(
        result["total_over_bets_pct"], lines["total_move"], RLM_TOTAL_MOVE
    )
    return result


def _rlm(bets: float, move: float, threshold: float) -> float:
    if math.isnan(bets) or math.isnan(move):
        return NAN
    if bets < 50 and move >= threshold - 1e-9:
        return 1.0
    if bets > 50 and move <= -threshold + 1e-9:
        return -1.0
    return 0.0


def _record(games: list[pd.Series], team: str) -> tuple[list[bool], list[float], list[float]]:
    """(at home?, runs scored, runs allowed) of ``team`` in each of ``games`` it played."""
    played = [g for g in games if team in (g["home_team"], g["away_team"])]
    at_home = [g["home_team"] == team for g in played]
    pairs = list(zip(played, at_home, strict=True))
    scored = [float(g["home_score"] if h else g["away_score"]) for g, h in pairs]
    allowed = [float(g["away_score"] if h else g["home_score"]) for g, h in pairs]
    return at_home, scored, allowed


def _team(
    past: list[pd.Series],
    last_season: list[pd.Series],
    league_runs: float,
    team: str,
    side: str,
    date: pd.Timestamp,
) -> dict[str, float]:
    games = [g for g in past if team in (g["home_team"], g["away_team"])]
    at_home, scored, allowed = _record(past, team)
    won = [s > a for s, a in zip(scored, allowed, strict=True)]
    n = len(games)
    last_home, last_scored, last_allowed = _record(last_season, team)
    last_won = [s > a for s, a in zip(last_scored, last_allowed, strict=True)]
    factor, weight = CARRY_TEAM_FACTOR, CARRY_TEAM_GAMES
    prior_scored = prior_allowed = None
    if last_scored:
        prior_scored = league_runs + factor * (mean_or_nan(last_scored) - league_runs)
        prior_allowed = league_runs + factor * (mean_or_nan(last_allowed) - league_runs)
    runs_scored = carried(sum(scored), n, prior_scored, weight)
    runs_allowed = carried(sum(allowed), n, prior_allowed, weight)
    result = {
        f"{side}_win_rate": carried_win_rate(
            sum(won), n, sum(last_won), len(last_won), factor, weight
        ),
        f"{side}_run_diff_per_game": runs_scored - runs_allowed,
        f"{side}_runs_scored_per_game": runs_scored,
        f"{side}_runs_allowed_per_game": runs_allowed,
        f"{side}_pythag": (
            pythag(
                [*scored, weight * prior_scored],
                [*allowed, weight * prior_allowed],
            )
            if last_scored
            else pythag(scored, allowed)
        ),
        f"{side}_games_played": float(n),
    }
    for window in FORM_WINDOWS:
        result[f"{side}_last{window}_win_rate"] = mean_or_nan([float(w) for w in won[-window:]])
        result[f"{side}_last{window}_pythag"] = pythag(scored[-window:], allowed[-window:])
        if window == LAST_N_GAMES:
            result[f"{side}_last{window}_runs_scored"] = mean_or_nan(scored[-window:])
            result[f"{side}_last{window}_runs_allowed"] = mean_or_nan(allowed[-window:])
    venue = [h if side == "home" else not h for h in at_home]
    last_venue = [h if side == "home" else not h for h in last_home]
    result[f"{side}_{side}_win_rate"] = carried_win_rate(
        sum(w for w, v in zip(won, venue, strict=True) if v),
        sum(venue),
        sum(w for w, v in zip(last_won, last_venue, strict=True) if v),
        sum(last_venue),
        factor,
        weight,
    )
    result[f"{side}_rest_days"] = (
        float((date - pd.Timestamp(games[-1]["game_date"]).normalize()).days) if games else NAN
    )
    week_start = date - timedelta(days=GAMES_WINDOW_DAYS)
    result[f"{side}_games_last{GAMES_WINDOW_DAYS}d"] = float(
        sum(1 for g in games if pd.Timestamp(g["game_date"]).normalize() >= week_start)
    )
    streak = 0
    for s, a in reversed(list(zip(scored, allowed, strict=True))):
        outcome = 1 if s > a else (-1 if s < a else 0)
        if outcome == 0 or (streak != 0 and (outcome > 0) != (streak > 0)):
            break
        streak += outcome
    result[f"{side}_win_streak"] = float(streak)
    venue_streak = 0
    for v in reversed(venue):
        if not v:
            break
        venue_streak += 1
    result[f"{side}_venue_streak"] = float(venue_streak)
    return result


def _starts(games: list[pd.Series], pitcher: str) -> list[tuple[float, bool, bool, pd.Timestamp]]:
    """(runs his team allowed, team won, credited with the win, date) of each of his starts."""
    starts = []
    for g in games:
        for pitcher_side, other in (("home", "away"), ("away", "home")):
            if value(g, f"{pitcher_side}_pitcher_id") == pitcher:
                starts.append(
                    (
                        float(g[f"{other}_score"]),
                        g[f"{pitcher_side}_score"] > g[f"{other}_score"],
                        value(g, "winning_pitcher_id") == pitcher,
                        pd.Timestamp(g["game_date"]).normalize(),
                    )
                )
    return starts


def _pitcher(
    past: list[pd.Series],
    last_season: list[pd.Series],
    league_runs: float,
    pitcher: str | None,
    side: str,
    date: pd.Timestamp,
) -> dict[str, float]:
    recent = PITCHER_RECENT_STARTS
    names = [
        f"{side}_sp_starts",
        f"{side}_sp_rest_days",
        f"{side}_sp_runs_allowed_last{recent}",
        f"{side}_sp_runs_allowed_per_start",
        f"{side}_sp_team_win_rate",
        f"{side}_sp_win_credit_share",
    ]
    if not pitcher:
        return dict.fromkeys(names, NAN)
    starts = _starts(past, pitcher)
    allowed = [start[0] for start in starts]
    won = [start[1] for start in starts]
    credited = [start[2] for start in starts]
    last = starts[-1][3] if starts else None
    before = _starts(last_season, pitcher)
    factor, weight = CARRY_PITCHER_FACTOR, CARRY_PITCHER_STARTS
    prior_allowed = (
        league_runs + factor * (mean_or_nan([s[0] for s in before]) - league_runs)
        if before
        else None
    )
    return dict(
        zip(
            names,
            (
                float(len(allowed)),
                float((date - last).days) if last is not None else NAN,
                mean_or_nan(allowed[-recent:]),
                carried(sum(allowed), len(allowed), prior_allowed, weight),
                carried_win_rate(
                    sum(won), len(won), sum(s[1] for s in before), len(before), factor, weight
                ),
                sum(credited) / sum(won) if sum(won) else NAN,
            ),
            strict=True,
        )
    )
