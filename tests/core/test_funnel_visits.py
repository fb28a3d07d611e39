"""node_visits: the materialised visits the funnel reads agree with the old window over
node_events on random histories (finish_node / move_to_node / failures, ties, back-dated steps,
lost and deleted customers), for every scope and several periods; the migration's backfill
derives the same visits as the services; undo keeps them in step."""
from __future__ import annotations

import importlib.util
import random
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, text

from core.errors import Invalid
from core.models import CustomerProgress, NodeEvent, NodeVisit, Playbook
from core.services import playbooks as pb_svc
from core.services.customers import create_customer, delete_customer, set_status
from core.services.funnel import (
    _END_CODE, _EPOCH, _at_rank, _epoch, _run_funnel_sql, _scope_filter, position_sql, resolve_scope, visits_params,
)
from core.services.undo import undo_last
from core.services.visits import derive_visits, sync_visits
from tests.conftest import reload

T0 = datetime(2026, 3, 2, 9, 0)
NOW = T0 + timedelta(days=60)
MIGRATION = Path(__file__).resolve().parents[2] / "core" / "migrations" / "versions" / "0004_node_visits.py"


# ---------------------------------------------------------------- the old query, for reference
# core/services/funnel.py before node_visits: LEAD over every node event of the organisation.
def _old_visits_cte(dialect: str, positions: list[int], *, in_scope: str = "1", customers: str = "") -> str:
    """The CTE `visits`: one row per visit (see the module docstring) entered in [:since,
    :until), of playbook :pb, of active customers of organisation :org: customer_id, pos (the
    node's position), in_scope (the SQL given, over v.customer_id), moved (1: moved on), still_open
    (1: no exit yet), dwell (seconds, entering to leaving; meaningless while open). Node keys are
    bound as :k0.., the last one also as :last_key. `customers`: an extra condition on
    e.customer_id, to walk fewer customers.

    Only 'entered' events and the last node's done/skipped are windowed: finish_node writes the
    next node's 'entered' at the instant of done/skipped, so the next 'entered' is the exit of
    every visit but the last node's, whose exit is its done/skipped. One LEAD carries the next
    event's time and node position packed as seconds * 1024 + position (1023: passed the last
    node)."""
    # SQLite would rather skip-scan the marks index and then sort for the window; the walk
    # index hands rows over in (customer, time, id) order already. (Migration 0002 adds it.)
    walk_index = " INDEXED BY ix_node_events_funnel" if dialect == "sqlite" else ""
    pos = position_sql("e.node_key", positions)
    secs = _epoch(dialect, "e.occurred_at")
    extra = f"\n          AND {customers}" if customers else ""
    return f"""visits AS (
    SELECT v.customer_id, v.pos, {in_scope} AS in_scope,
           CASE WHEN v.next_event % 1024 > v.pos THEN 1 ELSE 0 END AS moved,
           CASE WHEN v.next_event IS NULL THEN 1 ELSE 0 END AS still_open,
           v.next_event / 1024 - v.secs AS dwell
    FROM (
        SELECT e.customer_id, e.outcome, {pos} AS pos, {secs} AS secs,
               LEAD({secs} * 1024 + CASE WHEN e.outcome = 'entered' THEN {pos} ELSE {_END_CODE} END)
                   OVER (PARTITION BY e.customer_id ORDER BY e.occurred_at, e.id) AS next_event
        FROM node_events e{walk_index}
        WHERE e.playbook_id = :pb
          AND (e.outcome = 'entered' OR (e.node_key = :last_key AND e.outcome IN ('done', 'skipped')))
          AND e.occurred_at >= :since AND e.occurred_at < :until
          AND e.customer_id NOT IN (SELECT c.id FROM customers c WHERE c.org_id = :org AND NOT c.active){extra}
    ) v
    WHERE v.outcome = 'entered'
)"""


