"""Parse sportsbookreviewsonline.com MLB odds workbooks into typed games.

Two rows a game (visitor then home, paired on consecutive rotation numbers), dates as
MDD/MMDD integers whose year is in the file name, and a column layout that changes by
season (no run line before 2014). Every defect found is a :class:`~app.ingest.rules.Finding`.
"""

from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from app.ingest import headers, rules
from app.ingest.curated import game_key
from app.ingest.rules import Finding, Rule
from app.ingest.sbro.layout import (
    ColumnLayout,
    RawRow,
    Workbook,
    detect_columns,
    season_from_file_name,
)
from app.ingest.teams import canonical_from_sbro, infer_unknown_sbro_codes

# A regular season ends with all 30 teams playing (15 games); no postseason day has more than
# 8 games (the 2020 wild-card round). Used only until the season's Retrosheet log is ingested.
MIN_GAMES_ON_A_REGULAR_SEASON_DAY = 10
# Fewer games than this on either side of a layout test: keep the documented default.
MIN_LAYOUT_EVIDENCE = 30


Note = Callable[[Rule, str], None]
LineCheck = Callable[[float, float], tuple[Rule, str] | None]


@dataclass
class SbroGame:
    """A typed game from one visitor/home row pair (staging)."""

    season: int
    game_date: date
    visitor_row_number: int
    home_row_number: int
    visitor_rotation: int | None
    home_rotation: int | None
    away_sbro_code: str
    home_sbro_code: str
    away_team: str
    home_team: str
    away_score: int
    home_score: int
    neutral_site: bool
    away_pitcher: str | None = None
    away_pitcher_hand: str | None = None
    home_pitcher: str | None = None
    home_pitcher_hand: str | None = None
    away_line_score: tuple[int | None, ...] = ()
    home_line_score: tuple[int | None, ...] = ()
    away_ml_open: int | None = None
    home_ml_open: int | None = None
    away_ml_close: int | None = None
    home_ml_close: int | None = None
    total_open: float | None = None
    over_open: int | None = None
    under_open: int | None = None
    total_close: float | None = None
    over_close: int | None = None
    under_close: int | None = None
    home_rl: float | None = None
    home_rl_price: int | None = None
    away_rl_price: int | None = None
    game_number: int = 0
    postseason: bool = False
    findings: list[Finding] = field(default_factory=list)

    @property
    def row_numbers(self) -> tuple[int, int]:
        return (self.visitor_row_number, self.home_row_number)

    @property
    def game_key(self) -> str:
        """The curated natural key "YYYYMMDD-HOME-AWAY-N"."""
        return game_key(self.game_date, self.home_team, self.away_team, self.game_number)


@dataclass(frozen=True)
class TotalLayout:
    """Which row of a pair carries the over price, decided per file from the data itself."""

    visitor_row_is_over_open: bool
    visitor_row_is_over_close: bool
    evidence: dict[str, float | int]


@dataclass
class SbroParse:
    """Games, rejections, the over/under row layout and, per column role, how it was found.

    ``columns`` maps each role (``date``, ``rotation``, ..., ``close_total_price``) to its
    column index, header text, ``decided_by`` ("header", "content", "position" or "absent"),
    content fit and content statistics: JSON, stored with the file.
    """

    games: list[SbroGame]
    rejections: list[Finding]
    total_layout: TotalLayout
    columns: dict[str, dict] = field(default_factory=dict)


def _cell(row: RawRow, index: int | None) -> str | None:
    if index is None or index >= len(row.cells):
        return None
    return row.cells[index]


def _int_or_none(text: str | None) -> int | None:
    try:
        return int(float((text or "").strip()))
    except ValueError:
        return None


def _side(row: RawRow, layout: ColumnLayout) -> str:
    return (_cell(row, layout.side) or "").strip().upper()


