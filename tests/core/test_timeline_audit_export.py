import csv
import io
import json
from datetime import datetime, timedelta

import pytest

from core.models import AuditLog, Customer, IntentScore
from core.services import export, timeline
from core.services.activities import add_follow_up, log_activity
from core.services.customers import create_customer
from core.services.orders import create_master_order, create_sub_order
from tests.conftest import reload

T0 = datetime(2030, 3, 1, 9, 0)


@pytest.fixture
def cid(db, world):
    with db.session() as s:
        a = reload(s, world.rep_a)
        c = create_customer(s, a, "时间线客户")
        for i in range(12):
            log_activity(s, a, c.id, "call", f"第{i}次电话", occurred_at=T0 + timedelta(days=i))
        add_follow_up(s, a, c.id, T0 + timedelta(days=20), "回访")
        m = create_master_order(s, a, c.id, "终端", 10, 100)
        m.created_at = T0 + timedelta(days=5, hours=1)
        return c.id


def test_timeline_merges_kinds_newest_first_and_pages(db, world, cid):
    with db.reader() as s:
        a = reload(s, world.rep_a)
        page1 = timeline.timeline(s, a, cid, page=1, page_size=5)
        assert page1.total == 14 and page1.pages == 3
        assert page1.entries[0].kind == "follow_up"
        assert [e.content for e in page1.entries[1:3]] == ["第11次电话", "第10次电话"]
        everything = timeline.timeline(s, a, cid, page=1, page_size=50).entries
        ats = [e.at for e in everything]
        assert ats == sorted(ats, reverse=True)
        i = [e.kind for e in everything].index("master_order")
        assert (everything[i - 1].content, everything[i + 1].content) == ("第6次电话", "第5次电话")
        page3 = timeline.timeline(s, a, cid, page=3, page_size=5)
        assert len(page3.entries) == 4 and page3.entries[-1].content == "第0次电话"


def test_customer_view_has_node_intent_trend_followups_orders(db, world, cid):
    with db.session() as s:
        s.add(IntentScore(customer_id=cid, score=0.4, model_version="v1", computed_at=T0))
        s.add(IntentScore(customer_id=cid, score=0.55, model_version="v1", computed_at=T0 + timedelta(days=1),
                          reasons=[{"text": "试乘试驾完成", "delta": 0.12}]))
    with db.reader() as s:
        view = timeline.customer_view(s, reload(s, world.rep_a), cid, page_size=3)
        assert view.board.current.title == "来电接听"
        assert view.intent.score == 0.55 and round(view.intent.trend, 2) == 0.15
        assert view.intent.reasons[0]["text"] == "试乘试驾完成"
        assert [f.note for f in view.follow_ups] == ["回访"]
        assert view.orders[0][0].product == "终端" and len(view.timeline.entries) == 3


def test_audit_rows_share_the_transaction(db, world):
    class Boom(Exception):
        pass

    with pytest.raises(Boom), db.session() as s:
        create_customer(s, reload(s, world.rep_a), "回滚的客户")
        raise Boom
    with db.reader() as s:
        assert s.query(Customer).filter_by(name="回滚的客户").count() == 0
        assert s.query(AuditLog).filter(AuditLog.entity == "customers").count() == 0
    with db.session() as s:
        c = create_customer(s, reload(s, world.rep_a), "留下的客户")
    with db.reader() as s:
        rows = s.query(AuditLog).filter_by(entity="customers", entity_id=c.id).all()
        assert [r.action for r in rows] == ["create"] and rows[0].after["name"] == "留下的客户"


def test_export_customers_csv_round_trips_through_import(db, world, cid):
    from core.services.customers import import_customers_csv

    with db.reader() as s:
        text = export.export_customers(s, reload(s, world.admin), "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [r["name"] for r in rows] == ["时间线客户"] and rows[0]["owner"] == "rep_a"
    renamed = text.replace("时间线客户", "导入的副本")
    with db.session() as s:
        [created] = import_customers_csv(s, reload(s, world.admin), renamed)
        assert created.owner_id == world.rep_a.id


def test_export_data_json_and_csv(db, world, cid):
    with db.reader() as s:
        a = reload(s, world.rep_a)
        data = json.loads(export.export_data(s, a, "json"))
        rows = list(csv.DictReader(io.StringIO(export.export_data(s, a, "csv", customer_id=cid))))
    [c] = data
    assert c["name"] == "时间线客户" and len(c["activities"]) == 12
    assert c["orders"][0]["remaining"] == "10.000" and c["follow_ups"][0]["note"] == "回访"
    assert len(rows) == 12 and rows[0]["content"] == "第0次电话" and rows[0]["author"] == "rep_a"


def test_timeline_entries_carry_attachments(db, world, cid):
    from core.services.activities import attach_to_activity

    with db.session() as s:
        a = reload(s, world.rep_a)
        act, _ = log_activity(s, a, cid, "visit", "拍了展厅照片", occurred_at=T0 + timedelta(days=30))
        attach_to_activity(s, a, act.id, {"kind": "photo", "file_id": "F9", "name": "展厅.jpg"})
    with db.reader() as s:
        first = timeline.timeline(s, reload(s, world.rep_a), cid, page_size=3).entries[0]
    assert first.content == "拍了展厅照片" and first.attachments == [{"kind": "photo", "file_id": "F9", "name": "展厅.jpg"}]
    with db.reader() as s:
        assert timeline.timeline(s, reload(s, world.rep_a), cid, page=99).total == 15
