"""strategies: paper bets and strategy states; why a bet has no close

Revision ID: 9b3f6d2a8c15
Revises: 5e2a9c41b7d3
Create Date: 2026-12-07 10:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '9b3f6d2a8c15'
down_revision = '5e2a9c41b7d3'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('bets', sa.Column('strategy', sa.String(length=32), nullable=True))
    op.add_column('bets', sa.Column('paper', sa.Boolean(), server_default='false', nullable=False))
    op.add_column('bets', sa.Column('close_note', sa.String(length=120), nullable=True))
    op.create_table('strategy_states',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('state', sa.String(length=8), nullable=False),
    sa.Column('forced', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.Column('changed_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("state IN ('watch', 'live')", name=op.f('ck_strategy_states_state')),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_strategy_states')),
    )


def downgrade() -> None:
    op.drop_table('strategy_states')
    op.drop_column('bets', 'close_note')
    op.drop_column('bets', 'paper')
    op.drop_column('bets', 'strategy')
