"""bets: closing-line value against the sharp books' de-vigged close

Revision ID: 3d7e9a1c5b20
Revises: 5e3a9c1d7b42
Create Date: 2026-12-07 11:00:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '3d7e9a1c5b20'
down_revision = '5e3a9c1d7b42'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('bets', sa.Column('sharp_close', sa.Float(), nullable=True))
    op.add_column('bets', sa.Column('sharp_clv', sa.Float(), nullable=True))
    op.add_column('bets', sa.Column('sharp_close_note', sa.String(length=120), nullable=True))


def downgrade() -> None:
    op.drop_column('bets', 'sharp_close_note')
    op.drop_column('bets', 'sharp_clv')
    op.drop_column('bets', 'sharp_close')
