from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, SmallInteger, String, UniqueConstraint, delete, event, inspect, insert
from sqlalchemy.orm import Mapped, mapped_column, relationship

from core.db import Base, utcnow
from core.search import MAX_TERM, search_terms

CUSTOMER_STATUSES = ("lead", "active", "won", "lost")


class Customer(Base):
    __tablename__ = "customers"
    __table_args__ = (Index("ix_customers_org_owner", "org_id", "owner_id", "active"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    org_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    name: Mapped[str] = mapped_column(String(200))
    aliases: Mapped[list] = mapped_column(JSON, default=list)
    industry: Mapped[str | None] = mapped_column(String(100))
    source: Mapped[str | None] = mapped_column(String(100))
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="lead")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, onupdate=utcnow)

    owner = relationship("User", lazy="joined")
    contacts: Mapped[list["Contact"]] = relationship(back_populates="customer", order_by="Contact.id")


class Contact(Base):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str | None] = mapped_column(String(100))
    phone: Mapped[str | None] = mapped_column(String(50))
    email: Mapped[str | None] = mapped_column(String(200))
    wechat_id: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class CustomerShare(Base):
    __tablename__ = "customer_shares"
    __table_args__ = (UniqueConstraint("customer_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class CustomerSearchTerm(Base):
    """Fuzzy-find index: one row per searchable suffix of a customer's name and aliases
    (core.search.search_terms), keyed by (weight, term) so that find walks the best kind of
    match first, in term order, and stops as soon as it has enough. Kept in step with the
    customer by the hooks below."""

    __tablename__ = "customer_search_terms"

    weight: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # core.search.NAME_START...
    # Byte order ("C") so the prefix range scan means the same on PostgreSQL as on SQLite.
    term: Mapped[str] = mapped_column(
        String(MAX_TERM).with_variant(String(MAX_TERM, collation="C"), "postgresql"), primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), primary_key=True, index=True)


def _write_terms(connection, customer: Customer) -> None:
    connection.execute(delete(CustomerSearchTerm).where(CustomerSearchTerm.customer_id == customer.id))
    rows = [{"term": term, "customer_id": customer.id, "weight": weight}
            for term, weight in search_terms(customer.name, customer.aliases).items()]
    if rows:
        connection.execute(insert(CustomerSearchTerm), rows)


@event.listens_for(Customer, "after_insert")
def _terms_on_insert(_mapper, connection, customer: Customer) -> None:
    _write_terms(connection, customer)


@event.listens_for(Customer, "after_update")
def _terms_on_update(_mapper, connection, customer: Customer) -> None:
    state = inspect(customer)
    if state.attrs.name.history.has_changes() or state.attrs.aliases.history.has_changes():
        _write_terms(connection, customer)
