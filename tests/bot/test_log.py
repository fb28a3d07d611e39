"""/log: the step-by-step dialog, its draft card, attachments, resume after a restart,
/cancel, expiry, idempotency, and the one-message log from free text."""
from __future__ import annotations

from sqlalchemy import select

from bot.router import Router
from core.models import Activity, ConversationState, FollowUp
from tests.bot.conftest import Chat, activity_count, photo

T = {
    "zh": {"type_q": "什么类型", "customer_q": "哪个客户", "content_q": "拜访情况", "follow_q": "下次什么时候跟进",
           "draft": "跟单草稿", "saved": "已记录", "reminder": "已设置跟进提醒", "cancelled": "已取消",
           "expired": "已自动取消", "attached": "已收到附件", "change": "要修改哪一项", "none_follow": "不需要",
           "bad_date": "没看懂", "visit": "拜访", "call": "电话", "tomorrow": "明天", "not_found": "没有找到"},
    "en": {"type_q": "What kind", "customer_q": "Which customer", "content_q": "What happened", "follow_q": "next follow-up",
           "draft": "Draft activity", "saved": "Logged", "reminder": "Follow-up reminder set", "cancelled": "Cancelled",
           "expired": "has been cancelled", "attached": "Attachment received", "change": "What would you like to change",
           "none_follow": "none", "bad_date": "could not read", "visit": "visit", "call": "call",
           "tomorrow": "tomorrow", "not_found": "No customer matches"},
}


def test_full_dialog_with_buttons(rep, locale, db, customers):
    t = T[locale]
    rep.send("/log")
    assert t["type_q"] in rep.text
    rep.press("log:type:visit")
    assert t["customer_q"] in rep.text
    rep.send("华为")
    assert t["content_q"] in rep.text or "华为技术" in rep.text
    rep.send("聊了报价,张总关心交付周期")
    assert t["follow_q"] in rep.text
    rep.press("log:fu:1")
    assert t["draft"] in rep.text and "华为技术" in rep.text and "交付周期" in rep.text
    assert t["tomorrow"] in rep.text
    rep.press("log:save")
    assert t["saved"] in rep.text and t["reminder"] in rep.text
    with db.reader() as s:
        activity = s.scalar(select(Activity).where(Activity.customer_id == customers["huawei"],
                                                   Activity.type == "visit"))
        assert activity.content == "聊了报价,张总关心交付周期"
        assert activity.source_platform == "telegram" and activity.source_message_id
        follow_up = s.scalar(select(FollowUp).where(FollowUp.customer_id == customers["huawei"]))
        assert follow_up is not None and follow_up.status == "open"
        assert s.scalar(select(ConversationState)) is None


def test_typed_answers_and_a_date_in_words(rep, locale, db, customers):
    t = T[locale]
    rep.send(f"/log #{customers['huaxia']}")  # customer given: that step is skipped
    rep.send(t["call"])  # the type typed in the user's language
    assert t["content_q"].split()[0] in rep.text or "华夏银行" in rep.text
    rep.send("确认了开户需求")
    rep.send("whenever" if locale == "en" else "随便哪天")
    assert t["bad_date"] in rep.text
    rep.send("2026-12-10" if locale == "zh" else "in 3 days")
    assert t["draft"] in rep.text
    rep.press("log:save")
    assert activity_count(db, customer_id=customers["huaxia"], type="call") == 1


def test_no_follow_up(rep, locale, db, customers):
    rep.send("/log 华为技术")
    rep.press("log:type:call")
    rep.send("简单问候")
    rep.send("不用" if locale == "zh" else "none")
    assert T[locale]["none_follow"] in rep.text
    rep.press("log:save")
    with db.reader() as s:
        assert s.scalar(select(FollowUp)) is None
    assert activity_count(db, customer_id=customers["huawei"]) == 1


def test_change_before_saving(rep, locale, db, customers):
    rep.send("/log 华为技术")
    rep.press("log:type:call")
    rep.send("第一版内容")
    rep.press("log:fu:0")
    rep.press("log:edit")
    assert T[locale]["change"] in rep.text
    rep.press("log:chg:content")
    rep.send("改过的内容")
    assert T[locale]["draft"] in rep.text and "改过的内容" in rep.text
    rep.press("log:edit")
    rep.press("log:chg:customer")
    rep.send("华夏银行")
    assert "华夏银行" in rep.text
    rep.press("log:save")
    with db.reader() as s:
        activity = s.scalar(select(Activity).where(Activity.type == "call"))
        assert (activity.customer_id, activity.content) == (customers["huaxia"], "改过的内容")


def test_ambiguous_and_unknown_customer_answers(rep, locale, customers):
    rep.send("/log")
    rep.press("log:type:visit")
    rep.send("不存在")
    assert T[locale]["not_found"] in rep.text
    rep.send("华")
    assert {f"log:cust:{customers['huawei']}", f"log:cust:{customers['huaxia']}"} <= set(rep.payloads())
    rep.press(f"log:cust:{customers['huaxia']}")
    assert "华夏银行" in rep.text


