from datetime import timedelta

import pytest

from core.db import utcnow
from core.errors import NothingToUndo
from core.models import Activity, AuditLog, Customer, CustomerProgress, MasterOrder, SubOrder
from core.services import undo as svc
from core.services.activities import log_activity
from core.services.customers import create_customer, delete_customer, find_customers, update_customer
from core.services.orders import create_master_order, create_sub_order
from core.services.playbooks import finish_node
from tests.conftest import reload


@pytest.fixture
def cid(db, world):
    with db.session() as s:
        return create_customer(s, reload(s, world.rep_a), "撤销测试").id


def test_undo_log_activity(db, world, cid):
    with db.session() as s:
        act, _ = log_activity(s, reload(s, world.rep_a), cid, "call", "打错了", source=("console", "9"))
    with db.session() as s:
        result = svc.undo_last(s, reload(s, world.rep_a))
        assert ("create", "activities", act.id) in result.summary
    with db.reader() as s:
        assert s.get(Activity, act.id).active is False
    # a retry of the same message after the undo does not bring it back
    with db.session() as s:
        again, created = log_activity(s, reload(s, world.rep_a), cid, "call", "打错了", source=("console", "9"))
        assert not created and again.active is False


def test_undo_node_step_restores_progress(db, world, cid):
    with db.session() as s:
        finish_node(s, reload(s, world.rep_a), cid, "done")
    with db.session() as s:
        svc.undo_last(s, reload(s, world.rep_a))
    with db.reader() as s:
        assert s.query(CustomerProgress).filter_by(customer_id=cid).one().current_node_key == "answer_call"
        assert s.query(Activity).filter_by(customer_id=cid, type="node_change", active=True).count() == 0


def test_undo_update_and_delete(db, world, cid):
    with db.session() as s:
        update_customer(s, reload(s, world.rep_a), cid, name="改了名字")
    with db.session() as s:
        svc.undo_last(s, reload(s, world.rep_a))
    with db.session() as s:
        c = s.get(Customer, cid)
        assert c.name == "撤销测试"
        assert [x.id for x in find_customers(s, reload(s, world.rep_a), "chexiao")] == [cid]
        assert find_customers(s, reload(s, world.rep_a), "gaile") == []
        delete_customer(s, reload(s, world.rep_a), cid)
    with db.session() as s:
        svc.undo_last(s, reload(s, world.rep_a))
    with db.reader() as s:
        assert s.get(Customer, cid).active is True


def test_undo_sub_order_releases_quantity(db, world, cid):
    with db.session() as s:
        master = create_master_order(s, reload(s, world.rep_a), cid, "终端", 10, 5)
    with db.session() as s:
        sub = create_sub_order(s, reload(s, world.rep_a), master.id, 10)
    with db.session() as s:
        svc.undo_last(s, reload(s, world.rep_a))
    with db.reader() as s:
        assert s.get(SubOrder, sub.id).status == "cancelled"
        m = s.get(MasterOrder, master.id)
        assert m.remaining_quantity == 10 and m.status == "open"


def test_undo_is_per_user_and_one_step(db, world, cid):
    with db.session() as s:
        first, _ = log_activity(s, reload(s, world.rep_a), cid, "call", "第一条")
    with db.session() as s:
        second, _ = log_activity(s, reload(s, world.rep_a), cid, "call", "第二条")
    with db.session() as s:
        log_activity(s, reload(s, world.manager_1), cid, "note", "经理的")
    with db.session() as s:
        svc.undo_last(s, reload(s, world.rep_a))
    with db.reader() as s:
        assert s.get(Activity, second.id).active is False and s.get(Activity, first.id).active is True
        assert s.query(Activity).filter_by(content="经理的", active=True).count() == 1
        assert s.query(AuditLog).filter_by(action="undo", actor_id=world.rep_a.id).count() == 1


def test_undo_window_is_ten_minutes(db, world, cid):
    with db.session() as s:
        log_activity(s, reload(s, world.rep_a), cid, "call", "早就记了")
    with pytest.raises(NothingToUndo), db.session() as s:
        svc.undo_last(s, reload(s, world.rep_a), now=utcnow() + timedelta(minutes=11))
    with pytest.raises(NothingToUndo), db.session() as s:
        svc.undo_last(s, reload(s, world.rep_b))