def _old_funnel_sql(dialect: str, scope: Scope, positions: list[int]) -> str:
    """One statement; per node: flow (scope and organisation), dwell percentiles, failed and
    skipped customers, who sits there now. Dwell percentiles come from an hourly histogram per
    node (exact where a bin holds one value, within the hour otherwise), so no per-visit sort."""
    org_scope = scope.kind == "org"
    in_scope = ("1" if org_scope else
                f"(CASE WHEN v.customer_id IN (SELECT c.id FROM customers c WHERE c.org_id = :org "
                f"AND {_scope_filter(scope, 'c.owner_id')}) THEN 1 ELSE 0 END)")
    scoped = (lambda expr: expr) if org_scope else (lambda expr: f"CASE WHEN in_scope = 1 THEN {expr} END")
    org_columns = ("f.reached AS org_reached, f.moved_on AS org_moved_on" if org_scope else
                   "f.org_reached, f.org_moved_on")
    org_flow = ("" if org_scope else
                ", COUNT(DISTINCT customer_id) AS org_reached,"
                " COUNT(DISTINCT CASE WHEN moved = 1 THEN customer_id END) AS org_moved_on")
    return f"""
WITH {_old_visits_cte(dialect, positions, in_scope=in_scope)},
flow AS (
    SELECT pos,
           COUNT(DISTINCT {scoped('customer_id')}) AS reached,
           COUNT(DISTINCT CASE WHEN moved = 1 {'' if org_scope else 'AND in_scope = 1'} THEN customer_id END)
               AS moved_on,
           COUNT(DISTINCT CASE WHEN moved = 0 AND still_open = 0 {'' if org_scope else 'AND in_scope = 1'}
                               THEN customer_id END) AS moved_back,
           SUM({scoped('still_open')}) AS still_open{org_flow}
    FROM visits GROUP BY pos
),
hist AS (
    SELECT pos, dwell / 3600 AS bin, COUNT(*) AS cnt, MIN(dwell) AS lo, MAX(dwell) AS hi
    FROM visits WHERE in_scope = 1 AND still_open = 0
    GROUP BY pos, dwell / 3600
),
cum AS (
    SELECT pos, cnt, lo, hi,
           SUM(cnt) OVER (PARTITION BY pos ORDER BY bin ROWS UNBOUNDED PRECEDING) - cnt AS before,
           SUM(cnt) OVER (PARTITION BY pos) AS n
    FROM hist
),
dwell_agg AS (
    SELECT pos, MAX(n) AS n,
           ({_at_rank('(n - 1) / 2')} + {_at_rank('n / 2')}) / 2.0 AS median,
           {_at_rank('(n - 1) * 9 / 10')} + ((MAX(n) - 1) * 9 % 10) / 10.0
             * (COALESCE({_at_rank('(n - 1) * 9 / 10 + 1')}, {_at_rank('(n - 1) * 9 / 10')})
                - {_at_rank('(n - 1) * 9 / 10')}) AS p90
    FROM cum GROUP BY pos
),
marks AS (
    SELECT e.node_key,
           COUNT(DISTINCT CASE WHEN e.outcome = 'failed' THEN e.customer_id END) AS failed,
           COUNT(DISTINCT CASE WHEN e.outcome = 'skipped' THEN e.customer_id END) AS skipped
    FROM node_events e JOIN customers c ON c.id = e.customer_id
    WHERE e.playbook_id = :pb AND e.outcome IN ('failed', 'skipped')
      AND e.occurred_at >= :since AND e.occurred_at < :until
      AND c.org_id = :org AND c.active AND {_scope_filter(scope, 'c.owner_id')}
    GROUP BY e.node_key
),
sitting AS (
    SELECT p.current_node_key AS node_key, :now_secs - {_epoch(dialect, 'p.entered_at')} AS d,
           ROW_NUMBER() OVER (PARTITION BY p.current_node_key ORDER BY p.entered_at, p.customer_id) - 1 AS rn,
           COUNT(*) OVER (PARTITION BY p.current_node_key) AS n
    FROM customer_progress p JOIN customers c ON c.id = p.customer_id
    WHERE p.playbook_id = :pb AND p.current_node_key IS NOT NULL
      AND c.org_id = :org AND c.active AND c.status NOT IN ('won', 'lost')
      AND {_scope_filter(scope, 'c.owner_id')}
),
current_agg AS (
    SELECT node_key, MAX(n) AS n,
           (MAX(CASE WHEN rn = (n - 1) / 2 THEN d END) + MAX(CASE WHEN rn = n / 2 THEN d END)) / 2.0 AS median,
           MAX(d) AS longest
    FROM sitting GROUP BY node_key
)
SELECT nd.key, f.reached, f.moved_on, mk.skipped, f.moved_back, f.still_open, {org_columns},
       dw.n, dw.median, dw.p90, mk.failed, ca.n, ca.median, ca.longest
FROM nodes nd
LEFT JOIN flow f ON f.pos = nd.position
LEFT JOIN dwell_agg dw ON dw.pos = nd.position
LEFT JOIN marks mk ON mk.node_key = nd.key
LEFT JOIN current_agg ca ON ca.node_key = nd.key
WHERE nd.playbook_id = :pb
ORDER BY nd.position
"""




