"""bets: one served bet per prediction, market and strategy (several strategies per market)

Revision ID: a4c81e2f6d09
Revises: 3d7e9a1c5b20
Create Date: 2026-12-07 13:30:00.000000
"""

from alembic import op
import sqlalchemy as sa


revision = 'a4c81e2f6d09'
down_revision = '3d7e9a1c5b20'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_constraint('uq_bets_prediction_id_market', 'bets', type_='unique')
    # No strategy is one key value (''); bets of no prediction never conflict.
    op.create_index(
        'uq_bets_prediction_market_strategy', 'bets',
        ['prediction_id', 'market', sa.text("coalesce(strategy, '')")], unique=True,
    )


def downgrade() -> None:
    # The old key holds one served bet per prediction and market: keep the bankroll bet (not
    # paper), else the first; the other strategies' paper bets cannot be kept under it.
    op.execute(
        "DELETE FROM bets b WHERE b.prediction_id IS NOT NULL AND EXISTS ("
        " SELECT 1 FROM bets s WHERE s.prediction_id = b.prediction_id AND s.market = b.market"
        " AND (s.paper, s.bet_id) < (b.paper, b.bet_id))"
    )
    op.drop_index('uq_bets_prediction_market_strategy', table_name='bets')
    op.create_unique_constraint('uq_bets_prediction_id_market', 'bets', ['prediction_id', 'market'])
