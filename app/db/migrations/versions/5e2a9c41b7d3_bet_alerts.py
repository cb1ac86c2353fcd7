"""bet alerts

Revision ID: 5e2a9c41b7d3
Revises: 27ea3a9aa0a5
Create Date: 2026-12-07 10:20:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '5e2a9c41b7d3'
down_revision = '27ea3a9aa0a5'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('bet_alerts',
    sa.Column('id', sa.BigInteger(), nullable=False),
    sa.Column('bet_id', sa.UUID(), nullable=False),
    sa.Column('target', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=8), server_default='pending', nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("status IN ('pending', 'sent')", name=op.f('ck_bet_alerts_status')),
    sa.ForeignKeyConstraint(['bet_id'], ['bets.bet_id'], name=op.f('fk_bet_alerts_bet_id_bets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bet_alerts')),
    sa.UniqueConstraint('bet_id', 'target', name=op.f('uq_bet_alerts_bet_id_target')),
    )
    op.create_index('ix_bet_alerts_due', 'bet_alerts', ['status', 'next_attempt_at'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_bet_alerts_due', table_name='bet_alerts')
    op.drop_table('bet_alerts')
