"""Named data-quality rules of the ingest pipeline and the pure checks that apply them.

Every rule has an action: ``rejected`` (the row or game is not curated), ``nulled`` (one
value or market is set to None, the game is curated) or ``corrected`` (a known defect is
repaired). Every firing is written to the quarantine table with the raw rows it concerns.
"""

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType


class Action(StrEnum):
    REJECTED = "rejected"
    NULLED = "nulled"
    CORRECTED = "corrected"


@dataclass(frozen=True)
class Rule:
    """A named data-quality rule: what it catches and what is done to the rows it fires on."""

    name: str
    action: Action
    description: str


@dataclass(frozen=True)
class Finding:
    """One firing of a rule on one or more source rows (1-based row numbers)."""

    rule: Rule
    message: str
    row_numbers: tuple[int, ...]


# --- SBRO workbook rules -------------------------------------------------------------------
SBRO_UNKNOWN_TEAM = Rule(
    "sbro_unknown_team_code",
    Action.REJECTED,
    "team code missing from SBRO_TO_CANONICAL",
)
SBRO_TEAM_CODE_INFERRED = Rule(
    "sbro_team_code_inferred",
    Action.CORRECTED,
    "team code unknown to SBRO_TO_CANONICAL, read as the one team no known code of the file "
    "covers (the unknown codes and the uncovered teams pair one-to-one by initial)",
)
SBRO_SAME_TEAM = Rule(
    "sbro_same_team_both_sides",
    Action.REJECTED,
    "a team plays itself",
)
SBRO_INVALID_DATE = Rule(
    "sbro_invalid_date",
    Action.REJECTED,
    "Date is not an MDD/MMDD day of the file's season",
)
SBRO_UNPAIRED_ROW = Rule(
    "sbro_unpaired_row",
    Action.REJECTED,
    "row has no visitor/home partner next to it",
)
SBRO_ROTATION_FIXED = Rule(
    "sbro_rotation_number_fixed",
    Action.CORRECTED,
    "V row followed by its H row whose rotation is not visitor + 1 (e.g. 2018-05-18 CIN 907)",
)
SBRO_PAIR_DATE_FIXED = Rule(
    "sbro_pair_date_mismatch_fixed",
    Action.CORRECTED,
    "visitor and home rows differ by one day; the home row's date is kept (2010 CIN@CHN)",
)
SBRO_PAIR_DATE_MISMATCH = Rule(
    "sbro_pair_date_mismatch",
    Action.REJECTED,
    "visitor and home rows differ by over one day",
)
SBRO_MISSING_FINAL = Rule(
    "sbro_missing_final_score",
    Action.REJECTED,
    "Final is NL/blank: the game was not played",
)
SBRO_TIE_FINAL = Rule(
    "sbro_tie_final_score",
    Action.REJECTED,
    "both finals equal: impossible for a finished game",
)
SBRO_DUPLICATE_GAME = Rule(
    "sbro_duplicate_game",
    Action.REJECTED,
    "a third game of the same teams on the same date",
)
SBRO_LINE_SCORE_INCONSISTENT = Rule(
    "sbro_line_score_exceeds_final",
    Action.NULLED,
    "innings sum above the final: line nulled",
)
SBRO_PITCHER_MISSING = Rule(
    "sbro_pitcher_missing",
    Action.NULLED,
    "Pitcher blank or UNDECIDED: pitcher nulled",
)
SBRO_PITCHER_HAND_UNKNOWN = Rule(
    "sbro_pitcher_hand_unknown",
    Action.NULLED,
    "Pitcher lacks an -L/-R suffix: hand nulled",
)
SBRO_PITCHER_HAND_INFERRED = Rule(
    "sbro_pitcher_hand_inferred",
    Action.CORRECTED,
    "Pitcher lacks an -L/-R suffix (2020+ archives): the one hand the same name has elsewhere "
    "in the file",
)
SBRO_FRACTION_GLYPH = Rule(
    "sbro_fraction_glyph_total",
    Action.CORRECTED,
    "total written as text like '8½' read as 8.5",
)
SBRO_NOT_LISTED = Rule(
    "sbro_price_not_listed",
    Action.NULLED,
    "NL/pk/blank where a number is due: market nulled",
)
SBRO_UNREADABLE_NUMBER = Rule(
    "sbro_unreadable_number",
    Action.NULLED,
    "text that is no number where one is due",
)
SBRO_PRICE_OUT_OF_RANGE = Rule(
    "sbro_price_out_of_range",
    Action.NULLED,
    "American price with |price| < 100 or > 1000 (e.g. -6, -1105, -1235): market nulled",
)
SBRO_IMPLAUSIBLE_MARGIN = Rule(
    "sbro_implausible_margin",
    Action.NULLED,
    "the two prices imply a bookmaker margin outside 0-10% (e.g. -168/-140): market nulled",
)
SBRO_TOTAL_OUT_OF_RANGE = Rule(
    "sbro_total_out_of_range",
    Action.NULLED,
    "total outside 3-25 runs or different on the two rows (e.g. 104): market nulled",
)
SBRO_RUN_LINE_INCONSISTENT = Rule(
    "sbro_run_line_inconsistent",
    Action.NULLED,
    "run lines not opposite, zero or above 5 runs (e.g. -1.5/-1.5): market nulled",
)

