"""Synthetic CRM-like event logs with a learnable outcome (tests and benchmarks; no real data)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from ml.eventlog import Case, Event, EventLog

ACTIVITIES = ("call", "sms", "email", "visit", "needs", "proposal", "quote", "contract", "feedback", "note")
_GOOD = {"visit": 0.5, "needs": 0.3, "quote": 0.4, "feedback": 0.3}
_BAD = {"sms": -0.2, "note": -0.1}


def make_log(
    n_cases: int, *, max_events: int = 20, min_events: int = 1, seed: int = 0, start: datetime | None = None
) -> tuple[EventLog, dict[str, int]]:
    """``(log, labels)``: the label depends on which activities happened, inbound replies and gaps."""
    rng = np.random.default_rng(seed)
    origin = start or datetime(2024, 1, 1, tzinfo=timezone.utc)
    lengths = rng.integers(min_events, max_events + 1, n_cases)
    starts = np.sort(rng.uniform(0, 24 * 365, n_cases))
    total = int(lengths.sum())
    acts = rng.integers(0, len(ACTIVITIES), total)
    gaps = rng.exponential(20.0, total)
    inbound = rng.random(total) < 0.35
    amounts = rng.lognormal(9, 1, n_cases)
    noise = rng.normal(0, 0.7, n_cases)
    weight = np.array([_GOOD.get(a, 0.0) + _BAD.get(a, 0.0) for a in ACTIVITIES])
    cases, labels = [], {}
    pos = 0
    for i in range(n_cases):
        n = int(lengths[i])
        a, g, d = acts[pos : pos + n], gaps[pos : pos + n], inbound[pos : pos + n]
        pos += n
        hours = starts[i] + np.cumsum(g) - g[0]
        score = weight[a].sum() / np.sqrt(n) + 0.8 * d.mean() - 0.01 * g.mean() + noise[i] - 0.3
        case_id = f"c{i:06d}"
        labels[case_id] = int(score > 0)
        events = [
            Event(
                case_id=case_id,
                activity=ACTIVITIES[a[j]],
                timestamp=origin + timedelta(hours=float(hours[j])),
                resource=f"rep{i % 7}",
                amount=float(round(amounts[i], 2)) if ACTIVITIES[a[j]] == "quote" else None,
                node_index=int(min(7, j // 3)),
                direction="in" if d[j] else "out",
                utc_offset_min=480,
            )
            for j in range(n)
        ]
        cases.append(Case(case_id, events))
    return EventLog(cases, "synthetic"), labels


def to_rows(log: EventLog) -> list[dict]:
    """The log as CRM-style rows (what core will hand to :func:`ml.eventlog.from_rows`)."""
    return [
        {
            "customer_id": e.case_id,
            "type": e.activity,
            "occurred_at": e.timestamp.astimezone(timezone(timedelta(minutes=e.utc_offset_min))),
            "direction": e.direction,
            "amount": e.amount,
            "node_index": e.node_index,
            "author_id": e.resource,
        }
        for case in log.cases
        for e in case.events
    ]
