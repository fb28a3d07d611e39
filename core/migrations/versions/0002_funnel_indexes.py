"""funnel indexes: walk node events per customer in time order, count failed/skipped per node,
find who sits at a node now

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05 09:00:00
"""
from alembic import op


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('node_events', schema=None) as batch_op:
        batch_op.create_index('ix_node_events_funnel',
                              ['playbook_id', 'customer_id', 'occurred_at', 'id', 'outcome', 'node_key'], unique=False)
        batch_op.create_index('ix_node_events_funnel_marks',
                              ['playbook_id', 'outcome', 'node_key', 'occurred_at', 'customer_id'], unique=False)
    with op.batch_alter_table('customer_progress', schema=None) as batch_op:
        batch_op.create_index('ix_customer_progress_funnel',
                              ['playbook_id', 'current_node_key', 'entered_at', 'customer_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('customer_progress', schema=None) as batch_op:
        batch_op.drop_index('ix_customer_progress_funnel')
    with op.batch_alter_table('node_events', schema=None) as batch_op:
        batch_op.drop_index('ix_node_events_funnel_marks')
        batch_op.drop_index('ix_node_events_funnel')
