"""A manager's view of the front line: per rep, how many customers in which status, open and
overdue follow-ups, and activity in the last week. Managers see their team, admins everyone."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import AccessDenied
from core.models import Activity, Customer, FollowUp, Team, User

ACTIVE_WINDOW = timedelta(days=7)


@dataclass
class RepSummary:
    user: User
    team: str | None
    by_status: dict[str, int] = field(default_factory=dict)
    open_follow_ups: int = 0
    overdue_follow_ups: int = 0
    activities_7d: int = 0

    @property
    def customers(self) -> int:
        return sum(self.by_status.values())


def team_summary(s: Session, actor: User, *, now: datetime | None = None) -> list[RepSummary]:
    if actor.role not in ("manager", "admin"):
        raise AccessDenied("only managers and admins see the team", entity="team")
    now = now or utcnow()
    q = select(User).where(User.org_id == actor.org_id, User.active.is_(True), User.role != "admin")
    if actor.role == "manager":
        q = q.where(User.team_id == actor.team_id) if actor.team_id is not None else q.where(User.id == actor.id)
    members = list(s.scalars(q.order_by(User.team_id, User.id)))
    if not members:
        return []
    ids = [u.id for u in members]
    teams = dict(s.execute(select(Team.id, Team.name).where(Team.org_id == actor.org_id)).all())
    out = {u.id: RepSummary(u, teams.get(u.team_id)) for u in members}
    for owner_id, status, n in s.execute(
            select(Customer.owner_id, Customer.status, func.count())
            .where(Customer.owner_id.in_(ids), Customer.active.is_(True), Customer.org_id == actor.org_id)
            .group_by(Customer.owner_id, Customer.status)):
        out[owner_id].by_status[status] = n
    open_follow_ups = (select(FollowUp.owner_id, func.count())
                       .join(Customer, Customer.id == FollowUp.customer_id)
                       .where(FollowUp.owner_id.in_(ids), FollowUp.status.in_(("open", "snoozed")),
                              Customer.active.is_(True)))
    for owner_id, n in s.execute(open_follow_ups.group_by(FollowUp.owner_id)):
        out[owner_id].open_follow_ups = n
    for owner_id, n in s.execute(open_follow_ups.where(FollowUp.due_at < now).group_by(FollowUp.owner_id)):
        out[owner_id].overdue_follow_ups = n
    for author_id, n in s.execute(
            select(Activity.author_id, func.count())
            .where(Activity.author_id.in_(ids), Activity.active.is_(True), Activity.type != "node_change",
                   Activity.occurred_at >= now - ACTIVE_WINDOW, Activity.occurred_at <= now)
            .group_by(Activity.author_id)):
        out[author_id].activities_7d = n
    return list(out.values())