_FIELDS = ("reached", "moved_on", "skipped", "moved_back", "still_open", "org_reached", "org_moved_on",
           "left_visits", "dwell_median_days", "dwell_p90_days", "failed", "current", "current_median_days",
           "current_max_days")


def _old_figures(s, pb, scope, since, until, now) -> dict[str, tuple]:
    """Per node key, the figures the old window-function statement gives."""
    dialect = s.get_bind().dialect.name
    binds, params = visits_params(pb, since, until)
    keys = [n.key for n in pb.nodes]
    params.update(last_key=keys[-1], org=scope.org_id, now_secs=int((now - _EPOCH).total_seconds()))
    if scope.kind == "rep":
        params["scope_user"] = scope.user_id
    elif scope.kind == "team":
        params["scope_team"] = scope.team_id
    stmt = text(_old_funnel_sql(dialect, scope, [n.position for n in pb.nodes])).bindparams(*binds)
    out = {}
    for r in s.execute(stmt, params):
        (key, reached, moved_on, skipped, back, still_open, org_reached, org_moved_on,
         n_left, median, p90, failed, n_current, current_median, longest) = r
        days = (lambda v: None if v is None else float(v) / 86400.0)
        out[key] = (reached or 0, moved_on or 0, skipped or 0, back or 0, still_open or 0, org_reached or 0,
                    org_moved_on or 0, n_left or 0, days(median), days(p90), failed or 0, n_current or 0,
                    days(current_median), days(longest))
    return out


def _new_figures(s, pb, scope, since, until, now) -> dict[str, tuple]:
    return {n.key: tuple(getattr(n, f) for f in _FIELDS) for n in _run_funnel_sql(s, pb, scope, since, until, now)}


# ---------------------------------------------------------------- random histories
def _random_histories(db, world, seed: int, n_customers: int = 36) -> None:
    rng = random.Random(seed)
    with db.session() as s:
        reps = [reload(s, world.rep_a), reload(s, world.rep_b), reload(s, world.manager_1)]
        pb = s.scalar(select(Playbook).where(Playbook.org_id == world.org.id, Playbook.key == "car_dealer"))
        keys = [n.key for n in pb.nodes]
        for i in range(n_customers):
            owner = reps[i % len(reps)]
            at = T0 + timedelta(hours=rng.randint(0, 24 * 20))
            cid = create_customer(s, owner, f"随机客户{seed}-{i}", playbook_key="car_dealer").id
            s.query(NodeEvent).filter_by(customer_id=cid).update({"occurred_at": at})
            s.query(CustomerProgress).filter_by(customer_id=cid).update({"entered_at": at, "started_at": at})
            sync_visits(s, cid, pb.id)
            for _ in range(rng.randint(0, 9)):
                roll = rng.random()
                if roll < 0.1:
                    step_at = at  # the same instant: ties are ordered by id
                elif roll < 0.15:
                    step_at = at - timedelta(hours=rng.randint(1, 30))  # back-dated
                else:
                    step_at = at = at + timedelta(hours=rng.expovariate(1 / 40), seconds=rng.randint(0, 59),
                                                  microseconds=rng.randint(0, 999_999))
                kind = rng.random()
                try:
                    if kind < 0.15:
                        pb_svc.move_to_node(s, owner, cid, rng.choice(keys), at=step_at)
                    elif kind < 0.3:
                        pb_svc.finish_node(s, owner, cid, "failed", at=step_at)
                    else:
                        pb_svc.finish_node(s, owner, cid, "skipped" if kind < 0.38 else "done", at=step_at)
                except Invalid:  # all nodes passed: re-open
                    pb_svc.move_to_node(s, owner, cid, rng.choice(keys), at=step_at)
            if rng.random() < 0.1:
                set_status(s, owner, cid, "lost")
            if rng.random() < 0.05:
                delete_customer(s, owner, cid)