# --- Retrosheet game-log rules -------------------------------------------------------------
RETROSHEET_FIELD_COUNT = Rule(
    "retrosheet_wrong_field_count",
    Action.REJECTED,
    "a game-log line without 161 fields",
)
RETROSHEET_UNKNOWN_TEAM = Rule(
    "retrosheet_unknown_team_code",
    Action.REJECTED,
    "team code missing from the canonical set",
)
RETROSHEET_UNPARSEABLE = Rule(
    "retrosheet_unparseable_row",
    Action.REJECTED,
    "date, game number or score unreadable",
)
RETROSHEET_DUPLICATE_GAME = Rule(
    "retrosheet_duplicate_game_id",
    Action.REJECTED,
    "a second line with the same game id",
)
RETROSHEET_BOX_RUNS_DISAGREE = Rule(
    "retrosheet_box_runs_disagree",
    Action.NULLED,
    "a team's line score is unreadable or does not add up to its final score: that team's "
    "box score is not stored",
)
RETROSHEET_BOX_UNREADABLE = Rule(
    "retrosheet_box_value_unreadable",
    Action.NULLED,
    "a box-score count blank or not a number",
)
RETROSHEET_BOX_NEGATIVE = Rule(
    "retrosheet_box_negative_count",
    Action.NULLED,
    "a negative box-score count: value nulled",
)
RETROSHEET_BOX_HITS_INCONSISTENT = Rule(
    "retrosheet_box_hits_inconsistent",
    Action.NULLED,
    "hits fewer than doubles + triples + home runs (e.g. H < HR): the four hit counts nulled",
)

# --- Rules between sources (app/ingest/retrosheet/reconcile.py) ----------------------------
GAME_KEY_TAKEN = Rule(
    "sources_game_key_taken",
    Action.REJECTED,
    "a game no curated game matched, whose date, teams and game number belong to a curated "
    "game another game of the same file matched (a doubleheader the sources number "
    "differently): not curated",
)
FINAL_SCORE_SOURCES_DISAGREE = Rule(
    "sources_final_score_disagree",
    Action.CORRECTED,
    "a second source's final (the odds archive's or the schedule feed's) differs from "
    "Retrosheet's for a matched game: the official scorer's record (Retrosheet) is the final",
)
SOURCES_DATE_DISAGREE = Rule(
    "sources_date_disagree",
    Action.CORRECTED,
    "a second source dates a game a day away from Retrosheet (same teams, same score): the "
    "same game, matched; it keeps the date it was curated with",
)
SEVEN_INNING_DOUBLEHEADER = Rule(
    "sources_seven_inning_doubleheader",
    Action.CORRECTED,
    "a 2020-2021 doubleheader game was scheduled for seven innings, not nine",
)

