"""Reading the intent scores that ml/ writes: a customer's latest, and my best prospects."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.models import Customer, IntentScore, User
from core.services.access import visible_clause


@dataclass
class Prospect:
    customer: Customer
    score: float
    previous: float | None


def top_prospects(s: Session, actor: User, limit: int = 10, *, mine_only: bool = True) -> list[Prospect]:
    """Open customers by their latest score, best first: the rep's own (or, with mine_only
    False, everything the actor may see — a manager's team)."""
    ranked = (select(IntentScore.customer_id, IntentScore.score,
                     func.row_number().over(partition_by=IntentScore.customer_id,
                                            order_by=IntentScore.id.desc()).label("n"))
              .join(Customer, Customer.id == IntentScore.customer_id)
              .where(visible_clause(actor), Customer.active.is_(True), Customer.status.in_(("lead", "active"))))
    if mine_only:
        ranked = ranked.where(Customer.owner_id == actor.id)
    ranked = ranked.subquery()
    latest = select(ranked.c.customer_id, ranked.c.score).where(ranked.c.n == 1).subquery()
    previous = select(ranked.c.customer_id, ranked.c.score).where(ranked.c.n == 2).subquery()
    rows = s.execute(select(Customer, latest.c.score, previous.c.score)
                     .join(latest, latest.c.customer_id == Customer.id)
                     .outerjoin(previous, previous.c.customer_id == Customer.id)
                     .order_by(latest.c.score.desc(), Customer.id).limit(limit)).all()
    return [Prospect(c, score, prev) for c, score, prev in rows]
