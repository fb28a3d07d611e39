"""节点漏斗 arithmetic on hand-built histories (skips, failures, re-entries, customers still in
progress, periods), the stuck-node choice, scope permissions and the drill-down. The histories
are written through the real services (finish_node / move_to_node with explicit times), so the
funnel is checked against the events the product actually writes."""
from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.errors import AccessDenied, NotFound
from core.models import CustomerProgress, NodeEvent
from core.services.visits import sync_visits  # the tests backdate events in bulk
from core.services import playbooks as pb_svc
from core.services.customers import create_customer, delete_customer, set_status
from core.services.funnel import NodeFunnel, Scope, choose_stuck, funnel, stuck_customers
from tests.conftest import reload

T0 = datetime(2026, 3, 2, 9, 0)
NOW = T0 + timedelta(days=30)


def day(d: float) -> datetime:
    return T0 + timedelta(days=d)


def start(s, owner, name: str, *, at: datetime = T0, playbook: str = "car_dealer") -> int:
    """A customer on `playbook` that entered its first node at `at`."""
    customer = create_customer(s, owner, name, playbook_key=playbook)
    s.query(NodeEvent).filter_by(customer_id=customer.id).update({"occurred_at": at})
    s.query(CustomerProgress).filter_by(customer_id=customer.id).update({"entered_at": at, "started_at": at})
    s.flush()
    sync_visits(s, customer.id, s.query(CustomerProgress).filter_by(customer_id=customer.id).one().playbook_id)
    return customer.id


def walk(s, actor, cid: int, *steps) -> None:
    """steps: (day, outcome) for finish_node, or (day, "move", node_key) for move_to_node."""
    for step in steps:
        if step[1] == "move":
            pb_svc.move_to_node(s, actor, cid, step[2], at=day(step[0]))
        else:
            pb_svc.finish_node(s, actor, cid, step[1], at=day(step[0]))


def figures(f, key: str) -> dict:
    return f.node(key).as_dict()


@pytest.fixture
def basic(db, world):
    """rep_a's four customers on the car playbook:
    c1 done, done (1d, 2d) -> at store_reception since day 3;
    c2 done at day 2, skips appointment_call at once, fails store_reception -> still there;
    c3 fails answer_call, then done at day 4 -> at appointment_call since day 4;
    c4 fails answer_call at day 1 and is lost."""
    with db.session() as s:
        a = reload(s, world.rep_a)
        ids = {n: start(s, a, n) for n in ("c1", "c2", "c3", "c4")}
        walk(s, a, ids["c1"], (1, "done"), (3, "done"))
        walk(s, a, ids["c2"], (2, "done"), (2, "skipped"), (5, "failed"))
        walk(s, a, ids["c3"], (1, "failed"), (4, "done"))
        walk(s, a, ids["c4"], (1, "failed"))
        set_status(s, a, ids["c4"], "lost")
    return ids


def test_flow_with_skips_failures_and_customers_in_progress(db, world, basic):
    with db.reader() as s:
        f = funnel(s, reload(s, world.rep_a), now=NOW)
    assert f.playbook_key == "car_dealer" and f.scope.kind == "rep" and f.scope.user_id == world.rep_a.id
    first = figures(f, "answer_call")
    assert (first["reached"], first["moved_on"], first["still_open"], first["failed"]) == (4, 3, 1, 2)
    assert first["conversion_pct"] == 75.0
    # dwell of the visits that left: 1, 2 and 4 days; p90 interpolates between 2 and 4
    assert first["dwell_median_days"] == 2.0 and first["dwell_p90_days"] == 3.6 and first["left_visits"] == 3
    assert first["current"] == 0  # c4 is lost: not sitting there
    second = figures(f, "appointment_call")
    assert (second["reached"], second["moved_on"], second["skipped"], second["still_open"]) == (3, 2, 1, 1)
    assert second["dwell_median_days"] == 1.0  # c1: 2 days, c2: skipped at once
    assert (second["current"], second["current_median_days"]) == (1, 26.0)  # c3 since day 4
    third = figures(f, "store_reception")
    assert (third["reached"], third["moved_on"], third["failed"], third["still_open"]) == (2, 0, 1, 2)
    assert third["conversion_pct"] == 0.0 and third["dwell_median_days"] is None
    assert (third["current"], third["current_median_days"], third["current_max_days"]) == (2, 27.5, 28.0)
    assert all(figures(f, k)["reached"] == 0 for k in ("needs", "recommend", "test_drive", "quote"))


