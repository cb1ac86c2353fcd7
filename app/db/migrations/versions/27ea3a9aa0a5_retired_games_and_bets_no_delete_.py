"""retired games and bets no delete cascades to

A game a newer file drops is retired while a bet or a prediction refers to it; a bet is
deleted only by its owner, so its game can no longer be deleted from under it.

Revision ID: 27ea3a9aa0a5
Revises: 71d0968fe658
Create Date: 2026-12-07 09:59:05.576474
"""

from alembic import op
import sqlalchemy as sa


revision = '27ea3a9aa0a5'
down_revision = '71d0968fe658'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('bets', sa.Column('void_reason', sa.String(length=200), nullable=True))
    op.drop_constraint(op.f('fk_bets_game_id_games'), 'bets', type_='foreignkey')
    op.create_foreign_key(op.f('fk_bets_game_id_games'), 'bets', 'games', ['game_id'], ['id'], ondelete='RESTRICT')
    op.add_column('games', sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('games', sa.Column('retired_reason', sa.String(length=200), nullable=True))


def downgrade() -> None:
    op.drop_column('games', 'retired_reason')
    op.drop_column('games', 'retired_at')
    op.drop_constraint(op.f('fk_bets_game_id_games'), 'bets', type_='foreignkey')
    op.create_foreign_key(op.f('fk_bets_game_id_games'), 'bets', 'games', ['game_id'], ['id'], ondelete='CASCADE')
    op.drop_column('bets', 'void_reason')
