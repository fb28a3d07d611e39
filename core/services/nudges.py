"""Proactive nudges: decide whom each user should follow up, when and why, within a budget.

Jobs only decide. Each decision is an outbox row (core.models.OutboxMessage) written in the
same transaction as the bookkeeping that made it (a follow-up marked reminded), keyed by an
idempotency key so that two deciders, or one run twice, queue it once. The chat layer's relay
renders and sends the rows.

Priority of a customer = intent score × urgency, where urgency grows with an overdue or due
follow-up, time since the last touch against the current node's expected dwell, and a sub-order
delivery coming up. Customers that are won, lost, soft-deleted or muted are never nudged."""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from core.db import utcnow
from core.models import (
    Activity, Customer, CustomerProgress, FollowUp, IntentScore, MasterOrder, Node, NudgeMute,
    OutboxMessage, SubOrder, User,
)
from core.services.access import acting, get_customer

DEFAULT_SCORE = 0.3  # before the model has scored a customer: a modest prior
HOT_SCORE = 0.6
DIGEST_SIZE = 5
DIGEST_WINDOW_HOURS = 4  # a scheduler that was down at 09:00 still sends it until 13:00, not at night
DELIVERY_HORIZON = timedelta(days=3)
OPEN_STATUSES = ("lead", "active")


# ------------------------------------------------------------------ time and budget
def local(user: User, now: datetime) -> datetime:
    """The user's wall-clock time for a naive-UTC `now`."""
    return now.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(user.timezone))


def to_utc(moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def in_quiet_hours(user: User, now: datetime) -> bool:
    hour = local(user, now).hour
    start, end = user.quiet_start, user.quiet_end
    if start == end:
        return False
    return (start <= hour or hour < end) if start > end else (start <= hour < end)


def quiet_hours_end(user: User, now: datetime) -> datetime:
    """When the quiet hours that contain `now` end (UTC); `now` itself when not quiet."""
    if not in_quiet_hours(user, now):
        return now
    here = local(user, now)
    end = here.replace(hour=user.quiet_end, minute=0, second=0, microsecond=0)
    if end <= here:
        end += timedelta(days=1)
    return to_utc(end)


def sent_on(s: Session, user_id: int, day: date) -> int:
    return s.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.user_id == user_id, OutboxMessage.local_date == day,
        OutboxMessage.status != "dropped")) or 0


def enqueue(s: Session, user: User, kind: str, key: str, payload: dict, *, now: datetime,
            customer_id: int | None = None, not_before: datetime | None = None) -> OutboxMessage | None:
    """Queue one proactive message; None when the same key was queued before (by anyone)."""
    if s.scalar(select(OutboxMessage.id).where(OutboxMessage.idempotency_key == key)) is not None:
        return None
    row = OutboxMessage(user_id=user.id, kind=kind, idempotency_key=key, payload=payload,
                        customer_id=customer_id, local_date=local(user, now).date(),
                        next_attempt_at=not_before or now, created_at=now)
    try:
        with s.begin_nested():
            s.add(row)
            s.flush()
    except IntegrityError:  # another scheduler queued the same key a moment ago
        return None
    return row


def enqueue_many(s: Session, rows: list[dict]) -> set[str]:
    """Queue many rows at once; returns the keys actually inserted (an existing key is left
    alone: INSERT ... ON CONFLICT DO NOTHING on both SQLite and PostgreSQL)."""
    if not rows:
        return set()
    dialect = s.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    inserted: set[str] = set()
    for start in range(0, len(rows), 500):
        stmt = (dialect_insert(OutboxMessage).values(rows[start:start + 500])
                .on_conflict_do_nothing(index_elements=["idempotency_key"])
                .returning(OutboxMessage.idempotency_key))
        inserted.update(s.connection().execute(stmt).scalars())
    return inserted


# ------------------------------------------------------------------ priority
@dataclass
class Prospect:
    customer_id: int
    name: str
    owner_id: int
    score: float
    scored: bool
    priority: float = 0.0
    reasons: list[dict] = field(default_factory=list)
    node_title: str | None = None
    days_since_touch: float | None = None
    dwell_days: int = 3


