"""Who may see and change which customer.

rep: own customers and those shared with them; manager: every customer owned by someone in
their team (plus own and shared); admin: everything in the organisation."""
from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from core.audit import set_actor
from core.errors import AccessDenied, NotFound
from core.models import Customer, CustomerShare, User


def acting(s: Session, actor: User) -> User:
    """Mark the session's changes as this user's (audit trail, undo)."""
    set_actor(s, actor.id)
    return actor


def visible_clause(actor: User) -> ColumnElement[bool]:
    # Each OR branch is index-backed (owner_id, or the primary key), so SQLite and PostgreSQL
    # answer a rep's query from their own rows instead of scanning every customer.
    shared = Customer.id.in_(select(CustomerShare.customer_id).where(CustomerShare.user_id == actor.id))
    base = Customer.org_id == actor.org_id
    if actor.role == "admin":
        return base
    if actor.role == "manager" and actor.team_id is not None:
        team = select(User.id).where(User.team_id == actor.team_id)
        return and_(base, or_(Customer.owner_id.in_(team), Customer.owner_id == actor.id, shared))
    return and_(base, or_(Customer.owner_id == actor.id, shared))


def can_see(s: Session, actor: User, customer: Customer) -> bool:
    if customer.org_id != actor.org_id:
        return False
    if actor.role == "admin" or customer.owner_id == actor.id:
        return True
    if actor.role == "manager" and customer.owner is not None and customer.owner.team_id == actor.team_id:
        return True
    return s.scalar(select(CustomerShare.id).where(
        CustomerShare.customer_id == customer.id, CustomerShare.user_id == actor.id)) is not None


def can_manage(actor: User, customer: Customer) -> bool:
    """Reassign, share, delete: the owner, the owner's manager, an admin. Shared users only
    read and log work."""
    if customer.org_id != actor.org_id:
        return False
    if actor.role == "admin" or customer.owner_id == actor.id:
        return True
    return actor.role == "manager" and customer.owner is not None and customer.owner.team_id == actor.team_id


def get_customer(s: Session, actor: User, customer_id: int, *, manage: bool = False,
                 include_deleted: bool = False) -> Customer:
    customer = s.get(Customer, customer_id)
    if customer is None or customer.org_id != actor.org_id or (not customer.active and not include_deleted):
        raise NotFound(f"customer {customer_id} not found", entity="customer", ref=customer_id)
    if not can_see(s, actor, customer) or (manage and not can_manage(actor, customer)):
        raise AccessDenied(f"{actor.login} may not access customer {customer_id}",
                           entity="customer", ref=customer_id)
    return customer
