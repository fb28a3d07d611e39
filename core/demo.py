"""`mammoth demo`: a demo organisation of 2 teams, 6 reps, 2 managers, an admin and N
customers with journeys from core.journeys. The same seed and anchor give the same data."""
from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.db import utcnow
from core.journeys import Journey, simulate_journey
from core.models import (
    Activity, Contact, Customer, CustomerProgress, FollowUp, MasterOrder, NodeEvent, Organisation, SubOrder,
)
from core.services import materials as material_service
from core.services import playbooks as playbook_service
from core.services.users import add_user, get_or_create_team
from core.services.visits import sync_visits

DEMO_ORG = "猛犸演示公司"
TIMEZONE = "Asia/Shanghai"
# (login, name, role, team); team 0 sells cars (4S 三一客), team 1 sells B2B.
PEOPLE = [
    ("admin", "系统管理员", "admin", None),
    ("wangqiang", "王强", "manager", 0),
    ("zhangwei", "张伟", "rep", 0),
    ("lina", "李娜", "rep", 0),
    ("liuyang", "刘洋", "rep", 0),
    ("chenjing", "陈静", "manager", 1),
    ("zhaolei", "赵磊", "rep", 1),
    ("huangmin", "黄敏", "rep", 1),
    ("zhoujie", "周杰", "rep", 1),
]
TEAMS = [("汽车销售一组", "car_dealer"), ("大客户二组", "b2b")]


@dataclass
class DemoResult:
    org: Organisation
    customers: int
    activities: int
    journeys: dict[int, Journey]  # customer id -> the plan with its hidden intent


def find_demo_org(s: Session) -> Organisation | None:
    return s.scalar(select(Organisation).where(Organisation.name == DEMO_ORG))


def create_demo(s: Session, *, customers: int = 300, seed: int = 7, anchor: datetime | None = None,
                materials_dir: Path | None = None) -> DemoResult:
    rng = random.Random(seed)
    anchor = anchor or utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    org = Organisation(name=DEMO_ORG)
    s.add(org)
    s.flush()
    playbooks = {pb.key: pb for pb in playbook_service.import_shipped_playbooks(s, org.id)}
    teams = []
    for name, pb_key in TEAMS:
        team = get_or_create_team(s, org, name)
        team.playbook_id = playbooks[pb_key].id
        teams.append(team)
    reps_by_team: dict[int, list] = {0: [], 1: []}
    for login, name, role, team_index in PEOPLE:
        user = add_user(s, org, login, name, role=role,
                        team=teams[team_index].name if team_index is not None else None,
                        timezone=TIMEZONE, locale="zh")
        if role == "rep":
            reps_by_team[team_index].append(user)
    if materials_dir is not None and Path(materials_dir).is_dir():
        material_service.sync_materials(s, org.id, Path(materials_dir))

    used_names: set[str] = set()
    journeys: dict[int, Journey] = {}
    n_activities = 0
    for i in range(customers):
        team_index = i % 2
        pb = playbooks[TEAMS[team_index][1]]
        owner = reps_by_team[team_index][rng.randrange(len(reps_by_team[team_index]))]
        j = simulate_journey(rng, [n.key for n in pb.nodes], anchor=anchor, b2b=team_index == 1)
        name = j.name
        while name in used_names:
            name = f"{j.name}{rng.randint(2, 99)}"
        used_names.add(name)
        customer = Customer(org_id=org.id, name=name, aliases=[], industry=j.industry, source=j.source,
                            owner_id=owner.id, status=j.status,
                            created_at=j.start, updated_at=j.activities[-1].at if j.activities else j.start)
        s.add(customer)
        s.flush()
        journeys[customer.id] = j
        s.add(Contact(customer_id=customer.id, name=j.contact, created_at=j.start))
        s.add(CustomerProgress(customer_id=customer.id, playbook_id=pb.id, current_node_key=j.current_node,
                               entered_at=j.entered_at or j.start, started_at=j.start))
        titles = {n.key: n.title for n in pb.nodes}
        for ev in j.node_events:
            s.add(NodeEvent(customer_id=customer.id, playbook_id=pb.id, node_key=ev.node_key,
                            outcome=ev.outcome, note=ev.note, author_id=owner.id, occurred_at=ev.at))
            if ev.outcome != "entered":
                s.add(Activity(customer_id=customer.id, author_id=owner.id, type="node_change",
                               direction="internal", occurred_at=ev.at, node_key=ev.node_key,
                               content=f"{ev.outcome}:{titles[ev.node_key]}" + (f" — {ev.note}" if ev.note else "")))
                n_activities += 1
        sync_visits(s, customer.id, pb.id)  # the node visits the funnel reads, from those events
        for a in j.activities:
            s.add(Activity(customer_id=customer.id, author_id=owner.id, type=a.type, direction=a.direction,
                           occurred_at=a.at, content=a.content, node_key=a.node_key,
                           amount=Decimal(str(a.amount)) if a.amount is not None else None, created_at=a.at))
        n_activities += len(j.activities)
        if j.follow_up_at is not None:
            s.add(FollowUp(customer_id=customer.id, owner_id=owner.id, due_at=j.follow_up_at,
                           note=f"跟进{j.contact}", created_at=j.activities[-1].at if j.activities else j.start))
        if j.status == "won" and team_index == 1:
            _demo_orders(s, rng, customer, owner, j)
    s.flush()
    return DemoResult(org, customers, n_activities, journeys)


def _demo_orders(s: Session, rng: random.Random, customer: Customer, owner, j: Journey) -> None:
    total = Decimal(rng.choice([100, 200, 500, 1000]))
    master = MasterOrder(customer_id=customer.id, product=rng.choice(["智能终端", "年度服务包", "物流软件许可"]),
                         total_quantity=total, allocated_quantity=Decimal(0),
                         unit_price=Decimal(rng.choice([800, 1200, 3500])), currency="CNY",
                         created_by=owner.id, created_at=j.closed_at)
    s.add(master)
    s.flush()
    for k in range(rng.randint(1, 3)):
        qty = (total / 4).quantize(Decimal(1))
        s.add(SubOrder(master_id=master.id, quantity=qty, created_by=owner.id,
                       delivery_date=(j.closed_at + timedelta(days=30 * (k + 1))).date(),
                       status="delivered" if k == 0 else "planned", created_at=j.closed_at))
        master.allocated_quantity += qty
