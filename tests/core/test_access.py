"""The access matrix: rep A owns the customer; rep B (same team), manager of A, manager of
another team, admin, and an admin of another organisation try every service that reads or
writes a customer."""
from datetime import datetime, timedelta

import pytest

from core.errors import AccessDenied, NotFound
from core.services import activities, customers, export, orders, playbooks, timeline
from tests.conftest import reload

ALLOWED = {"rep_a": True, "rep_b": False, "manager_1": True, "manager_2": False, "admin": True,
           "other_org_admin": False}


def _orders_master(s, actor, cid, ctx):
    return orders.create_master_order(s, actor, cid, "终端", 10, 100)


def _orders_sub(s, actor, cid, ctx):
    return orders.create_sub_order(s, actor, ctx["master_id"], 1)


OPERATIONS = {
    "customer_view": lambda s, a, cid, ctx: timeline.customer_view(s, a, cid),
    "timeline": lambda s, a, cid, ctx: timeline.timeline(s, a, cid),
    "node_board": lambda s, a, cid, ctx: playbooks.node_board(s, a, cid),
    "list_orders": lambda s, a, cid, ctx: orders.list_orders(s, a, cid),
    "export_customer": lambda s, a, cid, ctx: export.export_data(s, a, "json", customer_id=cid),
    "open_follow_ups": lambda s, a, cid, ctx: activities.open_follow_ups(s, a, customer_id=cid),
    "log_activity": lambda s, a, cid, ctx: activities.log_activity(s, a, cid, "call", "x"),
    "add_follow_up": lambda s, a, cid, ctx: activities.add_follow_up(s, a, cid, datetime(2030, 1, 1)),
    "complete_follow_up": lambda s, a, cid, ctx: activities.complete_follow_up(s, a, ctx["follow_up_id"]),
    "snooze_follow_up": lambda s, a, cid, ctx: activities.snooze_follow_up(
        s, a, ctx["follow_up_id"], datetime(2030, 1, 2)),
    "finish_node": lambda s, a, cid, ctx: playbooks.finish_node(s, a, cid, "done"),
    "move_to_node": lambda s, a, cid, ctx: playbooks.move_to_node(s, a, cid, "needs"),
    "add_contact": lambda s, a, cid, ctx: customers.add_contact(s, a, cid, "李经理"),
    "update_customer": lambda s, a, cid, ctx: customers.update_customer(s, a, cid, industry="IT"),
    "create_master_order": _orders_master,
    "create_sub_order": _orders_sub,
    "get_master_order": lambda s, a, cid, ctx: orders.get_master_order(s, a, ctx["master_id"]),
    "share_customer": lambda s, a, cid, ctx: customers.share_customer(s, a, cid, ctx["rep_c"]),
    "delete_customer": lambda s, a, cid, ctx: customers.delete_customer(s, a, cid),
    "find": lambda s, a, cid, ctx: _found(customers.find_customers(s, a, "矩阵客户"), cid),
}


def _found(result, cid):
    if cid not in [c.id for c in result]:
        raise AccessDenied("not in find results")
    return result


@pytest.fixture
def setup(db, world):
    with db.session() as s:
        a = reload(s, world.rep_a)
        c = customers.create_customer(s, a, "矩阵客户")
        master = orders.create_master_order(s, a, c.id, "总单产品", 100, 10)
        follow_up = activities.add_follow_up(s, a, c.id, datetime(2030, 1, 1), "回访")
        return {"customer_id": c.id, "master_id": master.id, "follow_up_id": follow_up.id}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
@pytest.mark.parametrize("who", sorted(ALLOWED))
def test_access_matrix(db, world, setup, who, operation):
    with db.session() as s:
        actor = reload(s, getattr(world, who))
        ctx = {**setup, "rep_c": reload(s, world.rep_c)}
        call = OPERATIONS[operation]
        if ALLOWED[who]:
            assert call(s, actor, setup["customer_id"], ctx) is not None
        else:
            with pytest.raises((AccessDenied, NotFound)):
                call(s, actor, setup["customer_id"], ctx)
            s.rollback()


def test_other_org_sees_not_found_not_denied(db, world, setup):
    with db.reader() as s:
        with pytest.raises(NotFound):
            timeline.customer_view(s, reload(s, world.other_org_admin), setup["customer_id"])
        with pytest.raises(AccessDenied):
            timeline.customer_view(s, reload(s, world.rep_b), setup["customer_id"])


def test_export_everything_only_contains_visible_customers(db, world, setup):
    import json

    with db.session() as s:
        customers.create_customer(s, reload(s, world.rep_b), "乙的客户")
        customers.create_customer(s, reload(s, world.rep_c), "丙的客户")
    with db.reader() as s:
        def names(who):
            return sorted(r["name"] for r in json.loads(export.export_data(s, reload(s, getattr(world, who)))))
        assert names("rep_a") == ["矩阵客户"]
        assert names("rep_b") == ["乙的客户"]
        assert names("manager_1") == ["乙的客户", "矩阵客户"]
        assert names("manager_2") == ["丙的客户"]
        assert names("admin") == ["丙的客户", "乙的客户", "矩阵客户"]
        assert names("other_org_admin") == []
