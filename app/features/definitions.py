"""Versioned feature sets.

A model is trained on one feature set and must refuse vectors of any other: compare
:attr:`FeatureSet.fingerprint`, a hash of the set's name, version and ordered feature
names. Changing the meaning, order or membership of features requires a new version.

``core`` v3 holds only information known before a game's CUTOFF (computed in
:mod:`app.features.pipeline`):

* the cutoff is ``BULLPEN_FEATURE_CUTOFF_MINUTES`` (default 60) before ``start_time``
  where the first pitch is known, else the start (00:00 UTC) of the game's date;
* team, head-to-head and pitcher history uses final games on STRICTLY EARLIER dates of
  the same season, plus the whole PREVIOUS season (calendar year - 1) as a carried prior:
  same-day games are never history (SBRO has dates, not times, so game 1 of a
  doubleheader may not have finished before game 2's cutoff);
* line snapshots and betting splits count only when captured strictly before the cutoff;
* the game's own opening prices (SBRO) are pre-game information and are used as is.

Missing is NaN, never a zero pretending to be data. Counts (games played, starts) are
true zeros when the history is empty. Win rates are shrunk toward .500 with a prior
worth ``PRIOR_GAMES`` games: ``(wins + PRIOR_GAMES / 2) / (games + PRIOR_GAMES)``, so a
team with no games yet is at exactly .500 and a 3-0 start is 0.615, not 1.0. A starting
pitcher's debut (no earlier start this season) has ``*_sp_starts`` = 0 and NaN for the
rest of his features: the count is the indicator, there is no invented prior.

Ratings carried across seasons (new in v3; "a new season is not empty"). A rate of the
current season is blended with a prior from the previous season's final record, regressed
toward the league mean:

    prior = mean + r * (last season's rate - mean)
    rate  = (this season's total + k * prior) / (this season's count + k)

``mean`` is .500 for win rates and the previous season's league runs per team-game for
run rates. ``r`` (the regression factor) and ``k`` (the prior's weight, a pseudo-count
in games or starts) were MEASURED on the training seasons 2010-2018 only (never on 2019)
from Retrosheet game logs, by a normal-normal model (``bench/carry_constants.py``):
``r`` is the year-to-year correlation of the rate between consecutive seasons; ``k`` is
the per-game noise variance divided by the variance of this season's true rate left
after the prior, ``var(rate) * (1 - r^2) - mean(noise / games)``:

* team record (``CARRY_TEAM_*``): win rate r = 0.47, k = 107; runs scored r = 0.51,
  k = 108; runs allowed r = 0.51, k = 77; run difference r = 0.50, k = 85 (239
  team-season pairs) -> one factor r = 0.5 and k = 100 games for all team rates;
* starting pitcher (``CARRY_PITCHER_*``; pitchers with >= 10 starts in both seasons,
  1,026 pairs): his team's runs allowed per start r = 0.26, k = 35; his team's win rate
  in his starts r = 0.20, k = 53 -> r = 0.25 and k = 35 starts;
* head-to-head (``CARRY_H2H_*``; 1,792 pair-seasons): r = 0.06, k = 17 -> r = 0.05,
  k = 17 games: last season's meetings say almost nothing beyond the teams' strength,
  which the team features carry.

Carried: win rates (overall, at the venue, head-to-head, in a pitcher's starts), runs
scored/allowed/difference per game, the Pythagorean expectation (of the blended runs) and
a pitcher's runs allowed per start. Not carried (this season only, as in v2): games and
start counts, last-N windows, rest days, games in the last week, streaks, a pitcher's
last-3 starts and win-credit share: last September's streak or rest says nothing about
April. An entity without a record last season (a team's first season in the data, a
pitcher without a start last season, teams that did not meet) has no prior: its rates
are v2's (.500 shrink with ``PRIOR_GAMES`` for win rates, raw means for runs).
"""

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property