def pair_rows(
    rows: Sequence[RawRow], layout: ColumnLayout
) -> tuple[list[tuple[RawRow, RawRow, list[Finding]]], list[Finding]]:
    """Visitor/home row pairs in file order, and the rows that have no partner."""
    pairs: list[tuple[RawRow, RawRow, list[Finding]]] = []
    unpaired: list[Finding] = []
    index = 0
    while index < len(rows):
        first = rows[index]
        second = rows[index + 1] if index + 1 < len(rows) else None
        paired = second is not None and _pairs_with(first, second, layout)
        if not paired or second is None:
            unpaired.append(
                Finding(
                    rules.SBRO_UNPAIRED_ROW,
                    f"VH={_side(first, layout)!r} Rot={_cell(first, layout.rotation)!r} "
                    f"Team={_cell(first, layout.team)!r} has no partner row",
                    (first.row_number,),
                )
            )
            index += 1
            continue
        findings: list[Finding] = []
        visitor_rotation = _int_or_none(_cell(first, layout.rotation))
        home_rotation = _int_or_none(_cell(second, layout.rotation))
        if visitor_rotation is not None and home_rotation != visitor_rotation + 1:
            findings.append(
                Finding(
                    rules.SBRO_ROTATION_FIXED,
                    f"home rotation {home_rotation} read as {visitor_rotation + 1}",
                    (first.row_number, second.row_number),
                )
            )
        pairs.append((first, second, findings))
        index += 2
    return pairs, unpaired


def _pairs_with(first: RawRow, second: RawRow, layout: ColumnLayout) -> bool:
    first_side, second_side = _side(first, layout), _side(second, layout)
    first_rotation = _int_or_none(_cell(first, layout.rotation))
    second_rotation = _int_or_none(_cell(second, layout.rotation))
    if first_rotation is None or second_rotation is None:
        return False
    consecutive = first_rotation % 2 == 1 and second_rotation == first_rotation + 1
    if first_side == "N" and second_side == "N":
        return consecutive
    if (first_side, second_side) != ("V", "H"):
        return False
    if consecutive:
        return True
    # A mistyped home rotation (2018-05-18: CUB 907 then CIN 907): same day, off by at most one.
    same_day = _cell(first, layout.date) == _cell(second, layout.date)
    return same_day and abs(second_rotation - (first_rotation + 1)) <= 1


def _parse_day(text: str | None, season: int) -> date | None:
    return headers.read_day(text, season)


class _Rejected(Exception):
    def __init__(self, rule: Rule, message: str) -> None:
        super().__init__(message)
        self.rule = rule
        self.message = message


@dataclass(frozen=True)
class _FileKnowledge:
    """What the whole file says about values one row leaves open."""

    inferred_teams: Mapping[str, str]
    pitcher_hands: Mapping[str, str]


