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


VISIT_EXITS = ("entered", "done", "skipped")


class NodeVisit(Base):
    """One visit of a node by a customer, materialised from node_events (core.services.visits
    keeps it in step wherever node events are written, in the same transaction) so the funnel
    is a GROUP BY over visits instead of a window over every event.

    A visit starts with an ``entered`` event (``entered_event_id``) and ends at the customer's
    next ``entered`` event, or at a ``done``/``skipped`` of the playbook's last node, in
    (occurred_at, id) order; ``failed`` events do not end it. ``outcome`` says how it ended:
    "entered" (the customer entered ``exit_node_key``: moved on if that node lies later, moved
    back otherwise — decided when the funnel is read, by the playbook's node order then),
    "done"/"skipped" (the last node finished), None while open. ``dwell_seconds`` is whole
    seconds from entering to leaving (None while open). A visit's figures that depend on the
    period asked for (still open by then?) are decided when the funnel is read."""

    __tablename__ = "node_visits"
    __table_args__ = (
        # The funnel's flow: a playbook's first visits grouped by node and exit in index order (no
        # sort), its re-entries by a range of their own; covers every column the flow reads.
        Index("ix_node_visits_funnel", "playbook_id", "reentry", "node_key", "outcome", "exit_node_key",
              "entered_at", "left_at", "customer_id", "entered_event_id"),
        # The dwell histogram: node by node, hour by hour, in index order.
        Index("ix_node_visits_dwell", "playbook_id", "node_key", "dwell_hour", "dwell_seconds", "entered_at",
              "left_at", "customer_id"),
        # A short period's visits (last 30 days): a range instead of the whole playbook.
        Index("ix_node_visits_period", "playbook_id", "entered_at"),
        # One customer's visits (keeping them in step; a re-entry's earlier visits of the node; a
        # team's or a rep's figures, from their customers): covers what the funnel reads.
        Index("ix_node_visits_customer", "customer_id", "playbook_id", "node_key", "entered_at", "entered_event_id",
              "reentry", "outcome", "exit_node_key", "left_at", "dwell_hour", "dwell_seconds"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    playbook_id: Mapped[int] = mapped_column(ForeignKey("playbooks.id"))
    node_key: Mapped[str] = mapped_column(String(50))
    entered_event_id: Mapped[int] = mapped_column(Integer, unique=True)  # node_events.id of the 'entered'
    entered_at: Mapped[datetime] = mapped_column(DateTime)
    left_at: Mapped[datetime | None] = mapped_column(DateTime)
    outcome: Mapped[str | None] = mapped_column(String(20))  # entered | done | skipped | None (open)
    exit_node_key: Mapped[str | None] = mapped_column(String(50))  # the node entered on leaving
    dwell_seconds: Mapped[int | None] = mapped_column(Integer)
    dwell_hour: Mapped[int | None] = mapped_column(Integer)  # dwell_seconds // 3600: the histogram's bin
    # The customer visited this node before (earlier by entered_at, entered_event_id): only such a
    # visit may be a repeat of a customer the funnel already counted at the node.
    reentry: Mapped[bool] = mapped_column(Boolean, default=False)
