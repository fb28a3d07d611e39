from pathlib import Path

import pytest

from core.errors import Duplicate, Invalid
from core.models import Activity, Customer, NodeEvent
from core.services import playbooks as svc
from core.services.customers import create_customer
from tests.conftest import reload

CAR = ["answer_call", "appointment_call", "store_reception", "needs", "recommend", "test_drive",
       "quote", "close_follow_up"]


def test_shipped_playbooks_have_the_seed_nodes(db, world):
    with db.reader() as s:
        pbs = {pb.key: pb for pb in svc.list_playbooks(s, world.org.id)}
    assert [n.title for n in pbs["car_dealer"].nodes] == [
        "来电接听", "预约来电", "进店接待", "听取需求", "推荐产品", "试乘试驾", "报价沟通", "回访促签"]
    assert [n.title for n in pbs["b2b"].nodes] == ["线索确认", "需求调研", "方案演示", "报价", "商务谈判", "合同签订", "回款"]
    assert all(n.script for pb in pbs.values() for n in pb.nodes)


@pytest.mark.parametrize("text,field,error", [
    ("name: x\nnodes: [{key: a, title: A}]\n", "key", Invalid),
    ("key: x\nnodes: [{key: a, title: A}]\n", "name", Invalid),
    ("key: x\nname: X\n", "nodes", Invalid),
    ("key: x\nname: X\nnodes: [{key: a}]\n", "title", Invalid),
    ("key: x\nname: X\nnodes: [{title: A}]\n", "key", Invalid),
    ("key: x\nname: X\nnodes: [{key: a, title: A, expected_dwell_days: -1}]\n", "expected_dwell_days", Invalid),
    ("key: x\nname: X\nnodes: [{key: a, title: A}, {key: a, title: B}]\n", None, Duplicate),
    ("key: [unclosed\n", "yaml", Invalid),
])
def test_playbook_yaml_errors(db, world, text, field, error):
    with pytest.raises(error) as exc, db.session() as s:
        svc.import_playbook(s, world.org.id, text)
    if field:
        assert exc.value.params["field"] == field


def test_reimport_updates_in_place(db, world):
    text = Path(svc.SHIPPED_DIR / "b2b.yaml").read_text(encoding="utf-8").replace("name: B2B大客户三一客", "name: 新名字")
    with db.session() as s:
        before = {n.key: n.id for n in svc.get_playbook(s, world.org.id, "b2b").nodes}
        pb = svc.import_playbook(s, world.org.id, text)
        assert pb.name == "新名字" and {n.key: n.id for n in pb.nodes} == before


def _new(db, world, name="客户"):
    with db.session() as s:
        return create_customer(s, reload(s, world.rep_a), name).id


def test_walk_done_skip_fail_and_win(db, world):
    cid = _new(db, world)
    with db.session() as s:
        a = reload(s, world.rep_a)
        board = svc.finish_node(s, a, cid, "done", "接听了")
        assert board.current.key == "appointment_call"
        board = svc.finish_node(s, a, cid, "failed", "没约上")
        assert board.current.key == "appointment_call"  # failed: stays, can retry
        board = svc.finish_node(s, a, cid, "skipped")
        assert board.current.key == "store_reception"
        states = {ns.node.key: ns.state for ns in board.nodes}
        assert states["answer_call"] == "done" and states["appointment_call"] == "skipped"
        assert states["store_reception"] == "current" and states["quote"] == "next"
        for _ in range(6):
            board = svc.finish_node(s, a, cid, "done")
        assert board.current is None
        assert s.get(Customer, cid).status == "won"
        with pytest.raises(Invalid):
            svc.finish_node(s, a, cid, "done")
    with db.reader() as s:
        outcomes = [e.outcome for e in s.query(NodeEvent).filter_by(customer_id=cid).order_by(NodeEvent.id)]
        assert outcomes.count("entered") == 8 and outcomes.count("done") == 7
        assert s.query(Activity).filter_by(customer_id=cid, type="node_change").count() == 9


def test_move_back_is_a_reentry_and_reopens(db, world):
    cid = _new(db, world)
    with db.session() as s:
        a = reload(s, world.rep_a)
        for _ in range(4):
            svc.finish_node(s, a, cid, "done")
        board = svc.move_to_node(s, a, cid, "appointment_call", "客户要重新约")
        assert board.current.key == "appointment_call"
        assert [ns.state for ns in board.nodes][:3] == ["done", "current", "next"]


def test_node_button_pressed_twice_steps_once(db, world):
    cid = _new(db, world)
    for _ in range(2):
        with db.session() as s:
            board = svc.finish_node(s, reload(s, world.rep_a), cid, "done", source=("telegram", "cb-1"))
    assert board.current.key == "appointment_call"


def test_customer_created_before_playbooks_gets_default_on_first_step(db, world):
    from core.models import CustomerProgress

    cid = _new(db, world)
    with db.session() as s:
        s.query(NodeEvent).delete()
        s.query(CustomerProgress).delete()
    with db.reader() as s:
        board = svc.node_board(s, reload(s, world.rep_a), cid)  # a read never writes
        assert board.current.key == "answer_call"
    with db.reader() as s:
        assert s.query(CustomerProgress).count() == 0
    with db.session() as s:
        assert svc.finish_node(s, reload(s, world.rep_a), cid).current.key == "appointment_call"
