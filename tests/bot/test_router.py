"""The router: store-then-process, dedupe, crash recovery, binding, errors, limits."""
from __future__ import annotations

import re

from sqlalchemy import select

from bot import handlers
from bot.messages import MAX_TEXT, Reply
from bot.router import Router, parse_command
from core.models import ChatIdentity, InboxMessage, Material
from core.services.users import create_invite
from tests.bot.conftest import Chat, activity_count


def _log_flow(chat: Chat, customer: str = "华为技术"):
    chat.send(f"/log {customer}")
    chat.press("log:type:visit")
    chat.send("聊了报价")
    chat.press("log:fu:0")


def test_parse_command():
    assert parse_command("/find 华为") == ("find", "华为")
    assert parse_command("/start@MammothBot ABC") == ("start", "ABC")
    assert parse_command("hello") == (None, "")
    assert parse_command("/") == (None, "")


def test_accept_stores_once_and_process_is_idempotent(router, db, customers, rep_a):
    _log_flow(rep_a)
    save = rep_a.incoming(payload="log:save")
    inbox_id = router.accept(save)
    assert inbox_id is not None
    assert router.accept(save) is None  # a redelivery
    first = router.process(inbox_id)
    assert "已记录" in first[0].text
    again = router.process(inbox_id)  # e.g. the channel crashed before sending
    assert [r.text for r in again] == [r.text for r in first]
    assert [[b.payload for b in row] for row in again[0].buttons] == [[b.payload for b in row] for row in first[0].buttons]
    assert activity_count(db, customer_id=customers["huawei"]) == 1
    with db.reader() as s:
        row = s.get(InboxMessage, inbox_id)
        assert row.status == "done" and row.processed_at is not None


def test_same_message_three_times_gives_one_activity(router, db, customers, rep_a):
    _log_flow(rep_a)
    save = rep_a.incoming(payload="log:save")
    results = [router.handle(save) for _ in range(3)]
    assert "已记录" in results[0][0].text
    assert results[1] == [] and results[2] == []
    assert activity_count(db, customer_id=customers["huawei"]) == 1


def test_crash_between_accept_and_process_is_recovered_by_a_new_router(db, clock, customers, rep_a):
    _log_flow(rep_a)
    inbox_id = rep_a.router.accept(rep_a.incoming(payload="log:save"))
    # the process dies here; a new one starts on the same database
    fresh = Router(db, now=clock)
    assert fresh.pending() == [inbox_id]
    assert fresh.pending("wecom") == []
    assert fresh.incoming(inbox_id).payload == "log:save"
    replies = fresh.process(inbox_id)
    assert "已记录" in replies[0].text
    assert fresh.pending() == []
    assert activity_count(db, customer_id=customers["huawei"]) == 1


def test_unknown_sender_gets_binding_instructions(router, bound):
    stranger = Chat(router, "stranger-42")
    replies = stranger.send("/find 华为")
    assert "/start" in replies[0].text and "邀请码" in replies[0].text
    stranger.send("随便说点什么")
    assert "/start" in stranger.text


def test_start_with_invite_binds_and_greets(router, db, bound):
    with db.session() as s:
        code = create_invite(s, None, bound.org.id, role="rep", team="一组").code
    newbie = Chat(router, "tg-777")
    newbie.send(f"/start {code}")
    assert "绑定成功" in newbie.text and "/find" in newbie.text
    with db.reader() as s:
        assert s.scalar(select(ChatIdentity).where(ChatIdentity.external_id == "tg-777")) is not None
    newbie.send("/help")
    assert "/log" in newbie.text


def test_start_with_a_bad_code_is_a_polite_error(router, bound):
    stranger = Chat(router, "tg-888")
    stranger.send("/start NOPE")
    assert "NOPE" in stranger.text and "不存在" in stranger.text


def test_start_with_a_used_code(router, db, bound):
    with db.session() as s:
        code = create_invite(s, None, bound.org.id).code
    Chat(router, "tg-1").send(f"/start {code}")
    other = Chat(router, "tg-2")
    other.send(f"/start {code}")
    assert "已被使用" in other.text or "已失效" in other.text


def test_lang_before_binding_answers_in_that_language(router, bound):
    stranger = Chat(router, "tg-9")
    stranger.send("/lang en")
    assert "invite code" in stranger.text


def test_unknown_command(rep_a):
    rep_a.send("/frobnicate")
    assert "/frobnicate" in rep_a.text and "/help" in rep_a.text


def test_domain_error_becomes_a_polite_message(rep_a, customers):
    rep_a.send("/c 中兴通讯")  # rep_c's customer: invisible to rep_a
    assert "没有找到客户" in rep_a.text
    rep_a.send(f"/c #{customers['zte']}")
    assert "不在您的可见范围内" in rep_a.text