PERIODS = [(None, None), (T0 + timedelta(days=5), None), (None, T0 + timedelta(days=12)),
           (T0 + timedelta(days=3), T0 + timedelta(days=15)), (T0 + timedelta(days=25), T0 + timedelta(days=26))]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_visits_funnel_equals_the_old_window_query(db, world, seed):
    _random_histories(db, world, seed)
    with db.reader() as s:
        admin, manager, rep = reload(s, world.admin), reload(s, world.manager_1), reload(s, world.rep_a)
        pb = s.scalar(select(Playbook).where(Playbook.org_id == world.org.id, Playbook.key == "car_dealer"))
        scopes = [resolve_scope(s, admin, org=True), resolve_scope(s, manager), resolve_scope(s, rep),
                  resolve_scope(s, admin, rep=world.rep_b.id)]
        assert s.query(NodeVisit).count() > 50
        checked = 0
        for scope in scopes:
            for since, until in PERIODS:
                old = _old_figures(s, pb, scope, since, until, NOW)
                new = _new_figures(s, pb, scope, since, until, NOW)
                assert new == old, (scope.kind, since, until)
                checked += sum(1 for v in new.values() if v[0])
        assert checked > 40  # the histories did reach the nodes


def _visit_rows(s) -> list[tuple]:
    return sorted(s.execute(select(NodeVisit.customer_id, NodeVisit.playbook_id, NodeVisit.node_key,
                                   NodeVisit.entered_event_id, NodeVisit.entered_at, NodeVisit.left_at,
                                   NodeVisit.outcome, NodeVisit.exit_node_key, NodeVisit.dwell_seconds)).all())


def test_migration_backfill_derives_the_same_visits(db, world):
    _random_histories(db, world, 7, n_customers=20)
    spec = importlib.util.spec_from_file_location("m0004", MIGRATION)
    m0004 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(m0004)
    with db.session() as s:
        kept = _visit_rows(s)
        s.query(NodeVisit).delete()
        dialect = s.get_bind().dialect.name
        s.execute(text(m0004.BACKFILL.format(secs=_epoch(dialect, "occurred_at"),
                                             next_secs=_epoch(dialect, "next_at"))))
        backfilled = _visit_rows(s)
    assert len(kept) > 20
    assert [r[:4] + r[6:] for r in backfilled] == [r[:4] + r[6:] for r in kept]
    # the times agree to the microsecond where the database keeps them
    assert [(r[4].replace(microsecond=0), r[5] and r[5].replace(microsecond=0)) for r in backfilled] == \
        [(r[4].replace(microsecond=0), r[5] and r[5].replace(microsecond=0)) for r in kept]


def test_derive_visits_rules():
    t = [T0 + timedelta(hours=h) for h in range(6)]
    events = [(1, "a", "entered", t[0]), (2, "a", "failed", t[1]), (3, "a", "done", t[2]), (4, "b", "entered", t[2]),
              (6, "c", "entered", t[3]), (5, "a", "entered", t[3]), (7, "c", "done", t[4])]
    visits = derive_visits(events, last_key="c")
    assert [(v["node_key"], v["outcome"], v["exit_node_key"], v["dwell_seconds"]) for v in visits] == [
        ("a", "entered", "b", 7200),  # failed does not end it, a non-last done neither: the next 'entered' does
        ("b", "entered", "a", 3600),  # tie at t[3]: id 5 comes first
        ("a", "entered", "c", 0),
        ("c", "done", None, 3600),  # the last node's done ends it
    ]
    assert derive_visits([(1, "a", "entered", t[0])], "c")[0]["left_at"] is None


def test_undo_of_a_node_step_restores_the_visits(db, world):
    with db.session() as s:
        rep = reload(s, world.rep_a)
        cid = create_customer(s, rep, "撤销访问").id
        pb_svc.finish_node(s, rep, cid, "done")
    with db.reader() as s:
        before = _visit_rows(s)
    assert [(r[2], r[6]) for r in before] == [("answer_call", "entered"), ("appointment_call", None)]
    for step in (lambda s, rep: pb_svc.finish_node(s, rep, cid, "done"),
                 lambda s, rep: pb_svc.move_to_node(s, rep, cid, "answer_call"),
                 lambda s, rep: pb_svc.finish_node(s, rep, cid, "skipped")):
        with db.session() as s:
            step(s, reload(s, world.rep_a))
        with db.reader() as s:
            assert _visit_rows(s) != before
        with db.session() as s:
            result = undo_last(s, reload(s, world.rep_a))
            assert ("create", "node_visits") in {(a, e) for a, e, _ in result.summary}
        with db.reader() as s:
            assert _visit_rows(s) == before
            cid_visits = s.query(NodeVisit).filter_by(customer_id=cid).count()
            assert cid_visits == s.query(NodeEvent).filter_by(customer_id=cid, outcome="entered").count()
