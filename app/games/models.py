"""Curated tables: one row per game, per game and bookmaker for odds, per game and side for
box scores."""

from dataclasses import field, make_dataclass
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db.base import Base
from app.markets import MARKETS


class Game(Base):
    """A curated game. ``game_key`` is the natural key; ``id`` is what clients use."""

    __tablename__ = "games"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "YYYYMMDD-HOME-AWAY-N" with N the game of a doubleheader (0 for a single game).
    game_key: Mapped[str] = mapped_column(String(32), unique=True)
    season: Mapped[int] = mapped_column(SmallInteger, index=True)
    game_date: Mapped[date] = mapped_column(Date, index=True)
    game_number: Mapped[int] = mapped_column(SmallInteger, default=0)
    # Known first pitch (UTC) where a source gives one; SBRO gives only the date.
    start_time: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    home_team: Mapped[str] = mapped_column(String(3))  # Retrosheet team codes
    away_team: Mapped[str] = mapped_column(String(3))
    home_pitcher: Mapped[str | None] = mapped_column(String(64))
    away_pitcher: Mapped[str | None] = mapped_column(String(64))
    home_pitcher_hand: Mapped[str | None] = mapped_column(String(1))
    away_pitcher_hand: Mapped[str | None] = mapped_column(String(1))
    home_pitcher_id: Mapped[str | None] = mapped_column(String(8))  # Retrosheet player id
    away_pitcher_id: Mapped[str | None] = mapped_column(String(8))
    home_score: Mapped[int | None] = mapped_column(SmallInteger)
    away_score: Mapped[int | None] = mapped_column(SmallInteger)
    neutral_site: Mapped[bool] = mapped_column(Boolean, default=False)
    postseason: Mapped[bool] = mapped_column(Boolean, default=False)
    retrosheet_game_id: Mapped[str | None] = mapped_column(String(12), unique=True)
    day_night: Mapped[str | None] = mapped_column(String(1))
    park_id: Mapped[str | None] = mapped_column(String(5))
    # Pitcher decisions (Retrosheet player ids) and the game's length in outs, from the log.
    winning_pitcher_id: Mapped[str | None] = mapped_column(String(8))
    losing_pitcher_id: Mapped[str | None] = mapped_column(String(8))
    saving_pitcher_id: Mapped[str | None] = mapped_column(String(8))
    length_outs: Mapped[int | None] = mapped_column(SmallInteger)
    # Innings the game was scheduled for: 9, or 7 for the 2020-2021 doubleheader games
    # (rule ``sources_seven_inning_doubleheader``). Decides when a shortened game voids totals bets.
    scheduled_innings: Mapped[int] = mapped_column(SmallInteger, default=9, server_default="9")
    # The live schedule feed's view (app/feeds/schedule.py): the provider's game id (MLB Stats
    # API gamePk) and the game's state: scheduled, live, final, postponed, cancelled, suspended.
    # Null for games known only from archives.
    mlb_game_pk: Mapped[int | None] = mapped_column(Integer, unique=True)
    status: Mapped[str | None] = mapped_column(String(16))
    # Retired: the file that counts for the game's season no longer lists it, but a bet or a
    # prediction refers to it, so it is kept (app/ingest/retire.py). Retired games are no live
    # games: slates, features, training and settlement leave them out.
    retired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retired_reason: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )

    odds: Mapped[list["Odds"]] = relationship(back_populates="game", cascade="all, delete-orphan")

    @property
    def is_retired(self) -> bool:
        return self.retired_at is not None

    @property
    def is_final(self) -> bool:
        return self.home_score is not None and self.away_score is not None