def test_unexpected_exception_apologises_with_an_id_and_the_bot_keeps_working(router, db, rep_a, monkeypatch):
    def broken(ctx):
        raise RuntimeError("boom")

    monkeypatch.setitem(handlers.COMMANDS, "today", broken)
    replies = rep_a.send("/today")
    assert len(replies) == 1
    match = re.search(r"[0-9a-f]{8}", replies[0].text)
    assert match and "抱歉" in replies[0].text and "boom" not in replies[0].text
    with db.reader() as s:
        row = s.scalars(select(InboxMessage).order_by(InboxMessage.id.desc())).first()
        assert row.status == "failed" and row.error.startswith(match[0])
    assert router.pending() == []
    rep_a.send("/help")
    assert "/find" in rep_a.text


def test_an_exception_undoes_the_handlers_partial_work(router, db, rep_a, customers, monkeypatch):
    from bot.conversations import log_activity

    real_end = log_activity.Context.end_conversation

    def end_then_fail(ctx):
        real_end(ctx)
        raise RuntimeError("crash after the activity was written")

    _log_flow(rep_a)
    monkeypatch.setattr(log_activity.Context, "end_conversation", end_then_fail)
    rep_a.press("log:save")
    assert "抱歉" in rep_a.text
    assert activity_count(db, customer_id=customers["huawei"]) == 0
    monkeypatch.setattr(log_activity.Context, "end_conversation", real_end)
    rep_a.send(payload="log:save")  # the dialog is still there: saving again works
    assert "已记录" in rep_a.text
    assert activity_count(db, customer_id=customers["huawei"]) == 1


def test_long_replies_are_split_under_the_limit(rep_a, monkeypatch):
    def chatty(ctx):
        from bot.messages import Button
        return [Reply("\n".join("第 %d 行 " % i + "字" * 50 for i in range(400)),
                      buttons=[[Button("ok", "help:show")]])]

    monkeypatch.setitem(handlers.COMMANDS, "today", chatty)
    replies = rep_a.send("/today")
    assert len(replies) > 1
    assert all(len(r.text) <= MAX_TEXT for r in replies)
    assert replies[-1].buttons and not any(r.buttons for r in replies[:-1])
    assert "第 399 行" in replies[-1].text


def test_every_payload_fits_64_bytes(rep_a, customers, materials):
    for command in (f"/c #{customers['huawei']}", "/node 华为技术", "/m", "/m 报价", "/order 华为技术", "/log"):
        for reply in rep_a.send(command):
            for row in reply.buttons:
                for button in row:
                    assert len(button.payload.encode()) <= 64


def test_replies_go_to_the_incoming_chat(rep_a):
    replies = rep_a.send("/help")
    assert replies[0].chat_id == "rep_a"


def test_stale_button_without_dialog(rep_a):
    rep_a.send(payload="log:save")
    assert "过期" in rep_a.text


def test_group_chatter_is_ignored_but_commands_work(rep_a):
    assert rep_a.send("大家好", is_group=True) == []
    assert "/find" in rep_a.send("/help", is_group=True)[0].text


def test_file_sent_caches_the_platform_file_id(router, db, materials):
    with db.reader() as s:
        material = s.scalars(select(Material)).first()
    router.file_sent(material.id, "telegram", "BQAC-file-1")
    with db.reader() as s:
        assert s.get(Material, material.id).file_ids == {"telegram": "BQAC-file-1"}


def test_process_unknown_inbox_id_returns_nothing(router):
    assert router.process(123456) == []


def test_language_switch_and_back(rep_a, db):
    rep_a.send("/lang")
    assert {"lang:set:zh", "lang:set:en"} == set(rep_a.payloads())
    rep_a.press("lang:set:en")
    assert "English" in rep_a.text
    rep_a.send("/help")
    assert "/find TEXT" in rep_a.text
    rep_a.send("/lang fr")
    assert "zh or en" in rep_a.text
    rep_a.send("/lang zh")
    assert "中文" in rep_a.text
    from core.models import User
    with db.reader() as s:
        assert s.scalar(select(User).where(User.login == "rep_a")).locale == "zh"


def test_internal_handler_names_are_not_commands(rep_a):
    rep_a.send("/_unbound")
    assert "/_unbound" in rep_a.text and "/help" in rep_a.text


def test_handle_never_raises_even_when_the_database_is_gone(tmp_path, bound):
    from core.db import Database

    broken = Router(Database(f"sqlite:///{tmp_path}/missing-dir/none.db"))
    replies = Chat(broken, "rep_a").send("/help")
    assert len(replies) == 1 and re.search(r"[0-9a-f]{8}", replies[0].text)