def _latest_scores(s: Session, owner_ids: list[int]) -> dict[int, float]:
    latest = (select(IntentScore.customer_id, func.max(IntentScore.id).label("id"))
              .join(Customer, Customer.id == IntentScore.customer_id)
              .where(Customer.owner_id.in_(owner_ids)).group_by(IntentScore.customer_id).subquery())
    rows = s.connection().execute(select(IntentScore.customer_id, IntentScore.score)
                                  .join(latest, latest.c.id == IntentScore.id)).all()
    return {cid: score for cid, score in rows}


def rank_prospects(s: Session, owners: list[User], now: datetime, *,
                   muted_for: dict[int, set[int]] | None = None) -> dict[int, list[Prospect]]:
    """Every open customer of these owners with its priority and reasons, best first per
    owner. A fixed handful of set-based queries, whatever the number of owners."""
    owner_ids = [u.id for u in owners]
    if not owner_ids:
        return {}
    run = s.connection().execute  # Core rows: the ORM's per-row bookkeeping costs more than the SQL here
    rows = run(
        select(Customer.id, Customer.name, Customer.owner_id, Node.title, Node.expected_dwell_days)
        .outerjoin(CustomerProgress, CustomerProgress.customer_id == Customer.id)
        .outerjoin(Node, and_(Node.playbook_id == CustomerProgress.playbook_id,
                              Node.key == CustomerProgress.current_node_key))
        .where(Customer.owner_id.in_(owner_ids), Customer.active.is_(True),
               Customer.status.in_(OPEN_STATUSES))).all()
    last_touch = dict(run(
        select(Activity.customer_id, func.max(Activity.occurred_at))
        .join(Customer, Customer.id == Activity.customer_id)
        .where(Customer.owner_id.in_(owner_ids), Customer.status.in_(OPEN_STATUSES),
               Activity.active.is_(True), Activity.occurred_at <= now)
        .group_by(Activity.customer_id)).all())
    scores = _latest_scores(s, owner_ids)
    follow_ups: dict[int, datetime] = {}
    for cid, due in run(
            select(FollowUp.customer_id, func.min(FollowUp.due_at))
            .where(FollowUp.owner_id.in_(owner_ids), FollowUp.status.in_(("open", "snoozed")),
                   FollowUp.due_at <= now + timedelta(days=1))
            .group_by(FollowUp.customer_id)).all():
        follow_ups[cid] = due
    deliveries: dict[int, date] = {}
    for cid, when in run(
            select(MasterOrder.customer_id, func.min(SubOrder.delivery_date))
            .join(SubOrder, SubOrder.master_id == MasterOrder.id)
            .join(Customer, Customer.id == MasterOrder.customer_id)
            .where(Customer.owner_id.in_(owner_ids), SubOrder.status == "planned",
                   SubOrder.delivery_date.is_not(None),
                   SubOrder.delivery_date <= (now + DELIVERY_HORIZON).date(),
                   SubOrder.delivery_date >= now.date())
            .group_by(MasterOrder.customer_id)).all():
        deliveries[cid] = when
    muted_for = muted_for if muted_for is not None else _mutes(s, owner_ids)

    by_owner: dict[int, list[Prospect]] = defaultdict(list)
    for cid, name, owner_id, node_title, dwell in rows:
        if cid in muted_for.get(owner_id, ()):
            continue
        p = Prospect(cid, name, owner_id, scores.get(cid, DEFAULT_SCORE), cid in scores,
                     node_title=node_title, dwell_days=dwell or 3)
        touched = last_touch.get(cid)
        p.days_since_touch = (now - touched).total_seconds() / 86400 if touched else None
        urgency, reasons = 0.0, []
        due = follow_ups.get(cid)
        if due is not None:
            overdue_days = (now - due).total_seconds() / 86400
            if overdue_days >= 0:
                urgency = max(urgency, min(1.0, 0.7 + 0.1 * overdue_days))
                reasons.append({"kind": "follow_up_overdue" if overdue_days >= 1 else "follow_up_due",
                                "days": int(overdue_days)})
            else:
                urgency = max(urgency, 0.4)
                reasons.append({"kind": "follow_up_soon", "hours": int(-overdue_days * 24)})
        if p.days_since_touch is not None:
            ratio = p.days_since_touch / max(1, p.dwell_days)
            if ratio >= 1:
                urgency = max(urgency, min(1.0, 0.3 + 0.2 * ratio))
                reasons.append({"kind": "stale", "days": int(p.days_since_touch), "node": node_title,
                                "dwell": p.dwell_days})
        when = deliveries.get(cid)
        if when is not None:
            urgency = max(urgency, 0.6)
            reasons.append({"kind": "delivery", "date": when.isoformat()})
        if p.scored:
            reasons.insert(0, {"kind": "score", "score": round(p.score, 2)})
        # The intent score leads (measured: benchmarks/nudge_ranking.py); urgency lifts a
        # customer by at most a fifth, so an overdue follow-up breaks near-ties.
        p.priority = p.score * (0.8 + 0.2 * urgency)
        p.reasons = reasons
        by_owner[owner_id].append(p)
    for prospects in by_owner.values():
        prospects.sort(key=lambda p: (-p.priority, p.customer_id))
    return by_owner


