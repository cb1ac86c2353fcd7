"""The data-quality report of each season: what was curated, what rules fired, what joined.

Read-only domain code: the CLI (``bullpen ingest quality``) and ``GET /api/v1/data/quality``
render what :func:`quality_report` returns. When a file was re-ingested in a corrected version,
only its latest version's rule firings count.
"""

from collections import defaultdict
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from app.games.models import FEED_BOOK, BettingSplit, Game, Odds, OddsSnapshot, TeamBoxScore
from app.ingest.models import (
    IngestedFile,
    IngestRun,
    QuarantinedRow,
    SourceConflict,
    StagingLineGame,
    StagingRetrosheetGame,
)
from app.markets import MARKETS

SBRO_BOOK = "sbro"
# Market and moment -> the columns that must all be present for it to count as covered.
ODDS_MARKETS = {
    f"{market.short}_{moment}": quote.columns
    for market in MARKETS.values()
    for moment, quote in (("open", market.open), ("close", market.close))
    if quote is not None
}


def _file_seasons(file: IngestedFile) -> set[int]:
    details = file.details or {}
    seasons = set(details.get("seasons") or [])
    if details.get("season") is not None:
        seasons.add(details["season"])
    return {int(season) for season in seasons}


def _latest_files(session: Session) -> list[IngestedFile]:
    """The current file of every (source, season): the one its latest ingest run names."""
    latest = (
        select(func.max(IngestRun.id).label("run_id"))
        .group_by(IngestRun.source, IngestRun.season)
        .subquery()
    )
    current = select(IngestRun.file_id).join(latest, latest.c.run_id == IngestRun.id)
    return list(
        session.scalars(
            select(IngestedFile).where(IngestedFile.id.in_(current)).order_by(IngestedFile.id)
        )
    )


def file_history(session: Session, season: int) -> list[dict[str, Any]]:
    """Every ingest of a file for ``season``, oldest first; the current one of a source marked."""
    runs = session.execute(
        select(IngestRun, IngestedFile)
        .join(IngestedFile, IngestedFile.id == IngestRun.file_id)
        .where(IngestRun.season == season)
        .order_by(IngestRun.id)
    ).all()
    latest_by_source = {run.source: run.id for run, _ in runs}
    return [
        {
            "source": run.source,
            "file_name": file.file_name,
            "sha256": file.sha256,
            "kind": run.kind,
            "forced": run.forced,
            "games_changed": run.games_changed,
            "ingested_at": run.ingested_at.isoformat() if run.ingested_at else None,
            "current": latest_by_source[run.source] == run.id,
        }
        for run, file in runs
    ]


def available_seasons(session: Session) -> list[int]:
    """Seasons with curated games or ingested files."""
    seasons = set(session.scalars(select(Game.season).distinct()))
    for file in _latest_files(session):
        seasons |= _file_seasons(file)
    return sorted(seasons)


def quality_report(session: Session, season: int | None = None) -> list[dict[str, Any]]:
    """One report per season (every season with data, or just ``season``; [] when it has none)."""
    seasons = available_seasons(session)
    if season is not None:
        seasons = [s for s in seasons if s == season]
    files = _latest_files(session)
    return [
        _season_report(session, s, [f for f in files if s in _file_seasons(f)]) for s in seasons
    ]


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 6) if whole else None


def _season_report(session: Session, season: int, files: list[IngestedFile]) -> dict[str, Any]:
    regular, postseason = session.execute(
        select(
            func.count().filter(~Game.postseason),
            func.count().filter(Game.postseason),
        ).where(Game.season == season)
    ).one()
    games = regular + postseason
    return {
        "season": season,
        "files": [
            {
                "source": file.source,
                "file_name": file.file_name,
                "sha256": file.sha256,
                "rows": file.rows,
                "ingested_at": file.ingested_at.isoformat() if file.ingested_at else None,
            }
            for file in files
        ],
        "games_curated": games,
        "regular_season_games": regular,
        "postseason_games": postseason,
        "games_by_source": games_by_source(session, season),
        "games_with_prices": _games_with_prices(session, season),
        "file_history": file_history(session, season),
        "rules": _rule_counts(session, [file.id for file in files]),
        "source_conflicts": {
            rule: count
            for rule, count in session.execute(
                select(SourceConflict.rule, func.count())
                .where(SourceConflict.season == season)
                .group_by(SourceConflict.rule)
                .order_by(SourceConflict.rule)
            )
        },
        "scheduled_innings": {
            str(innings): count
            for innings, count in session.execute(
                select(Game.scheduled_innings, func.count())
                .where(Game.season == season)
                .group_by(Game.scheduled_innings)
                .order_by(Game.scheduled_innings)
            )
        },
        "retrosheet_match_rate": _retrosheet_match_rate(session, season, regular),
        "box_scores": _box_scores(session, season),
        "odds_coverage": _odds_coverage(session, season, games),
        "line_history": _line_history(session, season, games, files),
        "betting_splits": session.scalar(
            select(func.count())
            .select_from(BettingSplit)
            .join(Game, Game.id == BettingSplit.game_id)
            .where(Game.season == season)
        ),
    }


