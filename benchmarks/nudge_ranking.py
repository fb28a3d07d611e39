"""Does the nudge priority point reps at the customers who will sign? Replays the demo
organisation to a cut-off date, then for every rep ranks their open customers by the nudge
priority (intent score from an LSTM trained only on what was known at the cut-off × urgency)
and by recency alone (most recently touched first, what a CRM without a model offers), and
prints precision@10 of both against the customers who went on to sign after the cut-off (the
demo generator knows).

    .venv/bin/python benchmarks/nudge_ranking.py [--customers 900] [--seed 7] [--days-before 60]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from statistics import mean

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import delete, select, update  # noqa: E402

from core import audit  # noqa: E402,F401
from core.db import Database  # noqa: E402
from core.demo import create_demo  # noqa: E402
from core.models import (  # noqa: E402
    Activity, Customer, CustomerProgress, FollowUp, IntentScore, MasterOrder, NodeEvent, SubOrder, User,
)

ANCHOR = datetime(2026, 6, 1)


def truncate_to(db: Database, cutoff: datetime) -> None:
    """Forget everything that happened at or after the cut-off."""
    with db.session() as s:
        late = select(Customer.id).where(Customer.created_at >= cutoff)
        subs = select(SubOrder.id).join(MasterOrder).where(MasterOrder.created_at >= cutoff)
        s.execute(delete(SubOrder).where(SubOrder.id.in_(subs)))
        s.execute(delete(MasterOrder).where(MasterOrder.created_at >= cutoff))
        s.execute(delete(Activity).where((Activity.occurred_at >= cutoff) | Activity.customer_id.in_(late)))
        s.execute(delete(NodeEvent).where((NodeEvent.occurred_at >= cutoff) | NodeEvent.customer_id.in_(late)))
        s.execute(delete(FollowUp).where((FollowUp.created_at >= cutoff) | FollowUp.customer_id.in_(late)))
        s.execute(update(Customer).where(Customer.id.in_(late)).values(active=False))  # did not exist yet
        # where each remaining customer stood at the cut-off
        for progress in s.scalars(select(CustomerProgress)):
            events = list(s.scalars(select(NodeEvent).where(NodeEvent.customer_id == progress.customer_id)
                                    .order_by(NodeEvent.occurred_at, NodeEvent.id)))
            entered = [e for e in events if e.outcome == "entered"]
            if entered:
                progress.current_node_key, progress.entered_at = entered[-1].node_key, entered[-1].occurred_at
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--customers", type=int, default=900)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--days-before", type=int, default=60, help="cut-off = anchor minus this many days")
    ap.add_argument("--backbone", default="lstm")
    args = ap.parse_args()
    cutoff = ANCHOR - timedelta(days=args.days_before)
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["MAMMOTH_MODEL_DIR"] = f"{tmp}/models"
        from core.settings import get_settings

        get_settings.cache_clear()
        db = Database(f"sqlite:///{tmp}/replay.db")
        db.create_all()
        with db.session() as s:
            demo = create_demo(s, customers=args.customers, seed=args.seed, anchor=ANCHOR)
        journeys = demo.journeys
        # open at the cut-off, and signed later: what a good ranking should surface
        signed_later = {cid for cid, j in journeys.items()
                        if j.status == "won" and j.closed_at and j.closed_at >= cutoff and j.start < cutoff}
        closed_before = {cid: j.status for cid, j in journeys.items()
                         if j.status in ("won", "lost") and j.closed_at and j.closed_at < cutoff}
        truncate_to(db, cutoff)
        with db.session() as s:
            for cid in list(s.scalars(select(Customer.id))):
                status = closed_before.get(cid, "active")
                s.execute(update(Customer).where(Customer.id == cid).values(status=status))

        from ml.jobs import score_customers, train_from_db

        result = train_from_db(db, backbone=args.backbone, min_each=30)
        scored = score_customers(db, now=cutoff, explain=False)
        from core.services import nudges

        with db.session() as s:
            reps = list(s.scalars(select(User).where(User.role == "rep")))
            ranked = nudges.rank_prospects(s, reps, cutoff)
        by_priority, by_recency, by_score, base = [], [], [], []
        for rep in reps:
            prospects = ranked.get(rep.id, [])
            if len(prospects) < 10:
                continue
            hits = lambda ps: sum(p.customer_id in signed_later for p in ps[:10]) / 10  # noqa: E731
            by_priority.append(hits(prospects))
            by_recency.append(hits(nudges.rank_by_recency(prospects)))
            by_score.append(hits(sorted(prospects, key=lambda p: -p.score)))
            base.append(sum(p.customer_id in signed_later for p in prospects) / len(prospects))
        print(f"nudge ranking on the demo organisation: {args.customers} customers, seed {args.seed}, "
              f"cut-off {cutoff:%Y-%m-%d} ({args.days_before} days before the end)")
        print(f"model trained on what was known then: {result.version}, holdout AUC {result.holdout_auc:.3f}; "
              f"{scored} open customers scored")
        print(f"reps ranked: {len(by_priority)}; open customers who signed after the cut-off: {len(signed_later)}")
        print(f"precision@10  priority (intent × urgency): {mean(by_priority):.3f}")
        print(f"precision@10  recency alone:               {mean(by_recency):.3f}")
        print(f"precision@10  intent score alone:          {mean(by_score):.3f}")
        print(f"base rate (random pick):                   {mean(base):.3f}")
        get_settings.cache_clear()


if __name__ == "__main__":
    main()
