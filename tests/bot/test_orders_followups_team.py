"""总单-分单 (/order), follow-ups (/today with done / snooze), manager (/team), /undo, /export."""
from __future__ import annotations

import csv
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy import select

from core.db import utcnow
from core.models import Activity, FollowUp, MasterOrder, SubOrder, User
from core.services.activities import add_follow_up, log_activity
from tests.bot.conftest import Chat, activity_count

T = {
    "zh": {"no_orders": "还没有总单", "product_q": "产品是什么", "total_q": "总数量", "price_q": "单价",
           "created": "已新建总单", "remaining": "剩余 500", "sub_q": "分单数量", "sub_done": "还剩 200",
           "exceeds": "超出总单剩余数量", "bad": "不是有效的数字", "today_none": "今天没有待跟进",
           "overdue": "逾期", "done": "已完成", "snoozed": "已推迟", "team": "团队概况", "denied": "只有经理和管理员",
           "undone": "已撤销", "nothing": "没有可以撤销", "export_csv": "CSV", "fulfilled": "已分完"},
    "en": {"no_orders": "No master orders", "product_q": "Which product", "total_q": "Total quantity",
           "price_q": "Unit price", "created": "Master order", "remaining": "remaining 500", "sub_q": "Quantity for",
           "sub_done": "200 left", "exceeds": "More than the master order has left", "bad": "not a valid number",
           "today_none": "No follow-ups due", "overdue": "overdue", "done": "Done", "snoozed": "Snoozed",
           "team": "Team overview", "denied": "Only managers and admins", "undone": "Undone",
           "nothing": "Nothing to undo", "export_csv": "CSV", "fulfilled": "fully allocated"},
}


def _user(s, login: str) -> User:
    return s.scalar(select(User).where(User.login == login))


# ---------------------------------------------------------------- orders
def test_master_and_sub_orders(rep, locale, db, customers):
    t = T[locale]
    cid = customers["huawei"]
    rep.send("/order 华为技术")
    assert t["no_orders"] in rep.text
    rep.press(f"o:new:{cid}")
    assert t["product_q"] in rep.text
    rep.send("智能终端")
    assert t["total_q"] in rep.text
    rep.send("五百")
    assert t["bad"] in rep.text
    rep.send("500")
    assert t["price_q"] in rep.text
    rep.send("1,200.50")
    assert t["created"] in rep.text and "600,250.00" in rep.text
    with db.reader() as s:
        master = s.scalars(select(MasterOrder)).one()
    assert (master.total_quantity, master.unit_price, master.currency) == (Decimal(500), Decimal("1200.50"), "CNY")
    rep.send("/order 华为技术")
    assert t["remaining"] in rep.text
    rep.press(f"o:sub:{master.id}")
    assert t["sub_q"] in rep.text and "500" in rep.text
    rep.send("300 2026-12-20")
    assert t["sub_done"] in rep.text
    with db.reader() as s:
        sub = s.scalars(select(SubOrder)).one()
    assert sub.quantity == 300 and str(sub.delivery_date) == "2026-12-20"


def test_sub_order_over_the_remaining_is_refused_clearly_and_can_be_retried(rep, locale, db, customers):
    t = T[locale]
    cid = customers["huawei"]
    with db.session() as s:
        from core.services.orders import create_master_order
        master_id = create_master_order(s, _user(s, "rep_a"), cid, "年度服务包", 100, 800).id
    rep.send(payload=f"o:sub:{master_id}")
    rep.send("150")
    assert t["exceeds"] in rep.text and "100" in rep.text and "150" in rep.text
    rep.send("100")  # still in the dialog: a smaller quantity works
    with db.reader() as s:
        assert s.get(MasterOrder, master_id).status == "fulfilled"
        assert [x.quantity for x in s.scalars(select(SubOrder))] == [100]
    rep.send("/order 华为技术")
    assert t["fulfilled"] in rep.text
    assert f"o:sub:{master_id}" not in rep.payloads()


def test_master_order_in_another_currency(rep, db, customers):
    rep.send(payload=f"o:new:{customers['huaxia']}")
    rep.send("咨询服务")
    rep.send("10")
    rep.send("99 USD")
    with db.reader() as s:
        assert s.scalars(select(MasterOrder)).one().currency == "USD"