def test_reentry_counts_a_customer_once_and_the_way_back_is_not_a_conversion(db, world):
    with db.session() as s:
        a = reload(s, world.rep_a)
        cid = start(s, a, "回头客")
        walk(s, a, cid, (1, "done"), (3, "done"), (4, "move", "answer_call"), (6, "done"), (7, "done"))
    with db.reader() as s:
        f = funnel(s, reload(s, world.rep_a), now=NOW)
    first = figures(f, "answer_call")
    assert (first["reached"], first["moved_on"], first["moved_back"], first["left_visits"]) == (1, 1, 0, 2)
    assert first["dwell_median_days"] == 1.5  # visits of 1 and 2 days
    second = figures(f, "appointment_call")
    assert (second["reached"], second["moved_on"], second["moved_back"], second["conversion_pct"]) == (1, 1, 0, 100.0)
    assert second["dwell_median_days"] == 1.5  # 2 days, then 1 day
    # 进店接待: the first visit (day 3-4) was sent back, the second (since day 7) is open
    third = figures(f, "store_reception")
    assert (third["reached"], third["moved_on"], third["moved_back"], third["still_open"]) == (1, 0, 1, 1)
    assert (third["left_visits"], third["dwell_median_days"], third["current"]) == (1, 1.0, 1)


def test_a_jump_forward_moves_on_and_the_jumped_nodes_are_not_reached(db, world):
    with db.session() as s:
        a = reload(s, world.rep_a)
        cid = start(s, a, "跳过来的")
        walk(s, a, cid, (2, "move", "needs"))
    with db.reader() as s:
        f = funnel(s, reload(s, world.rep_a), now=NOW)
    assert (figures(f, "answer_call")["moved_on"], figures(f, "answer_call")["dwell_median_days"]) == (1, 2.0)
    assert figures(f, "appointment_call")["reached"] == 0 and figures(f, "needs")["current"] == 1


def test_the_last_node_done_is_a_conversion_and_a_won_customer_sits_nowhere(db, world):
    with db.session() as s:
        a = reload(s, world.rep_a)
        cid = start(s, a, "签约客户")
        walk(s, a, cid, *[(d + 1, "done") for d in range(8)])
    with db.reader() as s:
        f = funnel(s, reload(s, world.rep_a), now=NOW)
    last = figures(f, "close_follow_up")
    assert (last["reached"], last["moved_on"], last["dwell_median_days"]) == (1, 1, 1.0)
    assert sum(n.current for n in f.nodes) == 0


def test_the_period_picks_visits_by_entry_and_sees_nothing_after_it(db, world, basic):
    with db.reader() as s:
        rep = reload(s, world.rep_a)
        later = funnel(s, rep, since=day(2.5), now=NOW)
        early = funnel(s, rep, until=day(3.5), now=NOW)
    assert figures(later, "answer_call")["reached"] == 0
    assert figures(later, "appointment_call")["reached"] == 1  # c3, entered on day 4
    assert figures(later, "store_reception")["reached"] == 1  # c1 (day 3); c2 came on day 2
    # who sits where now does not depend on the period
    assert figures(later, "store_reception")["current"] == 2
    # until day 3.5: c3 had not yet passed answer_call, and c2 had not yet failed store_reception
    first = figures(early, "answer_call")
    assert (first["reached"], first["moved_on"], first["still_open"]) == (4, 2, 2)
    assert figures(early, "store_reception")["failed"] == 0


