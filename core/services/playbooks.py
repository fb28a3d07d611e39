"""三一客: playbook import and a customer's walk through its key nodes."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import Duplicate, Invalid, NotFound
from core.models import Activity, Customer, CustomerProgress, Node, NodeEvent, Playbook, User
from core.services.access import acting, get_customer
from core.services.visits import sync_visits

SHIPPED_DIR = Path(__file__).resolve().parent.parent / "playbooks"
REQUIRED_NODE_FIELDS = ("key", "title")


def parse_playbook_yaml(text: str) -> dict:
    """Validate a playbook document; errors name the missing field and the node."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise Invalid(f"not valid YAML: {exc}", field="yaml") from None
    if not isinstance(doc, dict):
        raise Invalid("a playbook is a mapping with key, name and nodes", field="playbook")
    for field in ("key", "name", "nodes"):
        if not doc.get(field):
            raise Invalid(f"playbook field '{field}' is missing", field=field, reason="missing")
    if not isinstance(doc["nodes"], list):
        raise Invalid("'nodes' must be a list", field="nodes")
    seen = set()
    for i, node in enumerate(doc["nodes"], start=1):
        if not isinstance(node, dict):
            raise Invalid(f"node {i} is not a mapping", field="nodes", node=i)
        for field in REQUIRED_NODE_FIELDS:
            if not node.get(field):
                raise Invalid(f"node {i}: field '{field}' is missing", field=field, node=i,
                              reason="missing")
        if node["key"] in seen:
            raise Duplicate(f"node {i}: key '{node['key']}' repeats", entity="node", ref=node["key"],
                            node=i)
        seen.add(node["key"])
        dwell = node.get("expected_dwell_days", 3)
        if not isinstance(dwell, int) or dwell < 0:
            raise Invalid(f"node {i}: expected_dwell_days must be a whole number ≥ 0",
                          field="expected_dwell_days", node=i)
    return doc


def import_playbook(s: Session, org_id: int, text: str) -> Playbook:
    """Create or update (by key) a playbook. Existing node keys keep their rows so progress
    and history stay valid."""
    doc = parse_playbook_yaml(text)
    pb = s.scalar(select(Playbook).where(Playbook.org_id == org_id, Playbook.key == doc["key"]))
    if pb is None:
        pb = Playbook(org_id=org_id, key=doc["key"], name=doc["name"])
        s.add(pb)
    pb.name = doc["name"]
    pb.description = doc.get("description", "") or ""
    by_key = {n.key: n for n in pb.nodes}
    nodes = []
    for pos, nd in enumerate(doc["nodes"]):
        node = by_key.get(nd["key"]) or Node(key=nd["key"])
        node.position = pos
        node.title = nd["title"]
        node.script = (nd.get("script") or "").strip()
        node.expected_dwell_days = nd.get("expected_dwell_days", 3)
        nodes.append(node)
    pb.nodes = nodes
    s.flush()
    return pb


def import_shipped_playbooks(s: Session, org_id: int) -> list[Playbook]:
    return [import_playbook(s, org_id, p.read_text(encoding="utf-8"))
            for p in sorted(SHIPPED_DIR.glob("*.yaml"))]


def list_playbooks(s: Session, org_id: int) -> list[Playbook]:
    return list(s.scalars(select(Playbook).where(Playbook.org_id == org_id, Playbook.active.is_(True))
                          .order_by(Playbook.id)))


def get_playbook(s: Session, org_id: int, key_or_id: str | int) -> Playbook:
    q = select(Playbook).where(Playbook.org_id == org_id)
    if isinstance(key_or_id, int) or str(key_or_id).isdigit():
        q = q.where(Playbook.id == int(key_or_id))
    else:
        q = q.where(Playbook.key == key_or_id)
    pb = s.scalar(q)
    if pb is None:
        raise NotFound(f"playbook {key_or_id} not found", entity="playbook", ref=key_or_id)
    return pb


def default_playbook_for(s: Session, owner: User) -> Playbook | None:
    if owner.team is not None and owner.team.playbook_id is not None:
        return s.get(Playbook, owner.team.playbook_id)
    return s.scalar(select(Playbook).where(Playbook.org_id == owner.org_id, Playbook.active.is_(True))
                    .order_by(Playbook.id).limit(1))


def start_playbook(s: Session, customer: Customer, playbook: Playbook, *,
                   author: User | None = None, at: datetime | None = None) -> CustomerProgress:
    at = at or utcnow()
    first = playbook.nodes[0].key if playbook.nodes else None
    progress = CustomerProgress(customer_id=customer.id, playbook_id=playbook.id,
                                current_node_key=first, entered_at=at, started_at=at)
    s.add(progress)
    if first:
        s.add(NodeEvent(customer_id=customer.id, playbook_id=playbook.id, node_key=first,
                        outcome="entered", author_id=author.id if author else None, occurred_at=at))
        sync_visits(s, customer.id, playbook.id)  # opens the first node's visit
    s.flush()
    return progress


@dataclass
class NodeState:
    node: Node
    state: str  # done | skipped | failed | current | next
    entered_at: datetime | None = None
    note: str = ""


@dataclass
class NodeBoard:
    customer: Customer
    playbook: Playbook
    progress: CustomerProgress
    nodes: list[NodeState]

    @property
    def current(self) -> Node | None:
        key = self.progress.current_node_key
        return self.playbook.node(key) if key else None


