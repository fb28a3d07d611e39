"""What the proactive side needs to remember: who muted which customer, which follow-up was
already reminded, and which scheduler instance leads."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class NudgeMute(Base):
    """"Stop reminding me about this customer"."""

    __tablename__ = "nudge_mutes"
    __table_args__ = (UniqueConstraint("user_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class SchedulerLease(Base):
    """Leader election on SQLite (PostgreSQL uses an advisory lock): one row per job store; the
    holder renews it, and anyone may take it once it has expired."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    holder: Mapped[str] = mapped_column(String(100))
    expires_at: Mapped[datetime] = mapped_column(DateTime)