def test_soft_deleted_customers_are_left_out(db, world, basic):
    with db.session() as s:
        delete_customer(s, reload(s, world.rep_a), basic["c1"])
    with db.reader() as s:
        f = funnel(s, reload(s, world.rep_a), now=NOW)
    assert figures(f, "answer_call")["reached"] == 3 and figures(f, "store_reception")["current"] == 1


# ---------------------------------------------------------------- scopes
def test_scope_permissions(db, world):
    with db.reader() as s:
        rep_a, manager_1, admin = reload(s, world.rep_a), reload(s, world.manager_1), reload(s, world.admin)
        assert funnel(s, rep_a, rep="rep_a").scope.kind == "rep"
        for kw in ({"rep": "rep_b"}, {"team": "一组"}, {"org": True}):
            with pytest.raises(AccessDenied):
                funnel(s, rep_a, **kw)
        assert funnel(s, manager_1).scope.kind == "team"  # a manager's natural scope
        assert funnel(s, manager_1, rep="rep_b").scope.label == "销售乙"
        for kw in ({"rep": "rep_c"}, {"team": "二组"}, {"org": True}):
            with pytest.raises(AccessDenied):
                funnel(s, manager_1, **kw)
        assert funnel(s, admin).scope.kind == "org"
        assert funnel(s, admin, team="二组").playbook_key == "b2b"  # the team's own playbook
        assert funnel(s, admin, rep="rep_c", playbook="car_dealer").playbook_key == "car_dealer"
        with pytest.raises(NotFound):
            funnel(s, reload(s, world.other_org_admin), rep="rep_a")
        with pytest.raises(NotFound):
            funnel(s, admin, team="没有这个组")
        # a scope handed in (e.g. from a button) is checked like a new ask
        with pytest.raises(AccessDenied):
            funnel(s, rep_a, scope=Scope("team", world.org.id, "一组", team_id=world.rep_a.team_id))
        with pytest.raises(AccessDenied):
            stuck_customers(s, rep_a, "answer_call", team="一组")


def _same_walk(s, owner, name, *steps, playbook="car_dealer"):
    cid = start(s, owner, name, playbook=playbook)
    walk(s, owner, cid, *steps)
    return cid


def test_team_figures_against_the_organisations_baseline(db, world):
    """Team 1 converts 2 in 10 at 预约来电, rep_c (team 2, same playbook) 8 in 10: the team's
    stuck node is 预约来电 by conversion against the organisation's 10 in 20."""
    with db.session() as s:
        a, c = reload(s, world.rep_a), reload(s, world.rep_c)
        for i in range(10):
            _same_walk(s, a, f"一组客户{i}", (0.2, "done"), *([(0.5, "done")] if i < 2 else []))
            _same_walk(s, c, f"二组客户{i}", (0.2, "done"), *([(0.5, "done")] if i < 8 else []))
    with db.reader() as s:
        team = funnel(s, reload(s, world.manager_1), now=NOW)
        org = funnel(s, reload(s, world.admin), playbook="car_dealer", now=NOW)
    second = team.node("appointment_call")
    assert (second.reached, second.moved_on, second.org_reached, second.org_moved_on) == (10, 2, 20, 10)
    assert team.stuck.key == "appointment_call" and team.stuck.kind == "conversion"
    assert team.stuck.figures["baseline_kind"] == "org"
    assert team.stuck.figures["conversion"] == pytest.approx(0.2) and team.stuck.figures["baseline"] == 0.5
    assert team.stuck.severity == pytest.approx(2.5)
    assert team.stuck.figures["current"] == 8
    assert org.node("appointment_call").as_dict()["conversion_pct"] == 50.0 and org.scope.kind == "org"


