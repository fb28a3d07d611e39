"""Nudge scale: 1,000 reps × 100 customers. Prints the time to compute every rep's digest
(priority over intent score, staleness, follow-ups, deliveries) on SQLite, and the relay's
send rate against the fake Telegram Bot API (real python-telegram-bot over loopback HTTP).

    .venv/bin/python benchmarks/nudge_bench.py [--reps 1000] [--customers-per-rep 100] [--sends 300]
"""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert, select  # noqa: E402

from core import audit  # noqa: E402,F401
from core.db import Database  # noqa: E402
from core.models import (  # noqa: E402
    Activity, ChatIdentity, Customer, CustomerProgress, FollowUp, IntentScore, OutboxMessage, User,
)
from core.services import nudges  # noqa: E402
from core.services.playbooks import import_shipped_playbooks  # noqa: E402
from core.services.users import create_organisation, get_or_create_team  # noqa: E402

NOW = datetime(2026, 12, 7, 1, 30)  # 09:30 in Shanghai: digest time


def populate(db: Database, reps: int, per_rep: int, seed: int = 3) -> None:
    rng = random.Random(seed)
    with db.session() as s:
        org = create_organisation(s, "bench")
        pb = {p.key: p for p in import_shipped_playbooks(s, org.id)}["b2b"]
        team = get_or_create_team(s, org, "team")
        team.playbook_id = pb.id
        node_keys = [n.key for n in pb.nodes]
        org_id, pb_id, team_id = org.id, pb.id, team.id
    with db.engine.begin() as conn:
        conn.execute(insert(User), [dict(id=i + 1, org_id=org_id, team_id=team_id, login=f"rep{i}", name=f"rep{i}",
                                         role="rep", timezone="Asia/Shanghai", locale="zh", active=True,
                                         digest_hour=9, quiet_start=21, quiet_end=8, daily_cap=8,
                                         created_at=NOW) for i in range(reps)])
        conn.execute(insert(ChatIdentity), [dict(user_id=i + 1, platform="telegram", external_id=str(10_000 + i),
                                                 chat_id=str(10_000 + i), created_at=NOW) for i in range(reps)])
        customers, progress, acts, scores, fups = [], [], [], [], []
        cid = 0
        for rep in range(1, reps + 1):
            for _ in range(per_rep):
                cid += 1
                customers.append(dict(id=cid, org_id=org_id, name=f"客户{cid}", aliases=[], owner_id=rep,
                                      status="active", active=True, created_at=NOW, updated_at=NOW))
                progress.append(dict(customer_id=cid, playbook_id=pb_id, current_node_key=rng.choice(node_keys),
                                     entered_at=NOW - timedelta(days=rng.randint(0, 60)), started_at=NOW))
                for _ in range(rng.randint(1, 4)):
                    acts.append(dict(customer_id=cid, author_id=rep, type="call", direction="out", content="",
                                     occurred_at=NOW - timedelta(days=rng.uniform(0, 60)), attachments=[],
                                     active=True, created_at=NOW))
                scores.append(dict(customer_id=cid, score=rng.random(), model_version="bench", computed_at=NOW,
                                   reasons=[]))
                if rng.random() < 0.2:
                    fups.append(dict(customer_id=cid, owner_id=rep, due_at=NOW + timedelta(days=rng.uniform(-5, 3)),
                                     note="回访", status="open", created_at=NOW))
        for table, rows in ((Customer, customers), (CustomerProgress, progress), (Activity, acts),
                            (IntentScore, scores), (FollowUp, fups)):
            for i in range(0, len(rows), 20_000):
                conn.execute(insert(table), rows[i:i + 20_000])
        conn.exec_driver_sql("ANALYZE")


async def relay_rate(db: Database, sends: int) -> tuple[float, int]:
    """Send `sends` queued nudges through the real PTB bot to the fake Bot API server."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "e2e"))
    from fake_telegram import FakeTelegram  # the same fake server the e2e tests use

    from bot.channels.telegram import TelegramOutbound, make_bot
    from bot.relay import Relay

    with db.session() as s:  # keep `sends` digests pending, drop the rest
        rows = list(s.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending").order_by(OutboxMessage.id)))
        for row in rows[sends:]:
            row.status = "dropped"
    fake = FakeTelegram()
    await fake.start()
    try:
        bot = make_bot(fake.token, fake.api_url)
        async with bot:
            relay = Relay(db, [TelegramOutbound(bot)], now=lambda: NOW, batch=sends)
            t = time.perf_counter()
            report = await relay.relay_once()
            elapsed = time.perf_counter() - t
        return len(report.sent) / elapsed, len(report.sent)
    finally:
        await fake.stop()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=1000)
    ap.add_argument("--customers-per-rep", type=int, default=100)
    ap.add_argument("--sends", type=int, default=300)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Database(f"sqlite:///{tmp}/nudge.db")
        db.create_all()
        t = time.perf_counter()
        populate(db, args.reps, args.customers_per_rep)
        print(f"nudge_bench: {args.reps:,} reps × {args.customers_per_rep} customers "
              f"(populated in {time.perf_counter() - t:.0f} s)")
        with db.session() as s:
            users = list(s.scalars(select(User)))
            t = time.perf_counter()
            ranked = nudges.rank_prospects(s, users, NOW)
            rank_s = time.perf_counter() - t
            t = time.perf_counter()
            planned = nudges.plan_digests(s, users, NOW)
            digest_s = time.perf_counter() - t
        print(f"rank every rep's customers (SQLite):        {rank_s:6.2f} s  ({sum(map(len, ranked.values())):,} customers)")
        print(f"compute and queue every digest (SQLite):     {digest_s:6.2f} s  ({sum(p.queued for p in planned):,} digests)")
        try:
            rate, sent = asyncio.run(relay_rate(db, args.sends))
            print(f"relay to fake Bot API (PTB, paced 30/s):     {rate:6.1f} messages/s ({sent} sent)")
        except ImportError as exc:
            print(f"relay send rate: not measured ({exc})")
        db.dispose()


if __name__ == "__main__":
    main()