# --- Line-history (Pinnacle) rules ---------------------------------------------------------
LINES_EVENT_TIME_SHIFTED = Rule(
    "lines_event_time_shifted",
    Action.CORRECTED,
    "event times run ~3 h late: shifted by the file's measured offset (last line = first pitch)",
)
LINES_NOT_A_TEAM = Rule(
    "lines_not_a_team",
    Action.REJECTED,
    "a team name with no canonical code (e.g. All-Star game)",
)
LINES_UNPARSEABLE_GAME = Rule(
    "lines_unparseable_game_row",
    Action.REJECTED,
    "game row with an unreadable time, id or score",
)
LINES_DUPLICATE_GAME_IDX = Rule(
    "lines_duplicate_game_idx",
    Action.REJECTED,
    "a second game row with the same game_idx",
)
LINES_GAME_UNMATCHED = Rule(
    "lines_game_unmatched",
    Action.REJECTED,
    "no curated game with these teams and score on the local date (or a day either side)",
)
LINES_SCORE_DISAGREES = Rule(
    "lines_score_disagrees",
    Action.CORRECTED,
    "the one game of these teams on that date has another score: joined, curated score kept",
)
LINES_OF_REJECTED_GAME = Rule(
    "lines_of_rejected_game",
    Action.REJECTED,
    "line of a game that was rejected or not matched",
)
LINES_UNKNOWN_GAME_IDX = Rule(
    "lines_unknown_game_idx",
    Action.REJECTED,
    "line whose game_idx has no game row",
)
LINES_UNPARSEABLE_LINE = Rule(
    "lines_unparseable_line",
    Action.REJECTED,
    "line with an unreadable timestamp or number",
)
LINES_DUPLICATE_TIMESTAMP = Rule(
    "lines_duplicate_timestamp",
    Action.REJECTED,
    "a second line of a game at the same instant",
)
LINES_AFTER_FIRST_PITCH = Rule(
    "lines_after_first_pitch",
    Action.REJECTED,
    "line entered after the true first pitch (live or postponed-game line): not a pre-game line",
)
LINES_MARKET_NOT_OFFERED = Rule(
    "lines_market_not_offered",
    Action.NULLED,
    "a market blank on a line (about 5% of lines lack a run line): that market is null",
)
LINES_PRICE_OUT_OF_RANGE = Rule(
    "lines_price_out_of_range",
    Action.NULLED,
    "American price with |price| < 100 or > 1000 (e.g. over -105114): market nulled",
)
LINES_IMPLAUSIBLE_MARGIN = Rule(
    "lines_implausible_margin",
    Action.NULLED,
    "the two prices imply a bookmaker margin outside 0-10%: market nulled",
)
LINES_TOTAL_OUT_OF_RANGE = Rule(
    "lines_total_out_of_range",
    Action.NULLED,
    "total outside 3-25 runs: market nulled",
)
LINES_RUN_LINE_OUT_OF_RANGE = Rule(
    "lines_run_line_out_of_range",
    Action.NULLED,
    "run line zero or above 5 runs: market nulled",
)

# --- Betting-splits rules (docs/betting-splits.md) -----------------------------------------
SPLITS_MISSING_COLUMN = Rule(
    "splits_missing_column",
    Action.REJECTED,
    "a required column is blank on the row",
)
SPLITS_BAD_TIME = Rule(
    "splits_bad_captured_at",
    Action.REJECTED,
    "captured_at is not ISO 8601 with a UTC offset (a naive time is ambiguous)",
)
SPLITS_BAD_MARKET = Rule(
    "splits_bad_market",
    Action.REJECTED,
    "market is not moneyline, total or run_line",
)
SPLITS_BAD_SIDE = Rule(
    "splits_bad_side",
    Action.REJECTED,
    "side does not belong to the market (home/away for moneyline and run_line, over/under)",
)
SPLITS_BAD_PERCENT = Rule(
    "splits_bad_percent",
    Action.REJECTED,
    "bets_pct or money_pct unreadable or outside 0-100, or both blank",
)
SPLITS_UNKNOWN_TEAM = Rule(
    "splits_unknown_team",
    Action.REJECTED,
    "team code with no canonical (Retrosheet) code",
)
SPLITS_UNKNOWN_GAME = Rule(
    "splits_unknown_game",
    Action.REJECTED,
    "no curated game with this date, teams and number",
)
SPLITS_DUPLICATE_ROW = Rule(
    "splits_duplicate_row",
    Action.REJECTED,
    "same game, source, time, market and side twice",
)

