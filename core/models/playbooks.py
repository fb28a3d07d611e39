from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow

NODE_OUTCOMES = ("entered", "done", "skipped", "failed")


class Playbook(Base):
    """三一客: an ordered list of key nodes a deal should pass."""

    __tablename__ = "playbooks"
    __table_args__ = (UniqueConstraint("org_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    key: Mapped[str] = mapped_column(String(50))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    nodes: Mapped[list["Node"]] = relationship(
        order_by="Node.position", cascade="all, delete-orphan", lazy="selectin"
    )

    def node(self, key: str) -> "Node | None":
        return next((n for n in self.nodes if n.key == key), None)


class Node(Base):
    __tablename__ = "nodes"
    __table_args__ = (UniqueConstraint("playbook_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id"))
    position: Mapped[int] = mapped_column(Integer)
    key: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(String(200))
    script: Mapped[str] = mapped_column(Text, default="")  # 话术
    expected_dwell_days: Mapped[int] = mapped_column(Integer, default=3)


class CustomerProgress(Base):
    """Where one customer stands in its playbook. current_node_key None = all nodes passed."""

    __tablename__ = "customer_progress"
    # The funnel's "sitting there now" and its drill-down: customers at one node, longest first.
    __table_args__ = (
        Index("ix_customer_progress_funnel", "playbook_id", "current_node_key", "entered_at", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), unique=True)
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id"), index=True)
    current_node_key: Mapped[str | None] = mapped_column(String(50))
    entered_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class NodeEvent(Base):
    __tablename__ = "node_events"
    __table_args__ = (
        Index("ix_node_events_customer_time", "customer_id", "occurred_at"),
        Index("ix_node_events_playbook_node", "playbook_id", "node_key", "outcome"),
        # The funnel walks each customer's events in time order (LEAD over customer, time, id):
        # this index hands them over already in that order and covers the columns it reads.
        Index("ix_node_events_funnel", "playbook_id", "customer_id", "occurred_at", "id", "outcome", "node_key"),
        # ...and counts who failed or skipped each node without visiting the other events.
        Index("ix_node_events_funnel_marks", "playbook_id", "outcome", "node_key", "occurred_at", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id"))
    node_key: Mapped[str] = mapped_column(String(50))
    outcome: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