def _mutes(s: Session, owner_ids: list[int]) -> dict[int, set[int]]:
    out: dict[int, set[int]] = defaultdict(set)
    for uid, cid in s.execute(select(NudgeMute.user_id, NudgeMute.customer_id)
                              .where(NudgeMute.user_id.in_(owner_ids))):
        out[uid].add(cid)
    return out


def rank_by_recency(prospects: list[Prospect]) -> list[Prospect]:
    """The baseline a CRM without a model offers: most recently touched first."""
    return sorted(prospects, key=lambda p: (p.days_since_touch if p.days_since_touch is not None else math.inf,
                                            p.customer_id))


# ------------------------------------------------------------------ the jobs
@dataclass
class Planned:
    user_id: int
    login: str
    kind: str
    key: str
    payload: dict
    queued: bool


def _item(p: Prospect) -> dict:
    return {"customer_id": p.customer_id, "name": p.name, "priority": round(p.priority, 3),
            "score": round(p.score, 2) if p.scored else None, "node": p.node_title, "reasons": p.reasons}


def _digest_time(user: User, now: datetime) -> bool:
    hour = local(user, now).hour
    return user.digest_hour <= hour < user.digest_hour + DIGEST_WINDOW_HOURS and not in_quiet_hours(user, now)


def plan_digests(s: Session, users: list[User], now: datetime, *, size: int = DIGEST_SIZE,
                 dry_run: bool = False) -> list[Planned]:
    """The morning digest for every user whose local digest hour has come today and who has
    not had one today (quiet hours respected). Queued in one statement for all users."""
    due = [u for u in users if u.role in ("rep", "manager") and _digest_time(u, now)]
    ranked = rank_prospects(s, due, now)
    planned, rows = [], []
    for user in due:
        day = local(user, now).date()
        items = [_item(p) for p in ranked.get(user.id, [])[:size]]
        if not items:
            continue
        key = f"digest:{user.id}:{day.isoformat()}"
        payload = {"kind": "digest", "date": day.isoformat(), "items": items}
        planned.append(Planned(user.id, user.login, "digest", key, payload, False))
        rows.append(dict(user_id=user.id, kind="digest", idempotency_key=key, payload=payload, local_date=day,
                         status="pending", attempts=0, next_attempt_at=now, created_at=now))
    if not dry_run:
        queued = enqueue_many(s, rows)
        for p in planned:
            p.queued = p.key in queued
    return planned