def games_by_source(session: Session, season: int) -> dict[str, int]:
    """The season's games by the sources that hold them, e.g. ``{"retrosheet+sbro": 2400,
    "retrosheet": 30}``: ``sbro`` (the odds archive's prices), ``retrosheet`` (matched to
    the game log), ``schedule_feed`` (a game of the schedule feed), ``lines`` (a line
    history). A game only a live odds feed priced counts under ``odds_feed``."""
    sbro = select(Odds.id).where(Odds.game_id == Game.id, Odds.book == SBRO_BOOK).exists()
    feed_odds = select(Odds.id).where(Odds.game_id == Game.id, Odds.book == FEED_BOOK).exists()
    lines = select(StagingLineGame.id).where(StagingLineGame.game_id == Game.id).exists()
    held = (
        Game.retrosheet_game_id.is_not(None).label("retrosheet"),
        sbro.label("sbro"),
        Game.mlb_game_pk.is_not(None).label("schedule_feed"),
        lines.label("lines"),
        feed_odds.label("odds_feed"),
    )
    per_game = select(*held).where(Game.season == season).subquery()
    found = session.execute(select(*per_game.c, func.count()).group_by(*per_game.c))
    counts: dict[str, int] = defaultdict(int)
    for *held, count in found:
        names = [
            name
            for name, holds in zip(
                ("retrosheet", "sbro", "schedule_feed", "lines", "odds_feed"), held, strict=True
            )
            if holds
        ]
        counts["+".join(names) or "none"] += count
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _games_with_prices(session: Session, season: int) -> int:
    """Games with an odds row or a line snapshot: the games a model can train on."""
    priced = or_(
        select(Odds.id).where(Odds.game_id == Game.id).exists(),
        select(OddsSnapshot.id).where(OddsSnapshot.game_id == Game.id).exists(),
    )
    return session.scalar(select(func.count()).where(Game.season == season, priced)) or 0


def _rule_counts(session: Session, file_ids: list[int]) -> dict[str, dict[str, Any]]:
    """Rule -> its action, its firings and the source rows they concern."""
    if not file_ids:
        return {}
    found = session.execute(
        select(
            QuarantinedRow.rule,
            QuarantinedRow.action,
            func.count(),
            func.sum(func.cardinality(QuarantinedRow.row_numbers)),
        )
        .where(QuarantinedRow.file_id.in_(file_ids))
        .group_by(QuarantinedRow.rule, QuarantinedRow.action)
        .order_by(QuarantinedRow.rule)
    )
    return {
        rule: {"action": action, "firings": firings, "rows": int(rows or 0)}
        for rule, action, firings, rows in found
    }


def _retrosheet_match_rate(session: Session, season: int, regular: int) -> float | None:
    logged = session.scalar(
        select(func.count())
        .select_from(StagingRetrosheetGame)
        .where(StagingRetrosheetGame.season == season)
    )
    if not logged:
        return None
    matched = session.scalar(
        select(func.count()).where(
            Game.season == season, ~Game.postseason, Game.retrosheet_game_id.is_not(None)
        )
    )
    return _share(matched, regular)


def _box_scores(session: Session, season: int) -> dict[str, Any]:
    """Of the season's Retrosheet-matched games, how many have both teams' box scores."""
    sides = (
        select(TeamBoxScore.game_id)
        .group_by(TeamBoxScore.game_id)
        .having(func.count(func.distinct(TeamBoxScore.side)) == 2)
        .subquery()
    )
    matched, with_both = session.execute(
        select(func.count(), func.count(sides.c.game_id))
        .select_from(Game)
        .outerjoin(sides, sides.c.game_id == Game.id)
        .where(Game.season == season, Game.retrosheet_game_id.is_not(None))
    ).one()
    return {
        "matched_games": matched,
        "games_with_both_sides": with_both,
        "coverage": _share(with_both, matched),
    }