def test_stuck_node_by_dwell_when_conversion_matches_the_baseline(db, world):
    """Both teams walk alike (conversion ratio 1 everywhere) but 进店接待 takes 10 days where
    2 are expected: the stuck node is 进店接待 by dwell."""
    with db.session() as s:
        for owner in (reload(s, world.rep_a), reload(s, world.rep_c)):
            for i in range(5):
                _same_walk(s, owner, f"{owner.login}客户{i}", (0.5, "done"), (1.5, "done"), (11.5, "done"))
    with db.reader() as s:
        f = funnel(s, reload(s, world.manager_1), now=NOW)
    assert f.node("store_reception").dwell_median_days == pytest.approx(10.0)
    assert (f.stuck.key, f.stuck.kind) == ("store_reception", "dwell")
    assert f.stuck.figures["expected_days"] == 2 and f.stuck.severity == pytest.approx(5.0)
    assert f.stuck.figures["median_days"] == pytest.approx(10.0)


def _row(key, position, reached=0, moved_on=0, org_reached=0, org_moved_on=0, median=None, left=0, expected=3):
    return NodeFunnel(key, key, position, expected, reached=reached, moved_on=moved_on, org_reached=org_reached,
                      org_moved_on=org_moved_on, dwell_median_days=median, left_visits=left)


def test_stuck_choice_rules():
    rows = [_row("a", 0, 20, 18, 100, 90, median=1, left=18), _row("b", 1, 18, 9, 90, 72, median=2, left=9),
            _row("c", 2, 9, 8, 72, 60, median=9, left=8, expected=2)]
    # b converts 0.5 against 0.8 (x1.6), c dwells 9 days against 2 (x4.5): c
    stuck = choose_stuck(rows, "team")
    assert (stuck.key, stuck.kind, round(stuck.severity, 2)) == ("c", "dwell", 4.5)
    rows[2] = _row("c", 2, 9, 8, 72, 60, median=2, left=8, expected=2)
    stuck = choose_stuck(rows, "team")
    assert (stuck.key, stuck.kind, round(stuck.severity, 2)) == ("b", "conversion", 1.6)
    # too few customers: no claim about the node
    assert choose_stuck(rows, "team", min_count=50) is None
    # nothing worse than its norm
    assert choose_stuck([_row("a", 0, 10, 9, 10, 9, median=1, left=9)], "team") is None
    # organisation scope: the baseline is the playbook's overall step conversion; nobody
    # passing a node caps at 10x
    org_rows = [_row("a", 0, 10, 10), _row("b", 1, 10, 0)]
    stuck = choose_stuck(org_rows, "org")
    assert (stuck.key, stuck.figures["baseline_kind"], stuck.severity) == ("b", "playbook", 10.0)


# ---------------------------------------------------------------- drill-down
def test_drill_down_lists_who_sits_at_the_node_longest_first(db, world, basic):
    with db.session() as s:
        b = reload(s, world.rep_b)
        _same_walk(s, b, "乙的客户", (1, "done"), (2.5, "done"))  # at store_reception since day 2.5
    with db.reader() as s:
        manager = stuck_customers(s, reload(s, world.manager_1), "store_reception", now=NOW)
        own = stuck_customers(s, reload(s, world.rep_a), "store_reception", now=NOW)
        lost = stuck_customers(s, reload(s, world.rep_a), "answer_call", now=NOW)
        with pytest.raises(NotFound):
            stuck_customers(s, reload(s, world.rep_a), "no_such_node", now=NOW)
    assert [c.customer_id for c in own] == [basic["c2"], basic["c1"]]  # since day 2, then day 3
    assert [c.name for c in manager] == ["c2", "乙的客户", "c1"]
    assert manager[0].days == 28.0 and manager[0].overdue and manager[0].owner_name == "销售甲"
    assert lost == []  # c4 was lost there: not stuck, gone


def test_empty_funnel(db, world):
    with db.reader() as s:
        f = funnel(s, reload(s, world.rep_c), now=NOW)
    assert f.playbook_key == "b2b" and all(n.reached == 0 and n.conversion is None for n in f.nodes)
    assert f.stuck is None and f.as_dict()["nodes"][0]["conversion_pct"] is None