def plan_reminders(s: Session, users: list[User], now: datetime, *, dry_run: bool = False) -> list[Planned]:
    """One bundled message per user with every follow-up that has fallen due and was not yet
    reminded at this due time. Waits out quiet hours; respects the daily cap."""
    by_id = {u.id: u for u in users if not in_quiet_hours(u, now)}
    if not by_id:
        return []
    muted = _mutes(s, list(by_id))
    rows = s.execute(
        select(FollowUp, Customer.name)
        .join(Customer, Customer.id == FollowUp.customer_id)
        .where(FollowUp.owner_id.in_(list(by_id)), FollowUp.status.in_(("open", "snoozed")),
               FollowUp.due_at <= now, Customer.active.is_(True), Customer.status.in_(OPEN_STATUSES),
               (FollowUp.reminded_due_at.is_(None)) | (FollowUp.reminded_due_at != FollowUp.due_at))
        .order_by(FollowUp.owner_id, FollowUp.due_at)).all()
    bundles: dict[int, list[tuple[FollowUp, str]]] = defaultdict(list)
    for follow_up, name in rows:
        if follow_up.customer_id not in muted.get(follow_up.owner_id, ()):
            bundles[follow_up.owner_id].append((follow_up, name))
    planned = []
    for user_id, items in bundles.items():
        user = by_id[user_id]
        day = local(user, now).date()
        if not dry_run and sent_on(s, user_id, day) >= user.daily_cap:
            continue
        ids = "-".join(str(f.id) for f, _ in items)
        key = f"reminder:{user_id}:{day.isoformat()}:{ids}"[:200]
        payload = {"kind": "reminder", "items": [
            {"follow_up_id": f.id, "customer_id": f.customer_id, "name": name, "note": f.note,
             "due_at": f.due_at.isoformat()} for f, name in items]}
        queued = False
        if not dry_run:
            queued = enqueue(s, user, "reminder", key, payload, now=now,
                             customer_id=items[0][0].customer_id if len(items) == 1 else None) is not None
            for f, _ in items:
                f.reminded_due_at = f.due_at
        planned.append(Planned(user_id, user.login, "reminder", key, payload, queued))
    s.flush()
    return planned


def plan_stale_hot(s: Session, users: list[User], now: datetime, *, dry_run: bool = False) -> list[Planned]:
    """High-score prospects untouched for longer than their node's expected dwell."""
    awake = [u for u in users if u.role == "rep" and not in_quiet_hours(u, now)]
    ranked = rank_prospects(s, awake, now)
    planned = []
    for user in awake:
        day = local(user, now).date()
        budget = user.daily_cap - (0 if dry_run else sent_on(s, user.id, day))
        for p in ranked.get(user.id, []):
            if budget <= 0:
                break
            if not (p.scored and p.score >= HOT_SCORE and p.days_since_touch is not None
                    and p.days_since_touch > p.dwell_days):
                continue
            key = f"stale_hot:{user.id}:{p.customer_id}:{day.isoformat()}"
            payload = {"kind": "stale_hot", "items": [_item(p)]}
            queued = False if dry_run else enqueue(s, user, "stale_hot", key, payload, now=now,
                                                   customer_id=p.customer_id) is not None
            budget -= 1 if queued else 0
            planned.append(Planned(user.id, user.login, "stale_hot", key, payload, queued))
    return planned


def plan_manager_digests(s: Session, users: list[User], now: datetime, *, dry_run: bool = False) -> list[Planned]:
    """For each manager at their digest hour: reps with overdue piles (and, where the funnel
    service exists, the team's stuck node)."""
    managers = [u for u in users if u.role == "manager" and u.team_id is not None and _digest_time(u, now)]
    planned = []
    for manager in managers:
        rows = s.execute(
            select(User.login, User.name, func.count(FollowUp.id))
            .join(FollowUp, FollowUp.owner_id == User.id)
            .join(Customer, Customer.id == FollowUp.customer_id)
            .where(User.team_id == manager.team_id, FollowUp.status.in_(("open", "snoozed")),
                   FollowUp.due_at < now - timedelta(days=1), Customer.active.is_(True),
                   Customer.status.in_(OPEN_STATUSES))
            .group_by(User.login, User.name).order_by(func.count(FollowUp.id).desc())).all()
        day = local(manager, now).date()
        payload = {"kind": "manager_digest", "date": day.isoformat(),
                   "overdue": [{"login": login, "name": name, "count": n} for login, name, n in rows],
                   "stuck": _stuck_node(s, manager, now)}
        if not payload["overdue"] and not payload["stuck"]:
            continue
        key = f"manager_digest:{manager.id}:{day.isoformat()}"
        queued = False if dry_run else enqueue(s, manager, "manager_digest", key, payload, now=now) is not None
        planned.append(Planned(manager.id, manager.login, "manager_digest", key, payload, queued))
    return planned


