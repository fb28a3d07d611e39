from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

ACTIVITY_TYPES = (
    "call", "sms", "email", "visit", "meeting", "need", "proposal", "quote", "contract",
    "order", "feedback", "note", "node_change", "collaboration",
)
DIRECTIONS = ("in", "out", "internal")
FOLLOW_UP_STATUSES = ("open", "done", "snoozed", "cancelled")


class Activity(Base):
    __tablename__ = "activities"
    __table_args__ = (
        UniqueConstraint("source_platform", "source_message_id"),
        Index("ix_activities_customer_time", "customer_id", "occurred_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))
    type: Mapped[str] = mapped_column(String(20))
    direction: Mapped[str | None] = mapped_column(String(10))
    occurred_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    content: Mapped[str] = mapped_column(Text, default="")
    amount: Mapped[Decimal | None] = mapped_column(Numeric(18, 2))
    node_key: Mapped[str | None] = mapped_column(String(50))
    # [{"kind": "photo|file|voice", "name": ..., "path": ..., "platform": ..., "file_id": ...}]
    attachments: Mapped[list] = mapped_column(JSON, default=list)
    source_platform: Mapped[str | None] = mapped_column(String(20))
    source_message_id: Mapped[str | None] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class FollowUp(Base):
    __tablename__ = "follow_ups"
    __table_args__ = (Index("ix_follow_ups_owner_status_due", "owner_id", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    due_at: Mapped[datetime] = mapped_column(DateTime)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="open")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime)
    # The due_at a reminder was sent for; a snooze moves due_at, so it is reminded again.
    reminded_due_at: Mapped[datetime | None] = mapped_column(DateTime)