# ---------------------------------------------------------------- follow-ups
def test_today_lists_due_and_overdue_with_buttons(rep, locale, db, customers):
    t = T[locale]
    rep.send("/today")
    assert t["today_none"] in rep.text
    with db.session() as s:
        rep_a = _user(s, "rep_a")
        overdue = add_follow_up(s, rep_a, customers["huawei"], utcnow() - timedelta(days=2), "催合同").id
        later = add_follow_up(s, rep_a, customers["huaxia"], utcnow() + timedelta(days=5), "下周再说").id
    rep.send("/today")
    assert "华为技术" in rep.text and "催合同" in rep.text and t["overdue"] in rep.text
    assert "下周再说" not in rep.text
    assert {f"f:done:{overdue}:1", f"f:snz:{overdue}:1:1", f"f:snz:{overdue}:3:1"} <= set(rep.payloads())
    rep.press(f"f:snz:{overdue}:3:1")
    assert t["snoozed"] in rep.text and rep.last[0].edit
    with db.reader() as s:
        follow_up = s.get(FollowUp, overdue)
        assert follow_up.status == "snoozed" and follow_up.due_at > utcnow() + timedelta(days=2)
    assert later


def test_today_done_button(rep, locale, db, customers):
    with db.session() as s:
        fid = add_follow_up(s, _user(s, "rep_a"), customers["huawei"], utcnow() - timedelta(hours=1), "回电").id
    rep.send("/today")
    rep.press(f"f:done:{fid}:1")
    assert T[locale]["done"] in rep.text and T[locale]["today_none"] in rep.text
    with db.reader() as s:
        assert s.get(FollowUp, fid).status == "done"


def test_today_pages_when_there_are_many(rep, db, customers):
    with db.session() as s:
        rep_a = _user(s, "rep_a")
        for i in range(11):
            add_follow_up(s, rep_a, customers["huawei"], utcnow() - timedelta(hours=i + 1), f"第{i}件")
    rep.send("/today")
    assert "1/2" in rep.text
    rep.press("f:page:2")
    assert "2/2" in rep.text and rep.last[0].edit


# ---------------------------------------------------------------- team
def test_team_counts_per_rep_with_overdue(router, db, bound, customers, locale):
    with db.session() as s:
        rep_a = _user(s, "rep_a")
        add_follow_up(s, rep_a, customers["huawei"], utcnow() - timedelta(days=1), "逾期的")
        add_follow_up(s, rep_a, customers["huaxia"], utcnow() + timedelta(days=1), "还没到")
        log_activity(s, rep_a, customers["huawei"], "visit", "拜访")
        _user(s, "manager_1").locale = locale
    manager = Chat(router, "manager_1")
    manager.send("/team")
    text = manager.text
    assert T[locale]["team"] in text and "一组" in text
    line = next(line for line in text.splitlines() if "销售甲" in line)
    if locale == "zh":
        assert "客户 2" in line and "待跟进 2" in line and "逾期 1" in line and "近7天跟单 1" in line and "⚠️" in line
    else:
        assert "2 customers" in line and "2 open follow-ups, 1 overdue" in line and "1 activities" in line
    assert "销售丙" not in text  # another team


def test_admin_team_view_covers_every_team(router, bound, customers):
    admin = Chat(router, "admin")
    admin.send("/team")
    assert "一组" in admin.text and "二组" in admin.text and "销售丙" in admin.text


def test_rep_cannot_see_the_team(rep, locale):
    rep.send("/team")
    assert T[locale]["denied"] in rep.text


# ---------------------------------------------------------------- undo and export
def test_undo_the_last_log(rep, locale, db, customers):
    rep.send("/log 华为技术")
    rep.press("log:type:visit")
    rep.send("要撤销的记录")
    rep.press("log:fu:1")
    rep.press("log:save")
    rep.press("undo:last")
    assert T[locale]["undone"] in rep.text
    assert activity_count(db, customer_id=customers["huawei"], active=True) == 0
    with db.reader() as s:
        assert s.scalars(select(Activity).where(Activity.content == "要撤销的记录")).one().active is False


def test_nothing_to_undo(router, bound, db, locale):
    with db.session() as s:
        _user(s, "rep_b").locale = locale
    rep_b = Chat(router, "rep_b")
    rep_b.send("/undo")
    assert T[locale]["nothing"] in rep_b.text


def test_export_csv_and_json(rep, locale, db, customers):
    with db.session() as s:
        log_activity(s, _user(s, "rep_a"), customers["huawei"], "visit", "导出的记录")
    rep.send("/export")
    out = rep.last[0].file
    assert out is not None and out.filename.endswith(".csv")
    rows = list(csv.DictReader(Path(out.path).read_text(encoding="utf-8-sig").splitlines()))
    assert any(r["content"] == "导出的记录" and r["customer"] == "华为技术" for r in rows)
    assert all(r["customer"] != "中兴通讯" for r in rows)  # only what rep_a may see
    rep.send("/export json")
    data = json.loads(Path(rep.last[0].file.path).read_text(encoding="utf-8"))
    assert {c["name"] for c in data} == {"华为技术", "华夏银行"}
    rep.send("/export xml")
    assert rep.last[0].file is None and "csv" in rep.text and "json" in rep.text
