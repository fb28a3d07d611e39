"""nudges: user nudge budget, follow-up reminded marker, outbox date/customer, mutes, leases

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("digest_hour", sa.Integer(), nullable=False, server_default="9"))
        batch.add_column(sa.Column("quiet_start", sa.Integer(), nullable=False, server_default="21"))
        batch.add_column(sa.Column("quiet_end", sa.Integer(), nullable=False, server_default="8"))
        batch.add_column(sa.Column("daily_cap", sa.Integer(), nullable=False, server_default="8"))
    with op.batch_alter_table("follow_ups") as batch:
        batch.add_column(sa.Column("reminded_due_at", sa.DateTime(), nullable=True))
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("customer_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("local_date", sa.Date(), nullable=True))
        batch.create_foreign_key(op.f("fk_outbox_customer_id_customers"), "customers", ["customer_id"], ["id"])
        batch.create_index("ix_outbox_user_date", ["user_id", "local_date"])
    op.create_table(
        "nudge_mutes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_nudge_mutes_customer_id_customers")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_nudge_mutes_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudge_mutes")),
        sa.UniqueConstraint("user_id", "customer_id", name=op.f("uq_nudge_mutes_user_id_customer_id")),
    )
    op.create_table(
        "scheduler_leases",
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("holder", sa.String(length=100), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_scheduler_leases")),
    )


def downgrade() -> None:
    op.drop_table("scheduler_leases")
    op.drop_table("nudge_mutes")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_user_date")
        batch.drop_constraint(op.f("fk_outbox_customer_id_customers"), type_="foreignkey")
        batch.drop_column("local_date")
        batch.drop_column("customer_id")
    with op.batch_alter_table("follow_ups") as batch:
        batch.drop_column("reminded_due_at")
    with op.batch_alter_table("users") as batch:
        for column in ("daily_cap", "quiet_end", "quiet_start", "digest_hour"):
            batch.drop_column(column)
