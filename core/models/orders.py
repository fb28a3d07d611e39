from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, Numeric, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow

MASTER_STATUSES = ("open", "fulfilled", "cancelled")
SUB_STATUSES = ("planned", "delivered", "cancelled")


class MasterOrder(Base):
    """总单: a framework agreement delivered in batches (sub-orders)."""

    __tablename__ = "master_orders"
    __table_args__ = (CheckConstraint("allocated_quantity <= total_quantity", name="not_overdrawn"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    product: Mapped[str] = mapped_column(String(200))
    total_quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    # Sum of non-cancelled sub-orders, kept by one conditional UPDATE so that concurrent
    # sub-orders can never over-draw the master (the CHECK is the last line of defence).
    allocated_quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3), default=Decimal(0))
    unit_price: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    status: Mapped[str] = mapped_column(String(20), default="open")
    note: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    @property
    def remaining_quantity(self) -> Decimal:
        return self.total_quantity - self.allocated_quantity


class SubOrder(Base):
    """分单: one delivery batch under a master order."""

    __tablename__ = "sub_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    master_id: Mapped[int] = mapped_column(ForeignKey("master_orders.id"), index=True)
    quantity: Mapped[Decimal] = mapped_column(Numeric(18, 3))
    delivery_date: Mapped[date | None] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default="planned")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
