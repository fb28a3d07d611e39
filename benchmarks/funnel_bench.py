"""节点漏斗 speed at company scale: 100k customers, 1M activities, ~3-8 node events each.

Prints p50/p99 ms of the funnel (core.services.funnel.funnel: one SQL statement) for the whole
organisation, one team and one rep, all time and the last 30 days, plus the drill-down and
material effectiveness for a node — on SQLite and, when a URL is given, PostgreSQL.

    .venv/bin/python benchmarks/funnel_bench.py [--customers 100000] [--activities 1000000]
        [--samples 30] [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/bench]

PostgreSQL: the tables go to their own schema (funnel_bench) of that database, dropped at the
end; use the `bench` database, never `test` (test runs share it).
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from rich.progress import Progress  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from benchmarks.bench_data import (  # noqa: E402
    T0, bench_org, insert_in_batches, insert_random_activities, settle, timed,
)
from core import audit  # noqa: E402,F401
from core.db import Base, Database  # noqa: E402
from core.journeys import COMPANY_FORM, COMPANY_HEAD, COMPANY_TAIL  # noqa: E402
from core.models import (  # noqa: E402
    Customer, CustomerProgress, Material, MaterialUse, NodeEvent, NodeVisit, User,
)
from core.services.funnel import funnel, stuck_customers  # noqa: E402
from core.services.users import add_user  # noqa: E402
from core.services.visits import derive_visits  # noqa: E402

N_MATERIALS = 12
NOW = datetime(2026, 1, 1)
SCHEMA = "funnel_bench"


def journey(rng: random.Random, n_nodes: int, start: datetime) -> tuple[list[tuple[int, str, datetime]], int | None,
                                                                         datetime, str]:
    """One customer's node events [(position, outcome, at)], where it stands and its status.
    Moves on with p≈0.72 per node, fails now and then (stays), is sent back sometimes, gets
    lost or simply is still somewhere."""
    events = [(0, "entered", start)]
    at, pos, status = start, 0, "active"
    while True:
        at += timedelta(hours=rng.expovariate(1 / 70))
        if at >= NOW:
            return events, pos, events[-1][2], status
        roll = rng.random()
        if roll < 0.12:
            events.append((pos, "failed", at))
            if rng.random() < 0.45:
                return events, pos, events[-1][2], "lost"
            continue
        if roll < 0.16 and pos > 0:
            pos = rng.randrange(pos)  # re-opened: back to an earlier node
            events.append((pos, "entered", at))
            continue
        if roll < 0.30:
            return events, pos, events[-1][2], status  # still there
        events.append((pos, "skipped" if rng.random() < 0.05 and 0 < pos < n_nodes - 1 else "done", at))
        if pos + 1 == n_nodes:
            return events, None, at, "won"
        pos += 1
        events.append((pos, "entered", at))


def populate(db: Database, n_customers: int, n_activities: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    with db.session() as s:
        org, pb, node_keys, reps = bench_org(s)
        manager = add_user(s, org, "manager0", role="manager", team="team0")
        admin = add_user(s, org, "admin", role="admin")
        materials = [Material(org_id=org.id, key=f"m{i}", title=f"资料{i}", kind="pdf", category="案例",
                              tags=[], node_keys=[node_keys[i % len(node_keys)]], file_ids={})
                     for i in range(N_MATERIALS)]
        s.add_all(materials)
        s.flush()
        ids = {"org": org.id, "pb": pb.id, "reps": [r.id for r in reps], "admin": admin.id, "manager": manager.id,
               "team0": reps[0].team_id, "materials": [m.id for m in materials]}
    customers, progress, events, visits, uses = [], [], [], [], []
    for cid in range(1, n_customers + 1):
        owner = rng.choice(ids["reps"])
        start = T0 + timedelta(minutes=rng.randint(0, 500_000))
        evs, pos, entered_at, status = journey(rng, len(node_keys), start)
        customers.append(dict(id=cid, org_id=ids["org"], aliases=[], owner_id=owner, status=status, active=True,
                              name=f"{rng.choice(COMPANY_HEAD)}{rng.choice(COMPANY_TAIL)}{cid}{rng.choice(COMPANY_FORM)}",
                              created_at=start, updated_at=start))
        progress.append(dict(customer_id=cid, playbook_id=ids["pb"], entered_at=entered_at, started_at=start,
                             current_node_key=None if pos is None else node_keys[pos]))
        mine = []
        for p, outcome, at in evs:
            mine.append((len(events) + 1, node_keys[p], outcome, at))  # ids given: the visits name their event
            events.append(dict(id=len(events) + 1, customer_id=cid, playbook_id=ids["pb"], node_key=node_keys[p],
                               outcome=outcome, note="", author_id=owner, occurred_at=at))
            if outcome == "entered" and rng.random() < 0.1:
                uses.append(dict(material_id=rng.choice(ids["materials"]), user_id=owner, customer_id=cid,
                                 node_key=node_keys[p], platform="telegram", sent_at=at))
        visits.extend(dict(customer_id=cid, playbook_id=ids["pb"], **v) for v in derive_visits(mine, node_keys[-1]))
    # Customer rows go in without the ORM hook that writes fuzzy-find terms: the funnel never reads them.
    with Progress() as bar, db.engine.begin() as conn:
        task = bar.add_task("customers", total=n_customers)
        for i in range(0, n_customers, 5000):
            conn.execute(insert(Customer), customers[i:i + 5000])
            conn.execute(insert(CustomerProgress), progress[i:i + 5000])
            bar.advance(task, 5000)
        insert_in_batches(conn, bar, "node events", NodeEvent, events)
        insert_in_batches(conn, bar, "node visits", NodeVisit, visits)
        conn.execute(insert(MaterialUse), uses)
        insert_random_activities(conn, bar, rng, customers, node_keys, n_activities, batch_size=20_000)
    settle(db)
    ids["events"] = len(events)
    ids["visits"] = len(visits)
    ids["uses"] = len(uses)
    ids["rep"] = ids["reps"][0]
    ids["node"] = node_keys[3]
    return ids


def measure(db: Database, ids: dict, samples: int) -> dict[str, tuple[float, float]]:
    from core.services.material_stats import material_effectiveness

    with db.reader() as s:
        users = {u.id: u for u in s.query(User)}
    admin, manager, rep = users[ids["admin"]], users[ids["manager"]], users[ids["rep"]]
    last_30 = NOW - timedelta(days=30)
    results = {}

    def run(label: str, actor: User, **kw):
        def once():
            with db.reader() as s:
                funnel(s, s.merge(actor, load=False), "b2b", now=NOW, **kw)
        results[label] = timed(lambda _i: once(), samples, warm=True)

    run("funnel: organisation, all time", admin, org=True)
    run("funnel: team (20k customers), all time", manager, team=ids["team0"])
    run("funnel: rep (2k customers), all time", rep)
    run("funnel: organisation, last 30 days", admin, org=True, since=last_30)
    run("funnel: team, last 30 days", manager, since=last_30)
    run("funnel: rep, last 30 days", rep, since=last_30)

    def drill():
        with db.reader() as s:
            stuck_customers(s, s.merge(manager, load=False), ids["node"], "b2b", now=NOW)
    results["drill-down: team's customers at a node"] = timed(lambda _i: drill(), samples, warm=True)

    def effect():
        with db.reader() as s:
            material_effectiveness(s, s.merge(admin, load=False), "b2b", node_key=ids["node"])
    results["material effectiveness at a node (org)"] = timed(lambda _i: effect(), samples, warm=True)
    return results


def report(label: str, results: dict) -> None:
    print(f"\n{label}")
    print(f"{'operation':44} {'p50 ms':>8} {'p99 ms':>8}")
    for op, (p50, p99) in results.items():
        print(f"{op:44} {p50:8.1f} {p99:8.1f}")


def bench(db: Database, args, label: str) -> None:
    t = time.perf_counter()
    ids = populate(db, args.customers, args.activities)
    print(f"{label} populated in {time.perf_counter() - t:.0f} s: {args.customers:,} customers, "
          f"{ids['events']:,} node events, {ids['visits']:,} visits, {ids['uses']:,} material uses, {args.activities:,} activities")
    report(label, measure(db, ids, args.samples))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--activities", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=30)
    ap.add_argument("--postgres", default="", help="PostgreSQL URL (the bench database); schema funnel_bench is replaced")
    ap.add_argument("--skip-sqlite", action="store_true")
    args = ap.parse_args()
    print(f"funnel_bench: {args.customers:,} customers, {args.activities:,} activities, {args.samples} samples each")
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            db = Database(f"sqlite:///{tmp}/bench.db")
            db.create_all()
            bench(db, args, "SQLite")
            db.dispose()
    if args.postgres:
        if args.postgres.rstrip("/").endswith("/test"):
            sys.exit("use the bench database, not test (test runs share it)")
        admin_db = Database(args.postgres)
        with admin_db.engine.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}"))
        admin_db.dispose()
        sep = "&" if "?" in args.postgres else "?"
        db = Database(f"{args.postgres}{sep}options=-csearch_path%3D{SCHEMA}")
        Base.metadata.create_all(db.engine)
        try:
            bench(db, args, "PostgreSQL")
        finally:
            db.dispose()
            admin_db = Database(args.postgres)
            with admin_db.engine.begin() as conn:
                conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            admin_db.dispose()


if __name__ == "__main__":
    main()
