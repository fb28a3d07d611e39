"""客户视图: one customer's whole story, merged by time and paged."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from sqlalchemy import literal, select, union_all, func, null
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.models import (
    Activity, Customer, FollowUp, IntentScore, MasterOrder, SubOrder, User,
)
from core.models.collab import EXAMPLE_MODEL_PREFIX
from core.services.access import get_customer
from core.services.activities import open_follow_ups
from core.services.orders import list_orders
from core.services.playbooks import NodeBoard, node_board

DEFAULT_PAGE_SIZE = 10


@dataclass
class TimelineEntry:
    kind: str  # activity | follow_up | master_order | sub_order
    id: int
    at: datetime
    type: str  # activity type, follow-up status, order status
    content: str
    author_id: int | None
    amount: Decimal | None = None
    node_key: str | None = None
    attachments: list = field(default_factory=list)


@dataclass
class TimelinePage:
    entries: list[TimelineEntry]
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


@dataclass
class IntentSummary:
    score: float
    previous: float | None
    model_version: str
    computed_at: datetime
    reasons: list

    @property
    def from_example_model(self) -> bool:
        return self.model_version.startswith(EXAMPLE_MODEL_PREFIX)

    @property
    def trend(self) -> float | None:
        return None if self.previous is None else self.score - self.previous


@dataclass
class CustomerView:
    customer: Customer
    owner: User
    board: NodeBoard | None
    intent: IntentSummary | None
    follow_ups: list[FollowUp]
    orders: list[tuple[MasterOrder, list[SubOrder]]]
    timeline: TimelinePage


def _timeline_query(customer_id: int):
    acts = select(
        literal("activity").label("kind"), Activity.id.label("id"), Activity.occurred_at.label("at"),
        Activity.type.label("type"), Activity.content.label("content"), Activity.author_id.label("author_id"),
        Activity.amount.label("amount"), Activity.node_key.label("node_key"),
        Activity.attachments.label("attachments"),
    ).where(Activity.customer_id == customer_id, Activity.active.is_(True))
    fups = select(
        literal("follow_up"), FollowUp.id, FollowUp.due_at, FollowUp.status, FollowUp.note,
        FollowUp.owner_id, null(), null(), null(),
    ).where(FollowUp.customer_id == customer_id, FollowUp.status != "cancelled")
    masters = select(
        literal("master_order"), MasterOrder.id, MasterOrder.created_at, MasterOrder.status,
        MasterOrder.product, MasterOrder.created_by, MasterOrder.total_quantity * MasterOrder.unit_price,
        null(), null(),
    ).where(MasterOrder.customer_id == customer_id)
    subs = select(
        literal("sub_order"), SubOrder.id, SubOrder.created_at, SubOrder.status, MasterOrder.product,
        SubOrder.created_by, SubOrder.quantity, null(), null(),
    ).join(MasterOrder, MasterOrder.id == SubOrder.master_id).where(MasterOrder.customer_id == customer_id)
    return union_all(acts, fups, masters, subs).subquery()


def timeline(s: Session, actor: User, customer_id: int, page: int = 1,
             page_size: int = DEFAULT_PAGE_SIZE) -> TimelinePage:
    """Newest first. page starts at 1. One query: the page and, beside each row, the total."""
    get_customer(s, actor, customer_id)
    page = max(1, page)
    merged = _timeline_query(customer_id)
    rows = s.execute(select(merged, func.count().over().label("total"))
                     .order_by(merged.c.at.desc(), merged.c.id.desc())
                     .limit(page_size).offset((page - 1) * page_size)).all()
    if rows:
        total = rows[0].total
    else:  # past the last page: still say how many there are
        total = s.scalar(select(func.count()).select_from(merged)) or 0
    entries = [TimelineEntry(r.kind, r.id, r.at, r.type, r.content or "", r.author_id,
                             Decimal(str(r.amount)) if r.amount is not None else None, r.node_key,
                             _attachments(r.attachments))
               for r in rows]
    return TimelinePage(entries, page, page_size, total)


def _attachments(value) -> list:
    """The union hands the JSON column back as text on some databases."""
    if not value:
        return []
    if isinstance(value, str):
        import json

        return json.loads(value)
    return list(value)


def latest_intent(s: Session, customer_id: int) -> IntentSummary | None:
    rows = s.scalars(select(IntentScore).where(IntentScore.customer_id == customer_id)
                     .order_by(IntentScore.computed_at.desc(), IntentScore.id.desc()).limit(2)).all()
    if not rows:
        return None
    return IntentSummary(rows[0].score, rows[1].score if len(rows) > 1 else None,
                         rows[0].model_version, rows[0].computed_at, rows[0].reasons or [])


def latest_scores(s: Session, customer_ids: list[int]) -> dict[int, float]:
    """The newest intent score of each of these customers, in one query."""
    if not customer_ids:
        return {}
    newest = (select(func.max(IntentScore.id)).where(IntentScore.customer_id.in_(customer_ids))
              .group_by(IntentScore.customer_id))
    return dict(s.execute(select(IntentScore.customer_id, IntentScore.score)
                          .where(IntentScore.id.in_(newest))).all())


def customer_view(s: Session, actor: User, customer_id: int, page: int = 1,
                  page_size: int = DEFAULT_PAGE_SIZE) -> CustomerView:
    customer = get_customer(s, actor, customer_id)
    try:
        board = node_board(s, actor, customer_id)
    except NotFound:  # no playbook configured in this organisation yet
        board = None
    return CustomerView(
        customer=customer, owner=customer.owner, board=board,
        intent=latest_intent(s, customer_id),
        follow_ups=open_follow_ups(s, actor, customer_id=customer_id),
        orders=list_orders(s, actor, customer_id),
        timeline=timeline(s, actor, customer_id, page, page_size),
    )