PRIOR_GAMES = 10
LAST_N_GAMES = 10
FORM_WINDOWS = (LAST_N_GAMES, 30)
GAMES_WINDOW_DAYS = 7
PYTHAG_EXPONENT = 1.83
PITCHER_RECENT_STARTS = 3
DEFAULT_CUTOFF_MINUTES = 60
# Carried ratings: regression factor toward the league mean and prior weight (pseudo-count).
CARRY_TEAM_FACTOR = 0.5
CARRY_TEAM_GAMES = 100
CARRY_PITCHER_FACTOR = 0.25
CARRY_PITCHER_STARTS = 35
CARRY_H2H_FACTOR = 0.05
CARRY_H2H_GAMES = 17
# A steam move: the de-vigged home win probability moves by at least STEAM_PROB_MOVE
# (or the total by at least STEAM_TOTAL_MOVE runs) within STEAM_WINDOW_MINUTES.
STEAM_WINDOW_MINUTES = 15
STEAM_PROB_MOVE = 0.02
STEAM_TOTAL_MOVE = 0.5
# Reverse line movement needs the line to have moved at least this far from its open.
RLM_PROB_MOVE = 0.01
RLM_TOTAL_MOVE = 0.5


@dataclass(frozen=True)
class FeatureDef:
    """One feature: a column name and what it means."""

    name: str
    description: str


