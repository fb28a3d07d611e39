"""node visits: the funnel's visits materialised from node events (created and backfilled)

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _epoch(dialect: str, column: str) -> str:
    if dialect == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER)"
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"


# The rules of core.services.visits.derive_visits, in one statement: a visit starts with an
# 'entered' event and ends at the customer's next 'entered' (any node) or a done/skipped of the
# playbook's last node, in (occurred_at, id) order per customer and playbook.
BACKFILL = """
INSERT INTO node_visits (customer_id, playbook_id, node_key, entered_event_id, entered_at, left_at, outcome,
                         exit_node_key, dwell_seconds, dwell_hour, reentry)
SELECT customer_id, playbook_id, node_key, id, occurred_at, next_at, next_outcome,
       CASE WHEN next_outcome = 'entered' THEN next_key END,
       CASE WHEN next_at IS NOT NULL THEN {next_secs} - {secs} END,
       CASE WHEN next_at IS NOT NULL THEN ({next_secs} - {secs}) / 3600 END,
       ROW_NUMBER() OVER (PARTITION BY customer_id, playbook_id, node_key ORDER BY occurred_at, id) > 1
FROM (
    SELECT e.id, e.customer_id, e.playbook_id, e.node_key, e.outcome, e.occurred_at,
           LEAD(e.occurred_at) OVER (PARTITION BY e.customer_id, e.playbook_id ORDER BY e.occurred_at, e.id) AS next_at,
           LEAD(e.outcome) OVER (PARTITION BY e.customer_id, e.playbook_id ORDER BY e.occurred_at, e.id) AS next_outcome,
           LEAD(e.node_key) OVER (PARTITION BY e.customer_id, e.playbook_id ORDER BY e.occurred_at, e.id) AS next_key
    FROM node_events e
    WHERE e.outcome = 'entered'
       OR (e.outcome IN ('done', 'skipped')
           AND e.node_key = (SELECT n.key FROM nodes n WHERE n.playbook_id = e.playbook_id
                             ORDER BY n.position DESC LIMIT 1))
) w
WHERE outcome = 'entered'
"""


def upgrade() -> None:
    op.create_table(
        "node_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("playbook_id", sa.Integer(), nullable=False),
        sa.Column("node_key", sa.String(length=50), nullable=False),
        sa.Column("entered_event_id", sa.Integer(), nullable=False),
        sa.Column("entered_at", sa.DateTime(), nullable=False),
        sa.Column("left_at", sa.DateTime(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("exit_node_key", sa.String(length=50), nullable=True),
        sa.Column("dwell_seconds", sa.Integer(), nullable=True),
        sa.Column("dwell_hour", sa.Integer(), nullable=True),
        sa.Column("reentry", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_node_visits_customer_id_customers")),
        sa.ForeignKeyConstraint(["playbook_id"], ["playbooks.id"], name=op.f("fk_node_visits_playbook_id_playbooks")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_node_visits")),
        sa.UniqueConstraint("entered_event_id", name=op.f("uq_node_visits_entered_event_id")),
    )
    dialect = op.get_bind().dialect.name
    op.execute(BACKFILL.format(secs=_epoch(dialect, "occurred_at"), next_secs=_epoch(dialect, "next_at")))
    with op.batch_alter_table("node_visits") as batch:
        batch.create_index("ix_node_visits_funnel", ["playbook_id", "reentry", "node_key", "outcome", "exit_node_key",
                                                     "entered_at", "left_at", "customer_id", "entered_event_id"])
        batch.create_index("ix_node_visits_dwell", ["playbook_id", "node_key", "dwell_hour", "dwell_seconds",
                                                    "entered_at", "left_at", "customer_id"])
        batch.create_index("ix_node_visits_period", ["playbook_id", "entered_at"])
        batch.create_index("ix_node_visits_customer", ["customer_id", "playbook_id", "node_key", "entered_at",
                                                       "entered_event_id", "reentry", "outcome", "exit_node_key",
                                                       "left_at", "dwell_hour", "dwell_seconds"])


def downgrade() -> None:
    with op.batch_alter_table("node_visits") as batch:
        batch.drop_index("ix_node_visits_customer")
        batch.drop_index("ix_node_visits_period")
        batch.drop_index("ix_node_visits_dwell")
        batch.drop_index("ix_node_visits_funnel")
    op.drop_table("node_visits")