# --- Live feeds (app/feeds: the schedule and the odds API) ----------------------------------
FEEDS_MALFORMED_RESPONSE = Rule(
    "feeds_malformed_response",
    Action.REJECTED,
    "a feed response that is not JSON or not the provider's documented shape: nothing of it "
    "is curated",
)
FEEDS_UNPARSEABLE_GAME = Rule(
    "feeds_unparseable_game",
    Action.REJECTED,
    "a schedule game with a missing or unreadable gamePk, date, status, team or game number",
)
FEEDS_UNKNOWN_TEAM = Rule(
    "feeds_unknown_team",
    Action.REJECTED,
    "a team id, abbreviation or name with no canonical code (e.g. an All-Star team)",
)
FEEDS_NOT_A_LEAGUE_GAME = Rule(
    "feeds_not_a_league_game",
    Action.REJECTED,
    "a spring-training, exhibition or All-Star game (gameType S, E or A)",
)
FEEDS_GAME_KEY_TAKEN = Rule(
    "feeds_game_key_taken",
    Action.REJECTED,
    "the date, teams and game number belong to a curated game of another gamePk",
)
FEEDS_FINAL_WITHOUT_SCORE = Rule(
    "feeds_final_without_score",
    Action.NULLED,
    "a game final by its status without both scores: the result is not written",
)
FEEDS_LINEUP_UNREADABLE = Rule(
    "feeds_lineup_unreadable",
    Action.NULLED,
    "a posted lineup that is not nine players with an id and a name: not stored (the game "
    "keeps the lineup stored before, if any)",
)
FEEDS_UNPARSEABLE_EVENT = Rule(
    "feeds_unparseable_event",
    Action.REJECTED,
    "an odds event with a missing or unreadable id, commence_time, team or bookmaker list",
)
FEEDS_ODDS_GAME_UNMATCHED = Rule(
    "feeds_odds_game_unmatched",
    Action.REJECTED,
    "no curated game (or more than one, none nearer in start time) with these teams on the "
    "event's US Eastern date",
)
FEEDS_ODDS_MARKET_UNREADABLE = Rule(
    "feeds_odds_market_unreadable",
    Action.NULLED,
    "a market whose outcomes are missing, unnamed or without a numeric price or point: "
    "market nulled",
)
FEEDS_ODDS_MARKET_IMPLAUSIBLE = Rule(
    "feeds_odds_market_implausible",
    Action.NULLED,
    "prices out of range or with a margin outside 0-10%, a total outside 3-25 runs or a run "
    "line that is zero, above 5 runs or not opposite: market nulled",
)
FEEDS_ODDS_AFTER_FIRST_PITCH = Rule(
    "feeds_odds_after_first_pitch",
    Action.REJECTED,
    "a bookmaker's quote updated at or after first pitch: a live line, not a pre-game line",
)
FEEDS_ODDS_NO_MARKET = Rule(
    "feeds_odds_no_market",
    Action.REJECTED,
    "a bookmaker quote with no readable h2h, totals or spreads market",
)

ALL_RULES = MappingProxyType(
    {rule.name: rule for rule in globals().copy().values() if isinstance(rule, Rule)}
)

# --- Pure value checks ---------------------------------------------------------------------
NOT_LISTED_MARKERS = frozenset({"", "NL", "PK", "N/L", "-"})
MIN_PRICE, MAX_PRICE = 100, 1000
MIN_OVERROUND, MAX_OVERROUND = 1.0, 1.10
MIN_TOTAL, MAX_TOTAL = 3.0, 25.0
MAX_RUN_LINE = 5.0
_PITCHER_PATTERN = re.compile(r"^(?P<name>.*?)-(?P<hand>[A-Z])$")
_PITCHER_MISSING_MARKERS = frozenset({"", "UNDECIDED", "TBA", "TBD"})


