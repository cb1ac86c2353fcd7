"""Games a newer file no longer lists: deleted when nothing refers to them, else retired.

A bet is deleted only by its owner. When the file that counts for a season drops a game
(a corrected workbook, a date moved), a game that a bet or a prediction refers to is kept
and marked retired with the reason; its open bets are voided with the same reason (money on
a game the data no longer has is returned, as a book voids a bet on a game it cannot grade);
graded bets keep their grade. Re-ingesting a file that lists the game again reinstates it and
reopens exactly the bets its retirement voided, so a correction can be undone without loss.
"""

from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import delete, func, select, union, update
from sqlalchemy.orm import Session

from app.bets.models import Bet
from app.games.models import Game
from app.ml.models import Prediction


@dataclass(frozen=True)
class Removal:
    """What removing games did: ids deleted, ids retired, open bets voided."""

    deleted: list[int]
    retired: list[int]
    bets_voided: int


def remove_games(session: Session, game_ids: Collection[int], reason: str) -> Removal:
    """Delete the games nothing refers to; retire the others and void their open bets."""
    if not game_ids:
        return Removal([], [], 0)
    wanted = sorted(game_ids)
    referred = set(
        session.scalars(
            union(
                select(Bet.game_id).where(Bet.game_id.in_(wanted)),
                select(Prediction.game_id).where(Prediction.game_id.in_(wanted)),
            )
        )
    )
    deleted = [game_id for game_id in wanted if game_id not in referred]
    if deleted:
        session.execute(delete(Game).where(Game.id.in_(deleted)))
    retired = sorted(referred)
    voided = 0
    if retired:
        # The Retrosheet id is unique: a game that replaces this one (the same game on its
        # corrected date) must be free to take it; reconciling reinstated games sets it again.
        session.execute(
            update(Game)
            .where(Game.id.in_(retired), Game.retired_at.is_(None))
            .values(retired_at=func.now(), retired_reason=reason, retrosheet_game_id=None)
            .execution_options(synchronize_session=False)
        )
        voided = len(
            session.execute(
                update(Bet)
                .where(Bet.game_id.in_(retired), Bet.status == "open")
                .values(status="void", profit=0.0, settled_at=func.now(), void_reason=reason)
                .returning(Bet.bet_id)
                .execution_options(synchronize_session=False)
            ).all()
        )
    return Removal(deleted, retired, voided)


def reinstate_games(session: Session, game_ids: Collection[int]) -> list[int]:
    """Un-retire those of ``game_ids`` that are retired; reopen the bets retirement voided."""
    if not game_ids:
        return []
    retired = Game.retired_at.is_not(None)
    session.execute(
        update(Bet)
        .where(
            Bet.game_id == Game.id,
            Game.id.in_(list(game_ids)),
            retired,
            Bet.status == "void",
            Bet.void_reason == Game.retired_reason,
        )
        .values(status="open", profit=None, settled_at=None, void_reason=None)
        .execution_options(synchronize_session=False)
    )
    return list(
        session.scalars(
            update(Game)
            .where(Game.id.in_(list(game_ids)), retired)
            .values(retired_at=None, retired_reason=None)
            .returning(Game.id)
            .execution_options(synchronize_session=False)
        )
    )