def _build_game(
    visitor: RawRow,
    home: RawRow,
    findings: list[Finding],
    layout: ColumnLayout,
    season: int,
    known: _FileKnowledge,
) -> SbroGame:
    rows = (visitor.row_number, home.row_number)

    def note(rule: Rule, message: str) -> None:
        findings.append(Finding(rule, message, rows))

    visitor_day = _parse_day(_cell(visitor, layout.date), season)
    home_day = _parse_day(_cell(home, layout.date), season)
    if visitor_day is None or home_day is None:
        raise _Rejected(
            rules.SBRO_INVALID_DATE,
            f"dates {_cell(visitor, layout.date)!r}/{_cell(home, layout.date)!r} in {season}",
        )
    if visitor_day != home_day:
        if abs(visitor_day - home_day) > timedelta(days=1):
            raise _Rejected(rules.SBRO_PAIR_DATE_MISMATCH, f"dates {visitor_day}/{home_day}")
        note(rules.SBRO_PAIR_DATE_FIXED, f"visitor date {visitor_day} read as {home_day}")

    away_code = (_cell(visitor, layout.team) or "").strip()
    home_code = (_cell(home, layout.team) or "").strip()
    away_team = _team(away_code, known, note)
    home_team = _team(home_code, known, note)
    if away_team == home_team:
        raise _Rejected(rules.SBRO_SAME_TEAM, f"{away_code} plays {home_code}")

    away_score = _int_or_none(_cell(visitor, layout.final))
    home_score = _int_or_none(_cell(home, layout.final))
    if away_score is None or home_score is None:
        raise _Rejected(
            rules.SBRO_MISSING_FINAL,
            f"finals {_cell(visitor, layout.final)!r}/{_cell(home, layout.final)!r}",
        )
    if away_score == home_score:
        raise _Rejected(rules.SBRO_TIE_FINAL, f"final {away_score}-{home_score}")

    game = SbroGame(
        season=season,
        game_date=home_day,
        visitor_row_number=visitor.row_number,
        home_row_number=home.row_number,
        visitor_rotation=_int_or_none(_cell(visitor, layout.rotation)),
        home_rotation=_int_or_none(_cell(home, layout.rotation)),
        away_sbro_code=away_code,
        home_sbro_code=home_code,
        away_team=away_team,
        home_team=home_team,
        away_score=away_score,
        home_score=home_score,
        neutral_site=_side(visitor, layout) == "N",
        findings=findings,
    )
    game.away_line_score = _line_score(visitor, layout, away_score, "away", note)
    game.home_line_score = _line_score(home, layout, home_score, "home", note)
    game.away_pitcher, game.away_pitcher_hand = _pitcher(visitor, layout, "away", known, note)
    game.home_pitcher, game.home_pitcher_hand = _pitcher(home, layout, "home", known, note)

    game.away_ml_open, game.home_ml_open = _moneyline(visitor, home, layout.open, "ml_open", note)
    game.away_ml_close, game.home_ml_close = _moneyline(
        visitor, home, layout.close, "ml_close", note
    )
    game.total_open, game.over_open, game.under_open = _total(
        visitor, home, layout.open_total, "total_open", note
    )
    game.total_close, game.over_close, game.under_close = _total(
        visitor, home, layout.close_total, "total_close", note
    )
    if layout.run_line is not None:
        game.home_rl, game.home_rl_price, game.away_rl_price = _run_line(
            visitor, home, layout.run_line, note
        )
    return game


def _line_score(row: RawRow, layout: ColumnLayout, final: int, side: str, note: Note) -> tuple:
    innings = tuple(_int_or_none(_cell(row, index)) for index in layout.innings)
    scored = sum(runs for runs in innings if runs is not None)
    if scored > final:
        note(rules.SBRO_LINE_SCORE_INCONSISTENT, f"{side} innings sum {scored} > final {final}")
        return ()
    return innings


def _team(code: str, known: _FileKnowledge, note: Note) -> str:
    team = canonical_from_sbro(code)
    if team is not None:
        return team
    inferred = known.inferred_teams.get(code.upper())
    if inferred is None:
        raise _Rejected(rules.SBRO_UNKNOWN_TEAM, f"unknown SBRO team code {code!r}")
    note(
        rules.SBRO_TEAM_CODE_INFERRED,
        f"team code {code!r} read as {inferred}, the one team no known code of the file covers",
    )
    return inferred


def _pitcher(
    row: RawRow, layout: ColumnLayout, side: str, known: _FileKnowledge, note: Note
) -> tuple:
    cell = _cell(row, layout.pitcher)
    name, hand, rule = rules.split_pitcher(cell)
    if rule is rules.SBRO_PITCHER_HAND_UNKNOWN and name in known.pitcher_hands:
        hand = known.pitcher_hands[name]
        rule = rules.SBRO_PITCHER_HAND_INFERRED
        note(rule, f"{side} pitcher {cell!r}: hand {hand} as elsewhere in the file")
    elif rule is not None:
        note(rule, f"{side} pitcher {cell!r}")
    return name, hand