@dataclass(frozen=True)
class Parsed:
    """A parsed cell: the value (None when unusable) and the rule that fired, if any."""

    value: float | None
    rule: Rule | None = None
    detail: str = ""


def parse_number(cell: str | None) -> Parsed:
    """A numeric cell: NL/pk/blank and unreadable text become None, '8½' becomes 8.5."""
    text = (cell or "").strip()
    if text.upper() in NOT_LISTED_MARKERS:
        return Parsed(None, SBRO_NOT_LISTED, repr(cell))
    if text.endswith("½"):
        whole = text[:-1].strip()
        try:
            base = float(whole) if whole not in ("", "-", "+") else 0.0
        except ValueError:
            return Parsed(None, SBRO_UNREADABLE_NUMBER, repr(cell))
        half = -0.5 if whole.startswith("-") else 0.5  # '-1½' is -1.5
        return Parsed(base + half, SBRO_FRACTION_GLYPH, repr(cell))
    try:
        return Parsed(float(text))
    except ValueError:
        return Parsed(None, SBRO_UNREADABLE_NUMBER, repr(cell))


def implied_probability(price: float) -> float:
    """The probability an American price implies, margin included."""
    return 100.0 / (price + 100.0) if price > 0 else -price / (-price + 100.0)


def check_price_pair(first: float, second: float) -> tuple[Rule, str] | None:
    """The rule a two-way market's prices break, or None when they are plausible.

    Two negative moneylines are not corrupt by themselves (a -105/-105 pick'em is common);
    the implied margin decides.
    """
    for price in (first, second):
        if not MIN_PRICE <= abs(price) <= MAX_PRICE:
            return SBRO_PRICE_OUT_OF_RANGE, f"price {price:g}"
    overround = implied_probability(first) + implied_probability(second)
    if not MIN_OVERROUND <= overround <= MAX_OVERROUND:
        return SBRO_IMPLAUSIBLE_MARGIN, f"prices {first:g}/{second:g} sum to {overround:.3f}"
    return None


def check_total(visitor_total: float, home_total: float) -> tuple[Rule, str] | None:
    """The rule a pair of total lines breaks, or None."""
    if visitor_total != home_total or not MIN_TOTAL <= visitor_total <= MAX_TOTAL:
        return SBRO_TOTAL_OUT_OF_RANGE, f"totals {visitor_total:g}/{home_total:g}"
    return None


def check_run_line(visitor_line: float, home_line: float) -> tuple[Rule, str] | None:
    """The rule a pair of run lines breaks, or None."""
    if visitor_line != -home_line or visitor_line == 0 or abs(visitor_line) > MAX_RUN_LINE:
        return SBRO_RUN_LINE_INCONSISTENT, f"run lines {visitor_line:g}/{home_line:g}"
    return None


def split_pitcher(cell: str | None) -> tuple[str | None, str | None, Rule | None]:
    """(name, hand, rule) from a cell like 'MSCHERZER-R'; the name is upper-cased."""
    text = (cell or "").strip().upper()
    if text in _PITCHER_MISSING_MARKERS:
        return None, None, SBRO_PITCHER_MISSING
    match = _PITCHER_PATTERN.match(text)
    if match is None or not match["name"]:
        return text, None, SBRO_PITCHER_HAND_UNKNOWN
    if match["hand"] not in ("L", "R"):  # e.g. 'DAVIES-Z'
        return match["name"], None, SBRO_PITCHER_HAND_UNKNOWN
    return match["name"], match["hand"], None


def pitcher_hands_by_name(cells: Iterable[str | None]) -> dict[str, str]:
    """Pitcher name -> hand, for the names that appear with exactly one hand suffix."""
    hands: dict[str, set[str]] = {}
    for cell in cells:
        name, hand, _ = split_pitcher(cell)
        if name is not None and hand is not None:
            hands.setdefault(name, set()).add(hand)
    return {name: next(iter(seen)) for name, seen in hands.items() if len(seen) == 1}
