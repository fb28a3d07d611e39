"""The team's own history as an event log: the same import path as public logs (ml.eventlog.
from_rows), labels from won/lost, and the events that give the outcome away.

A case is a customer; its events are its active activities in time order: the activity type
("call", "visit", ...) or, for a 三一客 step, "node_<outcome>:<node key>". Node position and
direction go in as features. The win is recorded as the last node's "done", so that event (and
everything after it) is cut before training and scoring."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Activity, Customer, CustomerProgress, Node, Playbook
from ml.eventlog import EventLog, from_rows

NODE_PREFIX = "node_"


@dataclass
class CrmLog:
    log: EventLog
    labels: dict[str, int]  # won 1 / lost 0, closed customers only
    cut_before: list[str]  # outcome-revealing activities
    titles: dict[str, str]  # activity name -> words for reasons ("试乘试驾完成")
    statuses: dict[str, str]


def _activity_name(a_type: str, content: str, node_key: str | None) -> str:
    if a_type == "node_change" and node_key:
        outcome = (content or "").split(":", 1)[0] or "change"
        return f"{NODE_PREFIX}{outcome}:{node_key}"
    return a_type


def crm_log(s: Session, *, org_id: int | None = None, customer_ids: list[int] | None = None,
            until: datetime | None = None, open_only: bool = False) -> CrmLog:
    """Every active customer's activities (up to `until`) as an event log."""
    nodes = {}  # playbook id -> {node key: (position, title)}
    last_node: dict[int, str] = {}
    for pb in s.scalars(select(Playbook)):
        nodes[pb.id] = {n.key: (n.position, n.title) for n in pb.nodes}
        if pb.nodes:
            last_node[pb.id] = pb.nodes[-1].key
    stmt = (select(Customer.id, Customer.status, CustomerProgress.playbook_id)
            .outerjoin(CustomerProgress, CustomerProgress.customer_id == Customer.id)
            .where(Customer.active.is_(True)))
    if org_id is not None:
        stmt = stmt.where(Customer.org_id == org_id)
    if customer_ids is not None:
        stmt = stmt.where(Customer.id.in_(customer_ids))
    if open_only:
        stmt = stmt.where(Customer.status.in_(("lead", "active")))
    customers = {cid: (status, pb) for cid, status, pb in s.execute(stmt)}
    acts = (select(Activity.customer_id, Activity.type, Activity.content, Activity.node_key, Activity.direction,
                   Activity.amount, Activity.occurred_at)
            .where(Activity.active.is_(True), Activity.customer_id.in_(select(Customer.id).where(
                Customer.active.is_(True), *( [Customer.org_id == org_id] if org_id is not None else [])))))
    if until is not None:
        acts = acts.where(Activity.occurred_at < until)
    rows, titles = [], {}
    for cid, a_type, content, node_key, direction, amount, at in s.execute(acts.order_by(Activity.occurred_at,
                                                                                          Activity.id)):
        if cid not in customers:
            continue
        pb = customers[cid][1]
        position, title = nodes.get(pb, {}).get(node_key, (None, None)) if node_key else (None, None)
        name = _activity_name(a_type, content, node_key)
        if name.startswith(NODE_PREFIX) and title:
            titles[name] = f"{title}:{name[len(NODE_PREFIX):].split(':')[0]}"
        rows.append({"case_id": str(cid), "activity": name, "timestamp": at,
                     "direction": direction if direction in ("in", "out") else "",
                     "amount": float(amount) if amount is not None else None, "node_index": position})
    log = from_rows(rows, source="crm") if rows else EventLog([])
    labels = {str(cid): 1 if st == "won" else 0 for cid, (st, _) in customers.items() if st in ("won", "lost")}
    cut = sorted({f"{NODE_PREFIX}done:{key}" for key in last_node.values()})
    return CrmLog(log, labels, cut, titles, {str(cid): st for cid, (st, _) in customers.items()})
