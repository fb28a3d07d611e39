"""Core speed at company scale: 100k customers, 1M activities.

Prints p50/p99 ms for the customer view's first page, fuzzy find (as a rep and as an admin
over all 100k) and log activity, on SQLite and — when a URL is given — PostgreSQL.

    .venv/bin/python benchmarks/core_bench.py [--customers 100000] [--activities 1000000]
        [--postgres postgresql+psycopg://postgres@127.0.0.1:5432/test] [--samples 300]
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, text  # noqa: E402
from rich.progress import Progress  # noqa: E402

from benchmarks.bench_data import N_REPS, T0, bench_org, insert_random_activities, settle, timed  # noqa: E402
from core import audit  # noqa: E402,F401
from core.db import Base, Database  # noqa: E402
from core.journeys import COMPANY_FORM, COMPANY_HEAD, COMPANY_TAIL  # noqa: E402
from core.models import Customer, CustomerProgress, CustomerSearchTerm, User  # noqa: E402
from core.search import pinyin_forms, search_terms  # noqa: E402
from core.services.activities import log_activity  # noqa: E402
from core.services.customers import find_customers  # noqa: E402
from core.services.timeline import customer_view  # noqa: E402
from core.services.users import add_user  # noqa: E402



def populate(db: Database, n_customers: int, n_activities: int, seed: int = 1) -> dict:
    rng = random.Random(seed)
    with db.session() as s:
        org, pb, node_keys, reps = bench_org(s)
        admin = add_user(s, org, "admin", role="admin")
        ids = {"org": org.id, "pb": pb.id, "reps": [r.id for r in reps], "admin": admin.id}
    customers, progress, terms = [], [], []
    for cid in range(1, n_customers + 1):
        name = f"{rng.choice(COMPANY_HEAD)}{rng.choice(COMPANY_TAIL)}{cid}{rng.choice(COMPANY_FORM)}"
        customers.append(dict(id=cid, org_id=ids["org"], name=name, aliases=[], owner_id=rng.choice(ids["reps"]),
                              status="active", active=True, created_at=T0, updated_at=T0))
        progress.append(dict(customer_id=cid, playbook_id=ids["pb"], current_node_key=rng.choice(node_keys),
                             entered_at=T0, started_at=T0))
        terms.extend({"term": term, "customer_id": cid, "weight": weight}
                     for term, weight in search_terms(name).items())
    with Progress() as bar, db.engine.begin() as conn:
        task = bar.add_task("customers", total=n_customers)
        for i in range(0, n_customers, 5000):
            conn.execute(insert(Customer), customers[i:i + 5000])
            conn.execute(insert(CustomerProgress), progress[i:i + 5000])
            bar.advance(task, 5000)
        for i in range(0, len(terms), 50_000):
            conn.execute(insert(CustomerSearchTerm), terms[i:i + 50_000])
        insert_random_activities(conn, bar, rng, customers, node_keys, n_activities, batch_size=10_000)
    if db.url.startswith("postgresql"):
        with db.engine.begin() as conn:
            conn.execute(text("SELECT setval('customers_id_seq', (SELECT max(id) FROM customers))"))
    settle(db)
    ids["owners"] = {c["id"]: c["owner_id"] for c in customers}
    ids["names"] = [c["name"] for c in customers]
    return ids


def measure(db: Database, ids: dict, samples: int) -> dict[str, tuple[float, float]]:
    rng = random.Random(2)
    n = len(ids["owners"])
    queries = []
    for _ in range(samples):
        name = rng.choice(ids["names"])
        full, initials = pinyin_forms(name[:4])
        # what reps type: two Chinese characters, a pinyin syllable or two, or the initials
        queries.append(rng.choice([name[:2], name[2:4], full[:6], initials[:3]]))
    with db.reader() as s:
        users = {u.id: u for u in s.query(User)}
    admin = users[ids["admin"]]

    def view(i):
        cid = rng.randint(1, n)
        with db.reader() as s:
            customer_view(s, s.merge(users[ids["owners"][cid]], load=False), cid)

    def find_rep(i):
        with db.reader() as s:
            find_customers(s, s.merge(users[ids["reps"][i % N_REPS]], load=False), queries[i])

    def find_admin(i):
        with db.reader() as s:
            find_customers(s, s.merge(admin, load=False), queries[i])

    def log(i):
        cid = rng.randint(1, n)
        with db.session() as s:
            log_activity(s, s.merge(users[ids["owners"][cid]], load=False), cid, "call", "电话跟进",
                         source=("bench", f"{time.time_ns()}-{i}"))

    for fn in (view, find_rep, log):  # warm caches
        fn(0)
    return {"customer view (first page)": timed(view, samples), "fuzzy find (rep)": timed(find_rep, samples),
            "fuzzy find (admin, all customers)": timed(find_admin, samples), "log activity": timed(log, samples)}


def report(label: str, results: dict) -> None:
    print(f"\n{label}")
    print(f"{'operation':38} {'p50 ms':>8} {'p99 ms':>8}")
    for op, (p50, p99) in results.items():
        print(f"{op:38} {p50:8.2f} {p99:8.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--activities", type=int, default=1_000_000)
    ap.add_argument("--samples", type=int, default=300)
    ap.add_argument("--postgres", default="", help="PostgreSQL URL; its public schema is replaced")
    args = ap.parse_args()
    print(f"core_bench: {args.customers:,} customers, {args.activities:,} activities, {args.samples} samples each")
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/bench.db")
        db.create_all()
        t = time.perf_counter()
        ids = populate(db, args.customers, args.activities)
        print(f"SQLite populated in {time.perf_counter() - t:.0f} s")
        report("SQLite", measure(db, ids, args.samples))
        db.dispose()
    if args.postgres:
        db = Database(args.postgres)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        Base.metadata.create_all(db.engine)
        t = time.perf_counter()
        ids = populate(db, args.customers, args.activities)
        print(f"PostgreSQL populated in {time.perf_counter() - t:.0f} s")
        report("PostgreSQL", measure(db, ids, args.samples))
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        db.dispose()


if __name__ == "__main__":
    main()
