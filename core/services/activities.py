"""跟单: logging activities (idempotent on the source message) and follow-ups."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import AccessDenied, Invalid, NotFound
from core.models import (
    ACTIVITY_TYPES, DIRECTIONS, Activity, Contact, Customer, CustomerProgress, FollowUp, User,
)
from core.services.access import acting, can_manage, get_customer

# Types a rep logs by hand; node_change and collaboration are written by their own services.
LOGGABLE_TYPES = tuple(t for t in ACTIVITY_TYPES if t not in ("node_change",))


def _amount(value) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise Invalid(f"not an amount: {value}", field="amount", value=value) from None
    if amount < 0:
        raise Invalid("amount is negative", field="amount", value=value)
    return amount


def find_by_source(s: Session, platform: str, message_id: str) -> Activity | None:
    return s.scalar(select(Activity).where(Activity.source_platform == platform,
                                           Activity.source_message_id == str(message_id)))


def log_activity(s: Session, actor: User, customer_id: int, type: str, content: str = "", *,
                 occurred_at: datetime | None = None, direction: str | None = None, amount=None,
                 node_key: str | None = None, contact_id: int | None = None,
                 attachments: list | None = None, source: tuple[str, str] | None = None,
                 follow_up_at: datetime | None = None, follow_up_note: str = "") -> tuple[Activity, bool]:
    """Returns (activity, created). The same source (platform, message id) twice gives the first
    activity back and creates nothing, so a chat app's retry never doubles a note."""
    acting(s, actor)
    if source:
        existing = find_by_source(s, source[0], source[1])
        if existing is not None:
            return existing, False
    if type not in LOGGABLE_TYPES:
        raise Invalid(f"unknown activity type {type}", field="type", value=type, allowed=LOGGABLE_TYPES)
    if direction is not None and direction not in DIRECTIONS:
        raise Invalid(f"unknown direction {direction}", field="direction", value=direction)
    customer = get_customer(s, actor, customer_id)
    if contact_id is not None:
        contact = s.get(Contact, contact_id)
        if contact is None or contact.customer_id != customer.id:
            raise NotFound("contact not found", entity="contact", ref=contact_id)
    if node_key is None:
        node_key = s.scalar(select(CustomerProgress.current_node_key)
                            .where(CustomerProgress.customer_id == customer.id))
    activity = Activity(
        customer_id=customer.id, author_id=actor.id, contact_id=contact_id, type=type,
        direction=direction, occurred_at=occurred_at or utcnow(), content=(content or "").strip(),
        amount=_amount(amount), node_key=node_key, attachments=list(attachments or []),
        source_platform=source[0] if source else None,
        source_message_id=str(source[1]) if source else None)
    try:
        with s.begin_nested():
            s.add(activity)
            s.flush()
    except IntegrityError:
        # Another worker stored the same message a moment ago.
        if not source:
            raise
        existing = s.scalar(select(Activity).where(Activity.source_platform == source[0],
                                                   Activity.source_message_id == str(source[1])))
        if existing is None:
            raise
        return existing, False
    if customer.status == "lead":
        customer.status = "active"
    if follow_up_at is not None:
        add_follow_up(s, actor, customer.id, follow_up_at, follow_up_note or activity.content[:200])
    s.flush()
    return activity, True


def attach_to_activity(s: Session, actor: User, activity_id: int, attachment: dict) -> Activity:
    acting(s, actor)
    activity = s.get(Activity, activity_id)
    if activity is None or not activity.active:
        raise NotFound("activity not found", entity="activity", ref=activity_id)
    get_customer(s, actor, activity.customer_id)
    activity.attachments = [*activity.attachments, attachment]
    s.flush()
    return activity


def add_follow_up(s: Session, actor: User, customer_id: int, due_at: datetime, note: str = "",
                  owner: User | None = None) -> FollowUp:
    acting(s, actor)
    customer = get_customer(s, actor, customer_id)
    follow_up = FollowUp(customer_id=customer.id, owner_id=(owner or actor).id, due_at=due_at,
                         note=(note or "").strip())
    s.add(follow_up)
    s.flush()
    return follow_up


def _own_follow_up(s: Session, actor: User, follow_up_id: int) -> FollowUp:
    follow_up = s.get(FollowUp, follow_up_id)
    if follow_up is None:
        raise NotFound("follow-up not found", entity="follow_up", ref=follow_up_id)
    customer = get_customer(s, actor, follow_up.customer_id)
    if follow_up.owner_id != actor.id and not can_manage(actor, customer):
        raise AccessDenied("not your follow-up", entity="follow_up", ref=follow_up_id)
    return follow_up


def complete_follow_up(s: Session, actor: User, follow_up_id: int, *, at: datetime | None = None) -> FollowUp:
    acting(s, actor)
    follow_up = _own_follow_up(s, actor, follow_up_id)
    if follow_up.status != "done":
        follow_up.status = "done"
        follow_up.done_at = at or utcnow()
        s.flush()
    return follow_up


def snooze_follow_up(s: Session, actor: User, follow_up_id: int, until: datetime) -> FollowUp:
    acting(s, actor)
    follow_up = _own_follow_up(s, actor, follow_up_id)
    if follow_up.status in ("done", "cancelled"):
        raise Invalid("this follow-up is closed", field="status", value=follow_up.status)
    follow_up.due_at = until
    follow_up.status = "snoozed"
    s.flush()
    return follow_up


def cancel_follow_up(s: Session, actor: User, follow_up_id: int) -> FollowUp:
    acting(s, actor)
    follow_up = _own_follow_up(s, actor, follow_up_id)
    follow_up.status = "cancelled"
    s.flush()
    return follow_up


def open_follow_ups(s: Session, actor: User, *, due_before: datetime | None = None,
                    customer_id: int | None = None, owner: User | None = None) -> list[FollowUp]:
    """Open and snoozed follow-ups, soonest first. Without customer_id: the owner's own."""
    stmt = select(FollowUp).where(FollowUp.status.in_(("open", "snoozed"))).order_by(FollowUp.due_at)
    if customer_id is not None:
        get_customer(s, actor, customer_id)
        stmt = stmt.where(FollowUp.customer_id == customer_id)
    else:
        stmt = stmt.where(FollowUp.owner_id == (owner or actor).id)
    if due_before is not None:
        stmt = stmt.where(FollowUp.due_at <= due_before)
    stmt = stmt.join(Customer, Customer.id == FollowUp.customer_id).where(Customer.active.is_(True))
    return list(s.scalars(stmt))
