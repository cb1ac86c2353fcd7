"""Pricing after an odds pull: the games a pull brought new quotes of are predicted (and so
priced against the fair line) at once, not only when someone asks.

- **Which games.** Those with a new snapshot in the pull that have not begun (first pitch
  after now; a game without a known first pitch, from the system's today on), are not final
  and not retired.
- **How.** One ``predict`` job over them through the ordinary job runtime (committed, then
  sent; the reaper sends a job whose message was lost), with every target and the
  settings' stakes. Its served bets go into the ledger as any job's do.
- **Lineups.** A lineup posts after the open: the games whose lineup arrived or changed
  (``lineups_posted`` of a schedule pull) have their stored features recomputed, then one
  ``predict`` job predicts them again. Its Idempotency-Key is the lineups themselves, so the
  same lineups pulled again submit no second job (the first one is answered).
- **Once.** A strategy serves one bet per game, market and strategy (the model-price
  fallback: per game, market, side and book), whatever the number of pulls that priced it
  and whichever book is best at each (``app.bets.ledger.record_served_bets``: a ``NOT
  EXISTS`` under a per-game advisory lock), so a day of pulls every 30 minutes records each
  bet once and alerts it once.
"""

import hashlib
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import or_, select

from app import clock
from app.config import Settings
from app.db.session import session_scope
from app.features.refresh import FeatureWriter, refresh_features
from app.games.models import Game, LineupSlot
from app.jobs.models import Job
from app.jobs.service import JobQueue, submit
from app.kinds import PREDICT
from app.markets import TARGETS


def games_to_price(session, game_ids: Iterable[int], now: datetime) -> list[int]:
    """The games of ``game_ids`` that may still be bet at ``now`` (module rules)."""
    ids = sorted({int(game_id) for game_id in game_ids})
    if not ids:
        return []
    return list(
        session.scalars(
            select(Game.id)
            .where(
                Game.id.in_(ids),
                Game.retired_at.is_(None),
                Game.home_score.is_(None),
                or_(
                    Game.start_time > now,
                    Game.start_time.is_(None) & (Game.game_date >= clock.eastern_date(now)),
                ),
            )
            .order_by(Game.id)
        )
    )


def price_quoted_games(
    settings: Settings, game_ids: Iterable[int], queue: JobQueue, now: datetime
) -> Job | None:
    """Submit one prediction job over the quoted games still open at ``now``; None if none."""
    with session_scope(settings.database_url) as session:
        ids = games_to_price(session, game_ids, now)
    if not ids:
        return None
    params = {"targets": list(TARGETS), "game_ids": ids}
    return submit(settings.database_url, PREDICT, params, queue, total=len(ids))


def reprice_posted_lineups(
    settings: Settings,
    game_ids: Iterable[int],
    queue: JobQueue,
    now: datetime,
    store: FeatureWriter,
) -> Job | None:
    """Recompute the features of the games whose lineup arrived that are still open at
    ``now`` and submit one prediction job over them, keyed by their lineups; None if none."""
    with session_scope(settings.database_url) as session:
        ids = games_to_price(session, game_ids, now)
        if not ids:
            return None
        refresh_features(session, store, game_ids=ids)
        slots = session.execute(
            select(LineupSlot.game_id, LineupSlot.side, LineupSlot.batting_order,
                   LineupSlot.player_id)
            .where(LineupSlot.game_id.in_(ids))
            .order_by(LineupSlot.game_id, LineupSlot.side, LineupSlot.batting_order)
        ).all()  # fmt: skip
    digest = hashlib.sha256(repr([tuple(slot) for slot in slots]).encode()).hexdigest()[:32]
    params = {"targets": list(TARGETS), "game_ids": ids}
    return submit(
        settings.database_url,
        PREDICT,
        params,
        queue,
        idempotency_key=f"lineups-{digest}",
        total=len(ids),
    )