def _numbers(cells: Iterable[str | None], market: str, note: Note) -> list[float] | None:
    """Parsed numbers of one market's cells, or None (after noting why) when one is unusable."""
    values: list[float] = []
    for cell in cells:
        parsed = rules.parse_number(cell)
        if parsed.rule is not None:
            note(parsed.rule, f"{market}: {parsed.detail}")
        if parsed.value is None:
            return None
        values.append(parsed.value)
    return values


def _moneyline(visitor: RawRow, home: RawRow, column: int, market: str, note: Note) -> tuple:
    values = _numbers((_cell(visitor, column), _cell(home, column)), market, note)
    if values is None:
        return None, None
    broken = rules.check_price_pair(values[0], values[1])
    if broken is not None:
        note(broken[0], f"{market}: {broken[1]}")
        return None, None
    return int(values[0]), int(values[1])


def _line_and_prices(
    visitor: RawRow, home: RawRow, column: int, market: str, check_line: LineCheck, note: Note
) -> tuple[float, float, int, int] | None:
    """Both rows' line and price (the price right of the line), or None (after noting why)."""
    cells = (
        _cell(visitor, column),
        _cell(home, column),
        _cell(visitor, column + 1),
        _cell(home, column + 1),
    )
    values = _numbers(cells, market, note)
    if values is None:
        return None
    visitor_line, home_line, visitor_price, home_price = values
    broken = check_line(visitor_line, home_line) or rules.check_price_pair(
        visitor_price, home_price
    )
    if broken is not None:
        note(broken[0], f"{market}: {broken[1]}")
        return None
    return visitor_line, home_line, int(visitor_price), int(home_price)


def _total(visitor: RawRow, home: RawRow, column: int, market: str, note: Note) -> tuple:
    checked = _line_and_prices(visitor, home, column, market, rules.check_total, note)
    if checked is None:
        return None, None, None
    visitor_total, _, visitor_price, home_price = checked
    # Visitor row = over until detect_total_layout says otherwise for this file.
    return visitor_total, visitor_price, home_price


def _run_line(visitor: RawRow, home: RawRow, column: int, note: Note) -> tuple:
    checked = _line_and_prices(visitor, home, column, "run_line", rules.check_run_line, note)
    if checked is None:
        return None, None, None
    _, home_line, visitor_price, home_price = checked
    return home_line, home_price, visitor_price


def _share(hits: int, total: int) -> float:
    return hits / total if total else 0.0


def detect_total_layout(games: Sequence[SbroGame]) -> TotalLayout:
    """Decide from line movement which row carries the over price, for open and close.

    Opening: when the over is the juiced side at the open, bettors are on the over and the
    total tends to move up by the close. Closing: after a total moves down the over is
    usually the juiced side at the new number, and after it moves up the under is.
    Reads ``over_*`` as the visitor row's price and ``under_*`` as the home row's.
    """
    up_after = Counter[str]()
    seen = Counter[str]()
    close_juiced = Counter[str]()
    moved = Counter[str]()
    for game in games:
        if game.total_open is None or game.total_close is None:
            continue
        if game.total_open == game.total_close:
            continue
        went_up = game.total_close > game.total_open
        if None not in (game.over_open, game.under_open) and game.over_open != game.under_open:
            juiced = "visitor" if game.over_open < game.under_open else "home"
            seen[juiced] += 1
            up_after[juiced] += went_up
        if None not in (game.over_close, game.under_close) and game.over_close != game.under_close:
            direction = "up" if went_up else "down"
            moved[direction] += 1
            close_juiced[direction] += game.over_close < game.under_close
    evidence: dict[str, float | int] = {
        "open_up_share_visitor_juiced": round(_share(up_after["visitor"], seen["visitor"]), 3),
        "open_up_share_home_juiced": round(_share(up_after["home"], seen["home"]), 3),
        "open_games": seen.total(),
        "close_visitor_juiced_after_down": round(_share(close_juiced["down"], moved["down"]), 3),
        "close_visitor_juiced_after_up": round(_share(close_juiced["up"], moved["up"]), 3),
        "close_games": moved.total(),
    }
    visitor_over_open = True
    if min(seen["visitor"], seen["home"]) >= MIN_LAYOUT_EVIDENCE:
        visitor_over_open = (
            evidence["open_up_share_visitor_juiced"] >= evidence["open_up_share_home_juiced"]
        )
    visitor_over_close = True
    if min(moved["up"], moved["down"]) >= MIN_LAYOUT_EVIDENCE:
        visitor_over_close = (
            evidence["close_visitor_juiced_after_down"] >= evidence["close_visitor_juiced_after_up"]
        )
    return TotalLayout(visitor_over_open, visitor_over_close, evidence)