def test_photos_and_files_land_on_the_activity(rep, locale, db, customers):
    rep.send("/log 华为技术")
    rep.press("log:type:visit")
    rep.send("", attachments=[photo()])
    assert T[locale]["attached"] in rep.text
    rep.send("店里的照片,见附件")
    rep.press("log:fu:0")
    rep.send("铭牌", attachments=[photo("/tmp/plate.jpg")])  # at the draft card: added too
    assert "2" in rep.text
    rep.press("log:save")
    with db.reader() as s:
        activity = s.scalar(select(Activity).where(Activity.type == "visit"))
    assert [a["path"] for a in activity.attachments] == ["/tmp/shop.jpg", "/tmp/plate.jpg"]
    assert activity.attachments[0]["file_id"] == "AgAD-photo-1" and activity.attachments[0]["platform"] == "telegram"
    rep.send(f"/c #{customers['huawei']}")
    assert "📎×2" in rep.text


def test_photo_outside_a_dialog_starts_a_log(rep, db, customers):
    rep.send("华为技术门店", attachments=[photo()])
    rep.press("log:type:visit")
    rep.send("华为技术")
    rep.press("log:fu:0")
    rep.press("log:save")
    with db.reader() as s:
        activity = s.scalar(select(Activity).where(Activity.type == "visit"))
    assert activity.content == "华为技术门店" and len(activity.attachments) == 1


def test_dialog_resumes_after_a_restart(db, clock, bound, customers):
    first = Chat(Router(db, now=clock), "rep_a")
    first.send("/log 华为技术")
    first.press("log:type:meeting")
    # the bot restarts: a new Router (as a new process would build) on the same database
    second = Chat(Router(db, now=clock), "rep_a")
    second.send("重启后继续说")
    assert "跟进" in second.text  # the next question: the follow-up date
    second.send("后天")
    second.press("log:save")
    assert activity_count(db, customer_id=customers["huawei"], type="meeting") == 1


def test_cancel(rep, locale, db, customers):
    rep.send("/log 华为技术")
    rep.press("log:type:visit")
    rep.send("/cancel")
    assert T[locale]["cancelled"] in rep.text
    rep.send("/cancel")
    assert T[locale]["cancelled"] not in rep.text  # nothing to cancel
    with db.reader() as s:
        assert s.scalar(select(ConversationState)) is None
    rep.send("/log 华为技术")
    rep.press("x:cancel")
    assert T[locale]["cancelled"] in rep.text


def test_dialog_expires_after_30_minutes(rep, locale, clock, db, customers):
    rep.send("/log 华为技术")
    rep.press("log:type:visit")
    clock.advance(minutes=31)
    rep.send("这句话不再是跟单内容")
    assert T[locale]["expired"] in rep.text
    assert activity_count(db) == 0
    with db.reader() as s:
        assert s.scalar(select(ConversationState)) is None


def test_dialog_still_open_at_29_minutes(rep, clock, db, customers):
    rep.send("/log 华为技术")
    rep.press("log:type:visit")
    clock.advance(minutes=29)
    rep.send("还在对话里")
    clock.advance(minutes=29)  # each answer extends the dialog
    rep.press("log:fu:0")
    rep.press("log:save")
    assert activity_count(db, customer_id=customers["huawei"]) == 1


def test_a_new_command_leaves_the_dialog(rep, db, customers):
    rep.send("/log 华为技术")
    rep.send("/find 华夏")
    assert "华夏银行" in rep.text
    rep.send("华为技术")  # a search, not an answer to the old dialog
    assert "log:txt:" in " ".join(rep.payloads())


def test_double_tap_on_save_logs_once(rep, db, customers):
    rep.send("/log 华为技术")
    rep.press("log:type:visit")
    rep.send("只记一次")
    rep.press("log:fu:0")
    rep.send(payload="log:save")
    rep.send(payload="log:save")  # a second callback with a new id: the dialog is over
    assert activity_count(db, customer_id=customers["huawei"]) == 1


def test_one_message_log_reads_customer_type_and_date(rep, locale, db, customers):
    rep.send("今天拜访了华为技术张总,聊了报价,下周三再跟进")  # a note, not a name: straight to the draft
    t = T[locale]
    assert t["draft"] in rep.text and "华为技术" in rep.text and t["visit"] in rep.text
    rep.press("log:save")
    with db.reader() as s:
        activity = s.scalar(select(Activity).where(Activity.customer_id == customers["huawei"]))
        follow_up = s.scalar(select(FollowUp).where(FollowUp.customer_id == customers["huawei"]))
    assert activity.type == "visit" and "下周三" in activity.content
    assert follow_up is not None and follow_up.due_at.weekday() in (1, 2)  # Wednesday 09:00 Shanghai = Wed 01:00 UTC


def test_someone_elses_log_button_is_refused(router, rep_a, customers):
    rep_a.send("今天去拜访了一个新客户,聊得不错")
    payload = next(p for p in rep_a.payloads() if p.startswith("log:txt:"))
    other = Chat(router, "rep_b")
    other.send(payload=payload)
    assert "过期" in other.text


def test_short_text_offers_to_log_and_asks_what_is_missing(rep, locale, db, customers):
    rep.send("电话没人接")
    log_payload = next(p for p in rep.payloads() if p.startswith("log:txt:"))
    rep.press(log_payload)
    assert T[locale]["customer_q"] in rep.text  # the type (电话 = call) was read from the text
    rep.send("华夏银行")
    rep.press("log:fu:0")
    rep.press("log:save")
    with db.reader() as s:
        activity = s.scalar(select(Activity).where(Activity.customer_id == customers["huaxia"]))
    assert (activity.type, activity.content) == ("call", "电话没人接")
