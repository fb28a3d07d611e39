"""What the company-scale benchmarks share: filling tables in batches with a progress bar, the
random activity history, and p50/p99 timing. (Benchmarks only; nothing here is product code.)"""
from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import insert

from core.journeys import NODE_TYPES
from core.models import Activity
from core.services.playbooks import import_shipped_playbooks
from core.services.users import add_user, create_organisation, get_or_create_team

T0 = datetime(2025, 1, 1)
N_REPS, N_TEAMS = 50, 5


def bench_org(s):
    """The company the benchmarks fill: one organisation on the b2b playbook, N_TEAMS teams and
    N_REPS reps spread over them. Returns (org, playbook, node keys, reps)."""
    org = create_organisation(s, "bench")
    pb = {p.key: p for p in import_shipped_playbooks(s, org.id)}["b2b"]
    for t in range(N_TEAMS):
        get_or_create_team(s, org, f"team{t}").playbook_id = pb.id
    reps = [add_user(s, org, f"rep{i}", role="rep", team=f"team{i % N_TEAMS}") for i in range(N_REPS)]
    return org, pb, [n.key for n in pb.nodes], reps


def insert_in_batches(conn, bar, label: str, model, rows: list[dict], size: int = 20_000) -> None:
    task = bar.add_task(label, total=len(rows))
    for i in range(0, len(rows), size):
        conn.execute(insert(model), rows[i:i + size])
        bar.advance(task, len(rows[i:i + size]))


def insert_random_activities(conn, bar, rng: random.Random, customers: list[dict], node_keys: list[str],
                             n: int, batch_size: int) -> None:
    """`n` visits spread over the customers (ids 1..len(customers)) and 500,000 minutes from T0."""
    task = bar.add_task("activities", total=n)
    types = list(NODE_TYPES["discovery"])
    batch = []
    for _ in range(n):
        cid = rng.randint(1, len(customers))
        batch.append(dict(customer_id=cid, author_id=customers[cid - 1]["owner_id"], type=rng.choice(types),
                          direction="out", occurred_at=T0 + timedelta(minutes=rng.randint(0, 500_000)),
                          content="拜访客户,沟通需求与报价", node_key=rng.choice(node_keys), attachments=[],
                          active=True, created_at=T0))
        if len(batch) == batch_size:
            conn.execute(insert(Activity), batch)
            bar.advance(task, len(batch))
            batch = []
    if batch:
        conn.execute(insert(Activity), batch)
        bar.advance(task, len(batch))


def settle(db) -> None:
    """After a bulk load, what a running database would have done by itself: statistics for the
    planner and, on PostgreSQL, the visibility map autovacuum keeps (without it every index-only
    scan also reads the table)."""
    if db.url.startswith("postgresql"):
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")


def p50_p99(times_ms: list[float]) -> tuple[float, float]:
    times = sorted(times_ms)
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


def timed(fn: Callable[[int], object], samples: int, *, warm: bool = False) -> tuple[float, float]:
    """p50 and p99 milliseconds of fn(i) for i in range(samples) (after one unmeasured call if warm)."""
    if warm:
        fn(-1)
    times = []
    for i in range(samples):
        t = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - t) * 1000)
    return p50_p99(times)