@dataclass(frozen=True)
class FeatureSet:
    """An ordered, versioned tuple of features."""

    name: str
    version: int
    features: tuple[FeatureDef, ...]

    def __post_init__(self) -> None:
        names = [feature.name for feature in self.features]
        if len(set(names)) != len(names):
            raise ValueError(f"feature set {self.name!r} has duplicate feature names")
        if not names:
            raise ValueError(f"feature set {self.name!r} has no features")

    @property
    def names(self) -> tuple[str, ...]:
        """Feature names in column order."""
        return tuple(feature.name for feature in self.features)

    @cached_property
    def fingerprint(self) -> str:
        """A stable 16-hex-digit hash of name, version and ordered feature names."""
        payload = json.dumps([self.name, self.version, list(self.names)], separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    @property
    def label(self) -> str:
        """``name:vN``, for logs and MLflow tags."""
        return f"{self.name}:v{self.version}"

    def __len__(self) -> int:
        return len(self.features)


def _shrunk(what: str) -> str:
    return f"{what}, shrunk: (wins + {PRIOR_GAMES // 2}) / (games + {PRIOR_GAMES})"


def _carried(what: str, factor: float, weight: int, unit: str, mean: str = ".500") -> str:
    return (
        f"{what}, blended with last season's final value regressed toward {mean} (factor "
        f"{factor}): (total + {weight} * prior) / ({unit} + {weight}); without a record last "
        "season, as core v2"
    )


def _market_features() -> tuple[FeatureDef, ...]:
    return (
        FeatureDef(
            "ml_open_home_prob",
            "home win probability from the opening moneyline, de-vigged multiplicatively",
        ),
        FeatureDef(
            "ml_open_overround",
            "opening moneyline overround: sum of raw implied probabilities - 1",
        ),
        FeatureDef("total_open", "opening total (runs); NaN when missing"),
        FeatureDef(
            "total_open_over_prob",
            "over probability from the opening total's prices, de-vigged multiplicatively; "
            "NaN when the total or either price is missing",
        ),
        FeatureDef(
            "total_open_overround",
            "opening total's overround: sum of raw implied over/under probabilities - 1",
        ),
        FeatureDef(
            "run_line_home",
            "the home side's run line (e.g. -1.5 as favourite, +1.5 as underdog): the line a "
            "home_spread prediction is graded against, so the model must know it; SBRO keeps "
            "only the closing run line, whose side follows the moneyline favourite; NaN when "
            "missing (seasons before 2014). Its closing PRICES are after the cutoff and unused",
        ),
    )


def _line_features() -> tuple[FeatureDef, ...]:
    before = "in the line history before the cutoff"
    return (
        FeatureDef(
            "line_snapshots",
            f"number of line snapshots {before}; NaN when the game has none",
        ),
        FeatureDef(
            "ml_cut_home_prob",
            f"de-vigged home win probability of the last moneyline {before}; NaN without one",
        ),
        FeatureDef(
            "ml_move_home_prob",
            "ml_cut_home_prob minus the de-vigged home probability of the first moneyline of "
            "the line history (its open): movement toward the home side is positive",
        ),
        FeatureDef("total_cut", f"the last total (runs) {before}; NaN without one"),
        FeatureDef("total_move", "total_cut minus the first total of the line history (runs)"),
        FeatureDef(
            "total_cut_over_prob",
            f"de-vigged over probability of the last priced total {before}",
        ),
        FeatureDef(
            "rl_cut_home_prob",
            f"de-vigged probability that the home side covers its run line, from the last "
            f"priced run line {before}",
        ),
        FeatureDef(
            "ml_steam_net",
            f"steam moves on the moneyline {before}, toward home minus toward away; a steam "
            f"move starts when the de-vigged home probability has moved by at least "
            f"{STEAM_PROB_MOVE} within {STEAM_WINDOW_MINUTES} minutes (consecutive snapshots "
            "in the same direction are one move); NaN without a moneyline history",
        ),
        FeatureDef(
            "total_steam_net",
            f"steam moves on the total {before}, up minus down; a steam move starts when the "
            f"total has moved by at least {STEAM_TOTAL_MOVE} runs within "
            f"{STEAM_WINDOW_MINUTES} minutes; NaN without a total history",
        ),
    )


def _split_features() -> tuple[FeatureDef, ...]:
    last = "in the last betting split captured before the cutoff"
    return (
        FeatureDef(
            "ml_home_bets_pct",
            f"share of moneyline bets on the home side (0-100) {last}; NaN without splits",
        ),
        FeatureDef(
            "ml_home_money_minus_bets",
            f"home share of moneyline money minus home share of bets (percentage points) {last}",
        ),
        FeatureDef(
            "ml_rlm_home",
            "reverse line movement on the moneyline: +1 when most bets are on the away side "
            f"but ml_move_home_prob >= {RLM_PROB_MOVE}, -1 for the mirror case, 0 otherwise; "
            "NaN without splits or without a line history",
        ),
        FeatureDef(
            "total_over_bets_pct",
            f"share of total bets on the over (0-100) {last}; NaN without splits",
        ),
        FeatureDef(
            "total_rlm_over",
            "reverse line movement on the total: +1 when most bets are on the under but "
            f"total_move >= {RLM_TOTAL_MOVE}, -1 for the mirror case, 0 otherwise; NaN "
            "without splits or without a line history",
        ),
    )


def _temporal_features() -> tuple[FeatureDef, ...]:
    return (
        FeatureDef("month", "calendar month of the game's date (1-12)"),
        FeatureDef(
            "is_night",
            "1 for a night game, 0 for a day game, from Retrosheet; NaN where not known "
            "(games without a game log, games not yet played unless the source gives it)",
        ),
        FeatureDef(
            "game_number",
            "0 for a single game, 1 or 2 for the first or second game of a doubleheader",
        ),
    )


def _team_features(side: str) -> tuple[FeatureDef, ...]:
    team = f"{side} team"
    season = f"{team}'s season to date before the game's date"
    none_yet = "NaN before its first game"
    runs = (CARRY_TEAM_FACTOR, CARRY_TEAM_GAMES, "games", "the league's runs per team-game")
    windows = tuple(
        definition
        for window in FORM_WINDOWS
        for definition in (
            FeatureDef(
                f"{side}_last{window}_win_rate",
                f"{team}'s win rate over its last {window} games this season before the "
                f"game's date (fewer if it has played fewer); {none_yet}",
            ),
            FeatureDef(
                f"{side}_last{window}_runs_scored",
                f"{team}'s runs scored per game over its last {window} games; {none_yet}",
            ),
            FeatureDef(
                f"{side}_last{window}_runs_allowed",
                f"{team}'s runs allowed per game over its last {window} games; {none_yet}",
            ),
            FeatureDef(
                f"{side}_last{window}_pythag",
                f"{team}'s Pythagorean win expectation RS^{PYTHAG_EXPONENT} / (RS^"
                f"{PYTHAG_EXPONENT} + RA^{PYTHAG_EXPONENT}) over its last {window} games; "
                f"{none_yet} or while it has neither scored nor allowed a run",
            ),
        )
        # Runs scored/allowed over the short window only; the long one has its Pythagorean.
        if window == LAST_N_GAMES or "_runs_" not in definition.name
    )
    venue = "home games" if side == "home" else "away games"
    return (
        FeatureDef(
            f"{side}_win_rate",
            _carried(f"{season}: win rate", CARRY_TEAM_FACTOR, CARRY_TEAM_GAMES, "games")
            + f" ((wins + {PRIOR_GAMES // 2}) / (games + {PRIOR_GAMES}))",
        ),
        FeatureDef(
            f"{side}_run_diff_per_game",
            f"{side}_runs_scored_per_game - {side}_runs_allowed_per_game; {none_yet} without "
            "a prior",
        ),
        FeatureDef(
            f"{side}_runs_scored_per_game",
            _carried(f"{season}: runs scored per game", *runs) + f"; {none_yet} without one",
        ),
        FeatureDef(
            f"{side}_runs_allowed_per_game",
            _carried(f"{season}: runs allowed per game", *runs) + f"; {none_yet} without one",
        ),
        FeatureDef(
            f"{side}_pythag",
            f"{season}: Pythagorean win expectation (exponent {PYTHAG_EXPONENT}) of the "
            f"blended runs scored and allowed; {none_yet} without a prior or while it has "
            "neither scored nor allowed",
        ),
        FeatureDef(
            f"{side}_games_played",
            f"games {team} has completed this season on dates before the game's date",
        ),
        *windows,
        FeatureDef(
            f"{side}_{side}_win_rate",
            _carried(
                f"{season}: win rate in its {venue}", CARRY_TEAM_FACTOR, CARRY_TEAM_GAMES, venue
            ),
        ),
        FeatureDef(
            f"{side}_rest_days",
            f"days between {team}'s previous game this season and this game's date "
            f"(1 = played yesterday); {none_yet}",
        ),
        FeatureDef(
            f"{side}_games_last{GAMES_WINDOW_DAYS}d",
            f"games {team} completed in the {GAMES_WINDOW_DAYS} days before the game's date",
        ),
        FeatureDef(
            f"{side}_win_streak",
            f"{team}'s current streak before the game's date: +n after n straight wins, -n "
            "after n straight losses (a tie ends a streak: 0); 0 before its first game",
        ),
        FeatureDef(
            f"{side}_venue_streak",
            f"consecutive {venue} {team} has played immediately before this game (a "
            f"{'homestand' if side == 'home' else 'road trip'} so far); 0 when its previous "
            "game was at the other venue or it has not played",
        ),
    )


def _head_to_head_features() -> tuple[FeatureDef, ...]:
    return (
        FeatureDef(
            "h2h_games",
            "games between the two teams this season (either venue) before the game's date",
        ),
        FeatureDef(
            "h2h_home_win_rate",
            _carried(
                "the home team's win rate against the away team in those games",
                CARRY_H2H_FACTOR,
                CARRY_H2H_GAMES,
                "games",
            ),
        ),
    )


def _pitcher_features(side: str) -> tuple[FeatureDef, ...]:
    pitcher = f"{side} starting pitcher (Retrosheet id)"
    debut = "NaN at his first start of the season or when the starter is unknown"
    return (
        FeatureDef(
            f"{side}_sp_starts",
            f"starts of the {pitcher} this season before the game's date; 0 = his first "
            "start of the season (debut indicator); NaN when the starter is unknown",
        ),
        FeatureDef(
            f"{side}_sp_rest_days",
            f"days since the {pitcher}'s previous start this season; {debut}",
        ),
        FeatureDef(
            f"{side}_sp_runs_allowed_last{PITCHER_RECENT_STARTS}",
            f"runs allowed by his team per game in the {pitcher}'s last "
            f"{PITCHER_RECENT_STARTS} starts this season (fewer if fewer); {debut}",
        ),
        FeatureDef(
            f"{side}_sp_runs_allowed_per_start",
            _carried(
                f"runs allowed by his team per game in all of the {pitcher}'s starts this season",
                CARRY_PITCHER_FACTOR,
                CARRY_PITCHER_STARTS,
                "starts",
                "the league's runs per team-game",
            )
            + f"; {debut} and without starts last season",
        ),
        FeatureDef(
            f"{side}_sp_team_win_rate",
            _carried(
                f"his team's win rate in the {pitcher}'s starts this season",
                CARRY_PITCHER_FACTOR,
                CARRY_PITCHER_STARTS,
                "starts",
            ),
        ),
        FeatureDef(
            f"{side}_sp_win_credit_share",
            f"innings proxy: of his team's wins in the {pitcher}'s starts this season, the "
            "share credited to him as winning pitcher (a starter needs at least 5 innings "
            "for the win, per Retrosheet's winning pitcher); NaN before his team has won one "
            "of his starts or when the starter is unknown",
        ),
    )


FEATURE_SET = FeatureSet(
    name="core",
    version=3,
    features=(
        *_market_features(),
        *_line_features(),
        *_split_features(),
        *_temporal_features(),
        *_team_features("home"),
        *_team_features("away"),
        *_head_to_head_features(),
        *_pitcher_features("home"),
        *_pitcher_features("away"),
    ),
)
