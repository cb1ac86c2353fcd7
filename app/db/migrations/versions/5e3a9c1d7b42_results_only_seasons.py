"""results-only seasons: game lineups, feed days walked by a backfill

Revision ID: 5e3a9c1d7b42
Revises: 9b3f6d2a8c15
Create Date: 2026-12-07 10:20:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = '5e3a9c1d7b42'
down_revision = '9b3f6d2a8c15'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('game_lineups',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('game_id', sa.Integer(), nullable=False),
    sa.Column('side', sa.String(length=4), nullable=False),
    sa.Column('batting_order', sa.SmallInteger(), nullable=False),
    sa.Column('player_id', sa.String(length=8), nullable=True),
    sa.Column('player_name', sa.String(length=64), nullable=True),
    sa.Column('position', sa.SmallInteger(), nullable=True),
    sa.Column('raw_row_id', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['game_id'], ['games.id'], name=op.f('fk_game_lineups_game_id_games'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['raw_row_id'], ['raw_retrosheet_rows.id'], name=op.f('fk_game_lineups_raw_row_id_raw_retrosheet_rows'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_game_lineups')),
    sa.UniqueConstraint('game_id', 'side', 'batting_order', name=op.f('uq_game_lineups_game_id_side_batting_order'))
    )
    op.create_index(op.f('ix_game_lineups_game_id'), 'game_lineups', ['game_id'], unique=False)
    op.create_index(op.f('ix_game_lineups_raw_row_id'), 'game_lineups', ['raw_row_id'], unique=False)
    op.create_table('feed_days',
    sa.Column('feed', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('file_id', sa.Integer(), nullable=True),
    sa.Column('games', sa.Integer(), nullable=False),
    sa.Column('complete', sa.Boolean(), nullable=False),
    sa.Column('pulled_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['ingested_files.id'], name=op.f('fk_feed_days_file_id_ingested_files'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('feed', 'day', name=op.f('pk_feed_days'))
    )


def downgrade() -> None:
    op.drop_table('feed_days')
    op.drop_index(op.f('ix_game_lineups_raw_row_id'), table_name='game_lineups')
    op.drop_index(op.f('ix_game_lineups_game_id'), table_name='game_lineups')
    op.drop_table('game_lineups')
