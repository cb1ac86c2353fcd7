"""feed lineups: a starting lineup from the schedule feed (no game-log line), the provider's
player id

Revision ID: c6d2f0b8e413
Revises: a4c81e2f6d09
Create Date: 2026-12-07 17:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = 'c6d2f0b8e413'
down_revision = 'a4c81e2f6d09'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        'game_lineups',
        sa.Column('source', sa.String(length=16), server_default='retrosheet', nullable=False),
    )
    op.add_column('game_lineups', sa.Column('mlb_player_id', sa.Integer(), nullable=True))
    op.alter_column('game_lineups', 'raw_row_id', existing_type=sa.BigInteger(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM game_lineups WHERE raw_row_id IS NULL")
    op.alter_column('game_lineups', 'raw_row_id', existing_type=sa.BigInteger(), nullable=False)
    op.drop_column('game_lineups', 'mlb_player_id')
    op.drop_column('game_lineups', 'source')