def _stuck_node(s: Session, manager: User, now: datetime) -> dict | None:
    try:
        from core.services import funnel  # written by the funnel work; optional until then
    except ImportError:
        return None
    finder = getattr(funnel, "stuck_node_for_team", None)
    return finder(s, manager, now) if finder else None


def run_jobs(s: Session, now: datetime | None = None, *, dry_run: bool = False,
             users: list[User] | None = None) -> list[Planned]:
    """Everything due at `now`, in budget order: digests first (they count as one), then
    bundled reminders, then stale hot prospects, then managers' digests."""
    now = now or utcnow()
    users = users if users is not None else list(s.scalars(select(User).where(User.active.is_(True))))
    planned = plan_digests(s, users, now, dry_run=dry_run)
    planned += plan_reminders(s, users, now, dry_run=dry_run)
    planned += plan_stale_hot(s, users, now, dry_run=dry_run)
    planned += plan_manager_digests(s, users, now, dry_run=dry_run)
    return planned


# ------------------------------------------------------------------ user actions on nudges
def mute_customer(s: Session, actor: User, customer_id: int) -> NudgeMute:
    acting(s, actor)
    customer = get_customer(s, actor, customer_id)
    mute = s.scalar(select(NudgeMute).where(NudgeMute.user_id == actor.id, NudgeMute.customer_id == customer.id))
    if mute is None:
        mute = NudgeMute(user_id=actor.id, customer_id=customer.id)
        s.add(mute)
        s.flush()
    return mute


def unmute_customer(s: Session, actor: User, customer_id: int) -> None:
    acting(s, actor)
    mute = s.scalar(select(NudgeMute).where(NudgeMute.user_id == actor.id, NudgeMute.customer_id == customer_id))
    if mute is not None:
        s.delete(mute)
        s.flush()


# ------------------------------------------------------------------ the relay's side
def claim_due(s: Session, now: datetime, limit: int = 50, *,
              user_ids: list[int] | None = None) -> list[OutboxMessage]:
    """Pending rows whose time has come, locked for this relay (SKIP LOCKED on PostgreSQL;
    SQLite's write lock already serialises relays)."""
    stmt = (select(OutboxMessage).where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id).limit(limit))
    if user_ids is not None:
        stmt = stmt.where(OutboxMessage.user_id.in_(user_ids))
    if s.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    return list(s.scalars(stmt))


def still_relevant(s: Session, row: OutboxMessage) -> bool:
    """A nudge about a customer that has since been won, lost, deleted or muted is dropped."""
    ids = [i["customer_id"] for i in row.payload.get("items", []) if "customer_id" in i]
    if not ids:
        return True
    open_ids = set(s.scalars(select(Customer.id).where(Customer.id.in_(ids), Customer.active.is_(True),
                                                       Customer.status.in_(OPEN_STATUSES))))
    muted = _mutes(s, [row.user_id]).get(row.user_id, set())
    keep = [i for i in row.payload["items"] if i.get("customer_id") in open_ids and i["customer_id"] not in muted]
    if len(keep) != len(row.payload["items"]):
        row.payload = {**row.payload, "items": keep}
    return bool(keep)


RETRY_BASE = timedelta(seconds=5)
MAX_ATTEMPTS = 8


def mark_sent(row: OutboxMessage, now: datetime) -> None:
    row.status, row.sent_at, row.last_error = "sent", now, None


def mark_failed(row: OutboxMessage, now: datetime, error: str, retry_after: float | None = None) -> None:
    """Back off exponentially (or as the platform asked); give up after MAX_ATTEMPTS."""
    row.attempts += 1
    row.last_error = error[:500]
    if row.attempts >= MAX_ATTEMPTS:
        row.status = "failed"
        return
    delay = timedelta(seconds=retry_after) if retry_after else RETRY_BASE * (2 ** (row.attempts - 1))
    row.next_attempt_at = now + delay


def defer(row: OutboxMessage, until: datetime) -> None:
    row.next_attempt_at = until


def drop(row: OutboxMessage, reason: str) -> None:
    row.status, row.last_error = "dropped", reason
