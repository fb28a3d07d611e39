"""Node visits (core.models.NodeVisit) derived from node events — one derivation shared by the
services that write node events, the demo, the benchmark generator and the tests.

A visit starts with an ``entered`` event and ends at the customer's next event that is an
``entered`` (any node) or a ``done``/``skipped`` of the playbook's last node, in (occurred_at,
id) order; ``failed`` (and a non-last node's done/skipped, which finish_node follows with the
next node's ``entered`` at the same instant) do not end it. See core.services.funnel for how
the funnel counts them."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Node, NodeEvent, NodeVisit

_EPOCH = datetime(1970, 1, 1)
_ONE_SECOND = timedelta(seconds=1)
VISIT_FIELDS = ("node_key", "entered_at", "left_at", "outcome", "exit_node_key", "dwell_seconds", "dwell_hour",
                "reentry")


def epoch_seconds(at: datetime) -> int:
    """Whole seconds since 1970, fractions dropped (as the funnel SQL always did)."""
    return (at.replace(microsecond=0) - _EPOCH) // _ONE_SECOND


def derive_visits(events: Iterable[tuple[int, str, str, datetime]], last_key: str | None) -> list[dict]:
    """Visits of one customer on one playbook from its events (id, node_key, outcome,
    occurred_at), in any order: dicts of entered_event_id and VISIT_FIELDS."""
    out: list[dict] = []
    open_visit: dict | None = None
    seen: set[str] = set()
    for event_id, node_key, outcome, at in sorted(events, key=lambda e: (e[3], e[0])):
        ends = outcome == "entered" or (outcome in ("done", "skipped") and node_key == last_key)
        if not ends:
            continue
        if open_visit is not None:
            dwell = epoch_seconds(at) - epoch_seconds(open_visit["entered_at"])
            open_visit.update(left_at=at, outcome=outcome, exit_node_key=node_key if outcome == "entered" else None,
                              dwell_seconds=dwell, dwell_hour=dwell // 3600)
            open_visit = None
        if outcome == "entered":
            open_visit = dict(entered_event_id=event_id, node_key=node_key, entered_at=at, left_at=None,
                              outcome=None, exit_node_key=None, dwell_seconds=None, dwell_hour=None,
                              reentry=node_key in seen)
            seen.add(node_key)
            out.append(open_visit)
    return out


def last_node_key(s: Session, playbook_id: int) -> str | None:
    return s.scalar(select(Node.key).where(Node.playbook_id == playbook_id).order_by(Node.position.desc()).limit(1))


def sync_visits(s: Session, customer_id: int, playbook_id: int) -> None:
    """Bring the customer's visits on the playbook in step with its node events, changing only
    the rows that differ (a new event usually closes the open visit and opens one): each change
    goes through the ORM, so the audit trail records it and undo reverts it with the events."""
    s.flush()
    events = s.execute(select(NodeEvent.id, NodeEvent.node_key, NodeEvent.outcome, NodeEvent.occurred_at)
                       .where(NodeEvent.customer_id == customer_id, NodeEvent.playbook_id == playbook_id)).all()
    wanted = {v["entered_event_id"]: v for v in derive_visits(events, last_node_key(s, playbook_id))}
    have = {v.entered_event_id: v for v in s.scalars(select(NodeVisit).where(
        NodeVisit.customer_id == customer_id, NodeVisit.playbook_id == playbook_id))}
    for event_id, row in have.items():
        if event_id not in wanted:
            s.delete(row)
    for event_id, values in wanted.items():
        row = have.get(event_id)
        if row is None:
            s.add(NodeVisit(customer_id=customer_id, playbook_id=playbook_id, **values))
            continue
        for name in VISIT_FIELDS:
            if getattr(row, name) != values[name]:
                setattr(row, name, values[name])
    s.flush()