def apply_total_layout(games: Iterable[SbroGame], layout: TotalLayout) -> None:
    """Swap over and under prices where the home row carries the over."""
    for game in games:
        if not layout.visitor_row_is_over_open:
            game.over_open, game.under_open = game.under_open, game.over_open
        if not layout.visitor_row_is_over_close:
            game.over_close, game.under_close = game.under_close, game.over_close


def number_doubleheaders(games: Sequence[SbroGame]) -> tuple[list[SbroGame], list[Finding]]:
    """Game numbers: 0 for a single game, 1 and 2 in file order for a doubleheader."""
    by_matchup: dict[tuple[date, str, str], list[SbroGame]] = defaultdict(list)
    for game in games:
        by_matchup[(game.game_date, game.home_team, game.away_team)].append(game)
    rejected: list[Finding] = []
    kept: set[int] = set()
    for same_day in by_matchup.values():
        if len(same_day) == 1:
            same_day[0].game_number = 0
            kept.add(id(same_day[0]))
            continue
        for number, game in enumerate(same_day, start=1):
            if number <= 2:
                game.game_number = number
                kept.add(id(game))
            else:
                rejected.append(
                    Finding(
                        rules.SBRO_DUPLICATE_GAME,
                        f"game {number} of {game.away_team}@{game.home_team} on {game.game_date}",
                        game.row_numbers,
                    )
                )
    return [game for game in games if id(game) in kept], rejected


def regular_season_end(games: Iterable[SbroGame]) -> date | None:
    """Fallback end of the regular season: the last day with a full slate of games.

    Retrosheet's log of the season, when ingested, overrides this (its last date is
    authoritative and also counts tiebreaker games as regular season).
    """
    per_day = Counter(game.game_date for game in games)
    full_days = [
        day for day, count in per_day.items() if count >= MIN_GAMES_ON_A_REGULAR_SEASON_DAY
    ]
    return max(full_days, default=None)


def mark_postseason(games: Iterable[SbroGame], season_end: date | None) -> None:
    """Flag the games played after the regular season's last day."""
    for game in games:
        game.postseason = season_end is not None and game.game_date > season_end


def parse_workbook(workbook: Workbook, season: int | None = None) -> SbroParse:
    """Typed games and rejections of one workbook (postseason is left to the caller)."""
    season = season or season_from_file_name(workbook.file_name)
    layout, columns = detect_columns(workbook.header, workbook.rows, workbook.file_name)
    known = _FileKnowledge(
        inferred_teams=infer_unknown_sbro_codes(
            _cell(row, layout.team) or "" for row in workbook.rows
        ),
        pitcher_hands=rules.pitcher_hands_by_name(
            _cell(row, layout.pitcher) for row in workbook.rows
        ),
    )
    pairs, rejections = pair_rows(workbook.rows, layout)
    games: list[SbroGame] = []
    for visitor, home, findings in pairs:
        try:
            games.append(_build_game(visitor, home, findings, layout, season, known))
        except _Rejected as rejected:
            rejections.append(
                Finding(rejected.rule, rejected.message, (visitor.row_number, home.row_number))
            )
    games, duplicates = number_doubleheaders(games)
    rejections.extend(duplicates)
    total_layout = detect_total_layout(games)
    apply_total_layout(games, total_layout)
    return SbroParse(games, rejections, total_layout, columns)
