"""/find, /c (the customer view card), the paged timeline, /new — in Chinese and English."""
from __future__ import annotations

from datetime import timedelta

from core.db import utcnow
from core.models import IntentScore, User
from core.services.activities import add_follow_up, log_activity
from core.services.orders import create_master_order, create_sub_order
from tests.bot.conftest import customer_named

T = {
    "zh": {"found": "找到 2 个客户", "none": "没有找到", "node": "三一客", "intent": "AI意向", "no_intent": "暂无评分",
           "recent": "最近跟单", "follow": "待跟进", "orders": "订单", "timeline": "时间线", "page": "第 1/3 页",
           "created": "已新建客户", "exists": "已经存在", "which": "匹配到多个客户", "contact_q": "联系人"},
    "en": {"found": "2 customer(s)", "none": "No customer matches", "node": "Key steps", "intent": "AI intent",
           "no_intent": "no score yet", "recent": "Recent activity", "follow": "Open follow-ups", "orders": "Orders",
           "timeline": "Timeline", "page": "page 1/3", "created": "created", "exists": "already exists",
           "which": "matches several customers", "contact_q": "contact"},
}


def test_find_by_name_and_pinyin(rep, locale, customers):
    rep.send("/find 华")
    assert T[locale]["found"] in rep.text
    assert f"c:view:{customers['huawei']}" in rep.payloads()
    rep.send("/find hwjs")  # pinyin initials of 华为技术
    assert "华为技术" in rep.text
    rep.send("/find 不存在的公司")
    assert T[locale]["none"] in rep.text


def test_find_without_text_explains_usage(rep):
    rep.send("/find")
    assert "/find" in rep.text


def test_card_shows_node_intent_activities_follow_ups_orders(rep, locale, db, customers):
    cid = customers["huawei"]
    with db.session() as s:
        rep_a = s.query(User).filter_by(login="rep_a").one()
        log_activity(s, rep_a, cid, "visit", "第一次拜访张总")
        add_follow_up(s, rep_a, cid, utcnow() + timedelta(days=2), "带报价单再去")
        master = create_master_order(s, rep_a, cid, "智能终端", 500, "1200.50")
        create_sub_order(s, rep_a, master.id, 200)
        s.add(IntentScore(customer_id=cid, score=0.55, model_version="v1", computed_at=utcnow() - timedelta(days=1)))
        s.add(IntentScore(customer_id=cid, score=0.72, model_version="v1", computed_at=utcnow(),
                          reasons=[{"text": "试乘试驾完成", "delta": 0.12}]))
    rep.send("/c 华为技术")
    text = rep.text
    t = T[locale]
    assert f"华为技术 #{cid}" in text
    assert t["node"] in text and "来电接听" in text  # car playbook's first node
    assert t["intent"] in text and "72%" in text and "↑" in text and "+17%" in text and "试乘试驾完成" in text
    assert t["recent"] in text and "第一次拜访张总" in text
    assert t["follow"] in text and "带报价单再去" in text
    assert t["orders"] in text and "智能终端" in text and "300" in text  # remaining
    assert "张总" in text and "13800000000" in text
    payloads = rep.payloads()
    for expected in (f"c:tl:{cid}:1", f"node:show:{cid}", f"m:node:{cid}", f"o:list:{cid}", f"log:start:{cid}"):
        assert expected in payloads


def test_card_without_intent_score_says_so(rep, locale, customers):
    rep.send(f"/c #{customers['huaxia']}")
    assert T[locale]["no_intent"] in rep.text


def test_ambiguous_name_offers_the_candidates(rep, locale, customers):
    rep.send("/c 华")
    assert T[locale]["which"] in rep.text
    assert set(rep.payloads()) == {f"c:view:{customers['huawei']}", f"c:view:{customers['huaxia']}"}
    rep.press(f"c:view:{customers['huaxia']}")
    assert "华夏银行" in rep.text


def test_timeline_is_paged_and_edits_in_place(rep, locale, db, customers):
    cid = customers["huawei"]
    with db.session() as s:
        rep_a = s.query(User).filter_by(login="rep_a").one()
        base = utcnow() - timedelta(days=30)
        for i in range(25):
            log_activity(s, rep_a, cid, "call", f"电话 {i:02d}", occurred_at=base + timedelta(days=i))
    rep.send(f"/c #{cid}")
    rep.press(f"c:tl:{cid}:1")
    assert T[locale]["page"] in rep.text and "电话 24" in rep.text and "电话 10" not in rep.text
    assert rep.last[0].edit is False
    rep.press(f"c:tlp:{cid}:2")
    assert "电话 14" in rep.text and rep.last[0].edit is True
    rep.press(f"c:tlp:{cid}:3")
    assert "电话 00" in rep.text
    assert f"c:tlp:{cid}:4" not in rep.payloads()


def test_manager_sees_a_team_customer_but_not_another_team(router, bound, customers):
    from tests.bot.conftest import Chat

    manager = Chat(router, "manager_1")
    manager.send(f"/c #{customers['huawei']}")
    assert "华为技术" in manager.text
    manager.send(f"/c #{customers['zte']}")
    assert "不在您的可见范围内" in manager.text


def test_new_customer_asks_for_what_is_missing(rep, locale, db):
    rep.send("/new")
    assert rep.last[0].buttons  # cancel
    rep.send("比亚迪汽车")
    assert T[locale]["contact_q"] in rep.text.lower()
    rep.send("王经理(采购) 13912345678 wang@byd.com")
    assert T[locale]["created"] in rep.text
    customer = customer_named(db, "比亚迪汽车")
    assert customer is not None
    with db.reader() as s:
        from core.models import Contact
        contact = s.query(Contact).filter_by(customer_id=customer.id).one()
        assert (contact.name, contact.title, contact.phone, contact.email) == \
            ("王经理", "采购", "13912345678", "wang@byd.com")
    assert f"c:view:{customer.id}" in rep.payloads()


def test_new_customer_with_name_and_skipped_contact(rep, db):
    rep.send("/new 小米科技")
    rep.press("new:skip")
    assert customer_named(db, "小米科技") is not None


def test_new_duplicate_customer_points_to_the_existing_one(rep, locale, customers):
    rep.send("/new 华为技术")
    rep.press("new:skip")
    assert T[locale]["exists"] in rep.text
    assert f"c:view:{customers['huawei']}" in rep.payloads()
    rep.send("你好")  # the dialog ended: free text is a search again, not a contact
    assert "log:txt:" in " ".join(rep.payloads())


def test_free_text_name_is_a_search(rep, customers):
    rep.send("华夏")
    assert "华夏银行" in rep.text
    assert f"c:view:{customers['huaxia']}" in rep.payloads()
    assert any(p.startswith("log:txt:") for p in rep.payloads())


def test_card_says_when_the_score_comes_from_the_example_model(rep, locale, db, customers):
    cid = customers["huawei"]
    hint = {"zh": "示例模型", "en": "example model"}[locale]
    with db.session() as s:
        s.add(IntentScore(customer_id=cid, score=0.6, model_version="team-v3", computed_at=utcnow()))
    rep.send("/c 华为技术")
    assert "60%" in rep.text and hint not in rep.text
    with db.session() as s:
        s.add(IntentScore(customer_id=cid, score=0.64, model_version="shipped:lstm-x",
                          computed_at=utcnow() + timedelta(seconds=1)))
    rep.send("/c 华为技术")
    assert "64%" in rep.text and hint in rep.text and "50" in rep.text