class Odds(Base):
    """Opening and closing prices of one bookmaker (American odds; totals in runs)."""

    __tablename__ = "odds"
    __table_args__ = (UniqueConstraint("game_id", "book"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"), index=True)
    book: Mapped[str] = mapped_column(String(16))
    home_ml_open: Mapped[int | None] = mapped_column(Integer)
    away_ml_open: Mapped[int | None] = mapped_column(Integer)
    home_ml_close: Mapped[int | None] = mapped_column(Integer)
    away_ml_close: Mapped[int | None] = mapped_column(Integer)
    total_open: Mapped[float | None] = mapped_column(Float)
    over_open: Mapped[int | None] = mapped_column(Integer)
    under_open: Mapped[int | None] = mapped_column(Integer)
    total_close: Mapped[float | None] = mapped_column(Float)
    over_close: Mapped[int | None] = mapped_column(Integer)
    under_close: Mapped[int | None] = mapped_column(Integer)
    home_rl: Mapped[float | None] = mapped_column(Float)  # closing run line, home side (e.g. -1.5)
    home_rl_price: Mapped[int | None] = mapped_column(Integer)
    away_rl_price: Mapped[int | None] = mapped_column(Integer)

    game: Mapped[Game] = relationship(back_populates="odds")


# Every market column of an ``Odds`` row, in the one order all copies of them use.
# The ``odds`` row the live feeds keep from their line snapshots (app/feeds/odds.py): opening =
# the first quote seen, closing = the last before first pitch. Features read it when a game
# has no SBRO row.
FEED_BOOK = "feed"
ODDS_COLUMNS: tuple[str, ...] = (
    "home_ml_open",
    "away_ml_open",
    "home_ml_close",
    "away_ml_close",
    "total_open",
    "over_open",
    "under_open",
    "total_close",
    "over_close",
    "under_close",
    "home_rl",
    "home_rl_price",
    "away_rl_price",
)


class OddsSnapshot(Base):
    """One timestamped line of one bookmaker (a line history); prices American, totals in runs.

    A row holds every market the book showed at ``captured_at``; a market it did not
    show is null. ``captured_at`` is true UTC (source clock skews are corrected on ingest).
    """

    __tablename__ = "odds_snapshots"
    __table_args__ = (UniqueConstraint("game_id", "book", "captured_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"), index=True)
    # "pinnacle" for line histories; the odds API's bookmaker key for the live odds feed.
    book: Mapped[str] = mapped_column(String(32))
    captured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    home_ml: Mapped[int | None] = mapped_column(Integer)
    away_ml: Mapped[int | None] = mapped_column(Integer)
    total: Mapped[float | None] = mapped_column(Float)
    over_price: Mapped[int | None] = mapped_column(Integer)
    under_price: Mapped[int | None] = mapped_column(Integer)
    home_rl: Mapped[float | None] = mapped_column(Float)
    home_rl_price: Mapped[int | None] = mapped_column(Integer)
    away_rl_price: Mapped[int | None] = mapped_column(Integer)


# The price columns of an ``OddsSnapshot`` row, in the one order all copies of them use: each
# market's snapshot quote (app/markets.py), its line first.
SNAPSHOT_PRICE_COLUMNS: tuple[str, ...] = tuple(
    column
    for market in MARKETS.values()
    for column in (market.snapshot.line, market.snapshot.yes, market.snapshot.no)
    if column is not None
)
# A line's column holds runs (a float); a price column American odds (an int).
_LINES = frozenset(market.snapshot.line for market in MARKETS.values())

# The prices of one line snapshot as the sources type them (a line history's line, a live
# feed's bookmaker quote): one field per price column, None where a market is not quoted.
# Keyword-only, so that a source's own fields come first.
SnapshotPrices = make_dataclass(
    "SnapshotPrices",
    [
        (column, float | None if column in _LINES else int | None, field(default=None))
        for column in SNAPSHOT_PRICE_COLUMNS
    ],
    kw_only=True,
)
SnapshotPrices.__doc__ = "The price fields of a line snapshot (``SNAPSHOT_PRICE_COLUMNS``)."


def snapshot_prices(quote: object) -> dict[str, float | int | None]:
    """Price column -> value of a :class:`SnapshotPrices` (or any object with those fields)."""
    return {column: getattr(quote, column) for column in SNAPSHOT_PRICE_COLUMNS}


class BettingSplit(Base):
    """Public betting splits at a moment: the share of bets and of money on one side."""

    __tablename__ = "betting_splits"
    __table_args__ = (UniqueConstraint("game_id", "source", "captured_at", "market", "side"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))
    captured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    market: Mapped[str] = mapped_column(String(16))  # moneyline | total | run_line
    side: Mapped[str] = mapped_column(String(8))  # home | away | over | under
    bets_pct: Mapped[float | None] = mapped_column(Float)
    money_pct: Mapped[float | None] = mapped_column(Float)


class TeamBoxScore(Base):
    """One team's box-score totals of a game, from its Retrosheet game-log line.

    ``runs`` is the sum of the team's line score; a count a data-quality rule nulled is null.
    """

    __tablename__ = "team_box_scores"
    __table_args__ = (UniqueConstraint("game_id", "side"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(String(4))  # home | away
    raw_row_id: Mapped[int] = mapped_column(
        ForeignKey("raw_retrosheet_rows.id", ondelete="CASCADE"), index=True
    )
    runs: Mapped[int] = mapped_column(SmallInteger)
    line_score: Mapped[str] = mapped_column(String(64))
    # Offense
    at_bats: Mapped[int | None] = mapped_column(SmallInteger)
    hits: Mapped[int | None] = mapped_column(SmallInteger)
    doubles: Mapped[int | None] = mapped_column(SmallInteger)
    triples: Mapped[int | None] = mapped_column(SmallInteger)
    home_runs: Mapped[int | None] = mapped_column(SmallInteger)
    rbi: Mapped[int | None] = mapped_column(SmallInteger)
    sacrifice_hits: Mapped[int | None] = mapped_column(SmallInteger)
    sacrifice_flies: Mapped[int | None] = mapped_column(SmallInteger)
    hit_by_pitch: Mapped[int | None] = mapped_column(SmallInteger)
    walks: Mapped[int | None] = mapped_column(SmallInteger)
    intentional_walks: Mapped[int | None] = mapped_column(SmallInteger)
    strikeouts: Mapped[int | None] = mapped_column(SmallInteger)
    stolen_bases: Mapped[int | None] = mapped_column(SmallInteger)
    caught_stealing: Mapped[int | None] = mapped_column(SmallInteger)
    grounded_into_double_plays: Mapped[int | None] = mapped_column(SmallInteger)
    catcher_interference: Mapped[int | None] = mapped_column(SmallInteger)
    left_on_base: Mapped[int | None] = mapped_column(SmallInteger)
    # Pitching
    pitchers_used: Mapped[int | None] = mapped_column(SmallInteger)
    individual_earned_runs: Mapped[int | None] = mapped_column(SmallInteger)
    team_earned_runs: Mapped[int | None] = mapped_column(SmallInteger)
    wild_pitches: Mapped[int | None] = mapped_column(SmallInteger)
    balks: Mapped[int | None] = mapped_column(SmallInteger)
    # Defense
    putouts: Mapped[int | None] = mapped_column(SmallInteger)
    assists: Mapped[int | None] = mapped_column(SmallInteger)
    errors: Mapped[int | None] = mapped_column(SmallInteger)
    passed_balls: Mapped[int | None] = mapped_column(SmallInteger)
    double_plays: Mapped[int | None] = mapped_column(SmallInteger)
    triple_plays: Mapped[int | None] = mapped_column(SmallInteger)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )


LINEUP_SOURCES = ("retrosheet", "schedule_feed")


class LineupSlot(Base):
    """One starting player of a team in a game (batting order 1-9), from its game-log line
    (``source`` retrosheet, the official record) or, until the log is ingested, from the
    schedule feed once the lineup is posted (``schedule_feed``: no raw log row, the
    provider's ``mlb_player_id``, and ``player_id`` the Retrosheet id the name maps to, or
    ``m<mlb id>`` for a player no game log names yet).

    ``position`` is the scorer's defensive position number (1 pitcher ... 9 right field,
    10 designated hitter); the feed's is the player's primary position.
    """

    __tablename__ = "game_lineups"
    __table_args__ = (UniqueConstraint("game_id", "side", "batting_order"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    game_id: Mapped[int] = mapped_column(ForeignKey("games.id", ondelete="CASCADE"), index=True)
    side: Mapped[str] = mapped_column(String(4))  # home | away
    batting_order: Mapped[int] = mapped_column(SmallInteger)
    player_id: Mapped[str | None] = mapped_column(String(8))  # Retrosheet player id
    player_name: Mapped[str | None] = mapped_column(String(64))
    position: Mapped[int | None] = mapped_column(SmallInteger)
    raw_row_id: Mapped[int | None] = mapped_column(
        BigInteger, ForeignKey("raw_retrosheet_rows.id", ondelete="CASCADE"), index=True
    )
    source: Mapped[str] = mapped_column(
        String(16), default="retrosheet", server_default="retrosheet"
    )
    mlb_player_id: Mapped[int | None] = mapped_column(Integer)