def _progress(s: Session, customer: Customer, *, create: bool = True) -> CustomerProgress:
    """The customer's progress; a customer created before any playbook existed starts on the
    owner's default one (persisted only when a change is made, so reads never write)."""
    progress = s.scalar(select(CustomerProgress).where(CustomerProgress.customer_id == customer.id))
    if progress is None:
        pb = default_playbook_for(s, customer.owner)
        if pb is None:
            raise NotFound("no playbook configured", entity="playbook", ref="")
        if not create:
            return CustomerProgress(customer_id=customer.id, playbook_id=pb.id,
                                    current_node_key=pb.nodes[0].key if pb.nodes else None,
                                    entered_at=customer.created_at, started_at=customer.created_at)
        progress = start_playbook(s, customer, pb)
    return progress


def node_board(s: Session, actor: User, customer_id: int) -> NodeBoard:
    customer = get_customer(s, actor, customer_id)
    progress = _progress(s, customer, create=False)
    pb = s.get(Playbook, progress.playbook_id)
    last: dict[str, NodeEvent] = {}
    for ev in s.scalars(select(NodeEvent).where(NodeEvent.customer_id == customer.id,
                                                NodeEvent.playbook_id == pb.id)
                        .order_by(NodeEvent.occurred_at, NodeEvent.id)):
        last[ev.node_key] = ev
    current = progress.current_node_key
    current_pos = pb.node(current).position if current and pb.node(current) else len(pb.nodes)
    states = []
    for node in pb.nodes:
        ev = last.get(node.key)
        if node.key == current:
            state = "current"
        elif node.position < current_pos and ev is not None and ev.outcome in ("done", "skipped", "failed"):
            state = ev.outcome
        elif node.position < current_pos:
            state = "skipped"
        else:
            state = "next"
        states.append(NodeState(node, state, progress.entered_at if state == "current" else None,
                                ev.note if ev else ""))
    return NodeBoard(customer, pb, progress, states)


def _node_activity(s, customer, actor, node, outcome, note, at, source):
    platform, message_id = source or (None, None)
    s.add(Activity(customer_id=customer.id, author_id=actor.id, type="node_change",
                   direction="internal", occurred_at=at, node_key=node.key,
                   content=f"{outcome}:{node.title}" + (f" — {note}" if note else ""),
                   source_platform=platform, source_message_id=message_id))


def finish_node(s: Session, actor: User, customer_id: int, outcome: str = "done", note: str = "", *,
                at: datetime | None = None, source: tuple[str, str] | None = None) -> NodeBoard:
    """Mark the current node done, skipped or failed. done/skipped move on to the next node
    (the last one done marks the customer won); failed stays so the rep can retry."""
    if outcome not in ("done", "skipped", "failed"):
        raise Invalid(f"unknown outcome {outcome}", field="outcome", value=outcome)
    acting(s, actor)
    customer = get_customer(s, actor, customer_id)
    if source and s.scalar(select(Activity.id).where(Activity.source_platform == source[0],
                                                     Activity.source_message_id == source[1])):
        return node_board(s, actor, customer_id)  # this button press was already handled
    at = at or utcnow()
    progress = _progress(s, customer)
    pb = s.get(Playbook, progress.playbook_id)
    node = pb.node(progress.current_node_key) if progress.current_node_key else None
    if node is None:
        raise Invalid("all nodes are already passed", field="node", reason="finished")
    s.add(NodeEvent(customer_id=customer.id, playbook_id=pb.id, node_key=node.key, outcome=outcome,
                    note=note, author_id=actor.id, occurred_at=at))
    _node_activity(s, customer, actor, node, outcome, note, at, source)
    if outcome in ("done", "skipped"):
        nxt = pb.nodes[node.position + 1] if node.position + 1 < len(pb.nodes) else None
        progress.current_node_key = nxt.key if nxt else None
        progress.entered_at = at
        if nxt:
            s.add(NodeEvent(customer_id=customer.id, playbook_id=pb.id, node_key=nxt.key,
                            outcome="entered", author_id=actor.id, occurred_at=at))
        elif outcome == "done":
            customer.status = "won"
        sync_visits(s, customer.id, pb.id)  # closes the node's visit, opens the next one's
    if customer.status == "lead":
        customer.status = "active"
    s.flush()
    return node_board(s, actor, customer_id)


def move_to_node(s: Session, actor: User, customer_id: int, node_key: str, note: str = "", *,
                 at: datetime | None = None) -> NodeBoard:
    """Jump to any node, e.g. back to 需求调研 when a deal re-opens (a re-entry)."""
    acting(s, actor)
    customer = get_customer(s, actor, customer_id)
    at = at or utcnow()
    progress = _progress(s, customer)
    pb = s.get(Playbook, progress.playbook_id)
    node = pb.node(node_key)
    if node is None:
        raise NotFound(f"node {node_key} not in {pb.key}", entity="node", ref=node_key)
    progress.current_node_key = node.key
    progress.entered_at = at
    s.add(NodeEvent(customer_id=customer.id, playbook_id=pb.id, node_key=node.key,
                    outcome="entered", note=note, author_id=actor.id, occurred_at=at))
    _node_activity(s, customer, actor, node, "entered", note, at, None)
    sync_visits(s, customer.id, pb.id)  # closes the open visit (moved on or back), opens this node's
    if customer.status in ("won", "lost"):
        customer.status = "active"
    s.flush()
    return node_board(s, actor, customer_id)