def _odds_coverage(session: Session, season: int, games: int) -> dict[str, float | None]:
    covered = [
        func.count().filter(and_(*(getattr(Odds, name).is_not(None) for name in columns)))
        for columns in ODDS_MARKETS.values()
    ]
    counts = session.execute(
        select(*covered)
        .select_from(Odds)
        .join(Game, Game.id == Odds.game_id)
        .where(Game.season == season, Odds.book == SBRO_BOOK)
    ).one()
    return {
        market: _share(count, games) for market, count in zip(ODDS_MARKETS, counts, strict=True)
    }


def _line_history(
    session: Session, season: int, games: int, files: list[IngestedFile]
) -> dict[str, Any] | None:
    line_files = [file.id for file in files if file.source == "lines"]
    if not line_files:
        return None
    in_files, joined = session.execute(
        select(func.count(), func.count(StagingLineGame.game_id)).where(
            StagingLineGame.file_id.in_(line_files), StagingLineGame.season == season
        )
    ).one()
    raw_games = sum(
        (file.details or {}).get("games_rows", 0) for file in files if file.id in line_files
    )
    with_snapshots = session.scalar(
        select(func.count(func.distinct(OddsSnapshot.game_id)))
        .join(Game, Game.id == OddsSnapshot.game_id)
        .where(Game.season == season)
    )
    per_book: dict[str, int] = defaultdict(int)
    for book, count in session.execute(
        select(OddsSnapshot.book, func.count())
        .join(Game, Game.id == OddsSnapshot.game_id)
        .where(Game.season == season)
        .group_by(OddsSnapshot.book)
    ):
        per_book[book] = count
    starts = session.scalar(
        select(func.count()).where(Game.season == season, Game.start_time.is_not(None))
    )
    return {
        "games_in_files": raw_games,
        "games_staged": in_files,
        "games_joined": joined,
        "join_rate": _share(joined, raw_games),
        "curated_games_with_snapshots": with_snapshots,
        "curated_coverage": _share(with_snapshots, games),
        "curated_games_with_start_time": starts,
        "snapshots_by_book": dict(per_book),
        "mean_snapshots_per_covered_game": (
            round(sum(per_book.values()) / with_snapshots, 1) if with_snapshots else None
        ),
    }


def _rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2%}"


def format_report(report: dict[str, Any]) -> str:
    """A season's report as text lines for a terminal."""
    boxes = report["box_scores"]
    lines = [
        f"Season {report['season']}: {report['games_curated']} games curated "
        f"({report['regular_season_games']} regular season, "
        f"{report['postseason_games']} postseason)",
        "  Games by source: "
        + (", ".join(f"{name} {n}" for name, n in report["games_by_source"].items()) or "none")
        + f"; with prices {report['games_with_prices']}",
        f"  Retrosheet match rate (regular season): {_rate(report['retrosheet_match_rate'])}",
        f"  Box scores (both sides) of matched games: {boxes['games_with_both_sides']} of "
        f"{boxes['matched_games']} ({_rate(boxes['coverage'])})",
        "  Odds coverage (sbro): "
        + ", ".join(
            f"{market} {_rate(share)}" for market, share in report["odds_coverage"].items()
        ),
    ]
    history = report["line_history"]
    if history is not None:
        lines.append(
            f"  Line history: {history['games_joined']} of {history['games_in_files']} games "
            f"joined ({_rate(history['join_rate'])}); curated games with snapshots "
            f"{_rate(history['curated_coverage'])}"
        )
    lines.append(f"  Betting splits: {report['betting_splits']}")
    if report["source_conflicts"]:
        lines.append(
            "  Sources disagree (rule, games): "
            + ", ".join(f"{rule} {n}" for rule, n in report["source_conflicts"].items())
        )
    lines.append(
        "  Scheduled innings: "
        + ", ".join(f"{innings}: {n} games" for innings, n in report["scheduled_innings"].items())
    )
    for action in ("rejected", "nulled", "corrected"):
        fired = {r: c for r, c in report["rules"].items() if c["action"] == action}
        if fired:
            lines.append(f"  Rules, {action}:")
            lines.extend(
                f"    {rule}: {c['firings']} firings, {c['rows']} rows" for rule, c in fired.items()
            )
    lines.append("  File history (oldest first):")
    lines.extend(
        f"    {run['ingested_at']} {run['source']} {run['file_name']} {run['sha256'][:12]}"
        f" {run['kind']}{' --force' if run['forced'] else ''}, results of"
        f" {run['games_changed']} games changed{' (current)' if run['current'] else ''}"
        for run in report["file_history"]
    )
    return "\n".join(lines)
