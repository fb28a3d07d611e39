"""The Telegram channel's promises, end to end over HTTP (real python-telegram-bot, fake Bot API):
nothing lost when the process dies after fetching, nothing done twice when Telegram delivers
again, webhook secret and body limit, 429 retry_after, pacing, groups and topics."""
from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from aiohttp import ClientSession
from sqlalchemy import func, select

from bot.channels.pacing import Pacer, Pacing, Spaced, Window
from bot.channels.telegram import (
    SECRET_HEADER, Target, TelegramChannel, TelegramSender, make_bot, serve, split_text, update_to_incoming,
)
from bot.messages import Button, FileOut, Reply
from bot.texts import t
from core.models import Customer, InboxMessage, User
from core.settings import Settings
from tests.e2e.conftest import TelegramBot, activity_count, free_port, start_bot, stop_bot
from tests.e2e.fake_telegram import TOKEN, Flood

ROOT = Path(__file__).resolve().parents[2]
ZHANG = 7001  # Telegram user id of the demo rep zhangwei


def own_customer(db, login: str = "zhangwei") -> str:
    with db.reader() as s:
        uid = s.scalar(select(User.id).where(User.login == login))
        return s.scalar(select(Customer.name).where(Customer.owner_id == uid, Customer.active.is_(True))
                        .order_by(Customer.id))


async def log_until_draft(chat, customer: str, note: str) -> None:
    """/log with buttons up to the draft card (type → customer → content → follow-up)."""
    await chat.say("/log")
    await chat.press(t("zh", "type.visit"), exact=True)
    await chat.say(customer)
    await chat.say(note)
    await chat.press(t("zh", "btn.fu_tomorrow"), exact=True)
    assert t("zh", "btn.save") in chat.buttons()


async def drained(tg: TelegramBot, timeout: float = 10.0) -> None:
    """Everything queued at the fake was fetched and confirmed, and the bot is idle."""
    deadline = time.monotonic() + timeout
    while tg.fake.unconfirmed:
        assert time.monotonic() < deadline, f"unconfirmed: {tg.fake.unconfirmed}"
        await asyncio.sleep(0.02)
    await tg.settled(tg.channel.last_update_id)


# ---------------------------------------------------------------- redelivery and crashes
async def test_same_update_three_times_is_one_activity(tg, demo_db):
    chat = await tg.bind(ZHANG, "zhangwei")
    await log_until_draft(chat, own_customer(demo_db), "三次送达测试:客户确认了报价")
    before = activity_count(demo_db)
    sent_before = len(tg.fake.sent(ZHANG))

    press = tg.fake.press(ZHANG, t("zh", "btn.save"), exact=True)
    tg.fake.redeliver(press)  # in the same batch
    await tg.settled(press)
    tg.fake.redeliver(press)  # and again after it was handled (a lost acknowledgement)
    await drained(tg)

    assert activity_count(demo_db) == before + 1
    assert len(tg.fake.sent(ZHANG)) == sent_before + 1  # one "saved", no second answer
    assert len(tg.fake.callbacks_answered) >= 1


def _runner(env: dict, *extra: str) -> subprocess.Popen:
    """tests/e2e/telegram_runner.py: the bot process with a kill switch."""
    return subprocess.Popen([sys.executable, "-m", "tests.e2e.telegram_runner", *extra], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


async def _wait_exit(proc: subprocess.Popen, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while proc.poll() is None:
        assert time.monotonic() < deadline, "runner did not exit"
        await asyncio.sleep(0.05)
    return proc.returncode


async def test_killed_after_fetch_before_reply_is_processed_once_after_restart(fake, demo_db, demo_url):
    # Get to the draft card with an in-process bot, then hand the chat over to a bot process.
    tg = await start_bot(fake, demo_db)
    chat = await tg.bind(ZHANG, "zhangwei")
    await log_until_draft(chat, own_customer(demo_db), "崩溃测试:客户要求周三前发合同")
    await stop_bot(tg)

    env = {**os.environ, "MAMMOTH_DATABASE_URL": demo_url, "MAMMOTH_TELEGRAM_TOKEN": TOKEN,
           "MAMMOTH_TELEGRAM_API_URL": fake.api_url, "MAMMOTH_TELEGRAM_WEBHOOK_URL": "",
           "PYTHONPATH": str(ROOT)}
    before = activity_count(demo_db)
    sent_before = len(fake.sent(ZHANG))

    press = fake.press(ZHANG, t("zh", "btn.save"), exact=True)
    doomed = _runner(env, "--die-after-accept")
    assert await _wait_exit(doomed, 30) == -signal.SIGKILL, doomed.stdout.read()
    # Fetched and stored, but neither acknowledged nor processed nor answered.
    assert press in fake.unconfirmed
    assert len(fake.sent(ZHANG)) == sent_before
    assert activity_count(demo_db) == before
    with demo_db.reader() as s:
        assert s.scalar(select(func.count(InboxMessage.id)).where(InboxMessage.status == "received")) == 1

    survivor = subprocess.Popen([sys.executable, "-m", "bot", "run"], cwd=ROOT, env=env,  # `mammoth run`
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        await fake.wait_sent(sent_before + 1, ZHANG, timeout=30)
        deadline = time.monotonic() + 30
        while fake.unconfirmed:  # Telegram delivered the press again: a duplicate, confirmed
            assert time.monotonic() < deadline
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.5)  # room for a wrong second answer to show up
    finally:
        survivor.send_signal(signal.SIGTERM)
        code = await _wait_exit(survivor, 20)
    output = survivor.stdout.read()
    assert code == 0, output
    assert activity_count(demo_db) == before + 1
    answers = [c.params.get("text") for c in fake.sent(ZHANG)[sent_before:]]
    assert len(answers) == 1 and answers[0].startswith(t("zh", "log.saved").split("{")[0]), answers
    with demo_db.reader() as s:
        assert s.scalar(select(func.count(InboxMessage.id)).where(InboxMessage.status == "received")) == 0


# ---------------------------------------------------------------- webhook
def _help_update(fake, user: int) -> dict:
    uid = fake.message(user, "/help")
    update = next(u for u in fake.all_updates() if u["update_id"] == uid)
    fake._queue.remove(update)  # posted by the test itself, not by the fake's delivery
    return {k: v for k, v in update.items() if not k.startswith("_")}


async def test_webhook_checks_secret_and_size_and_dedupes(fake, demo_db):
    from bot.router import Router

    port = free_port()
    url = f"http://127.0.0.1:{port}/telegram/hook"
    settings = Settings(telegram_token=TOKEN, telegram_api_url=fake.api_url, telegram_webhook_url=url,
                        telegram_webhook_secret="s3cret_T0ken-abc", telegram_webhook_listen="127.0.0.1",
                        telegram_webhook_port=port)
    stop = asyncio.Event()
    ready: list[TelegramChannel] = []
    task = asyncio.create_task(serve(Router(demo_db), settings, stop, pacing=Pacing.unlimited(), ready=ready.append))
    tg = None
    try:
        await fake.wait_for(lambda: fake.webhook_url == url, timeout=10)
        assert fake.webhook_secret == "s3cret_T0ken-abc"
        tg = TelegramBot(fake, demo_db, ready[0].router, channel=ready[0], task=task)

        body = _help_update(fake, 555)
        async with ClientSession() as http:
            for headers in ({}, {SECRET_HEADER: "wrong"}, {SECRET_HEADER: "s3cret_T0ken-ab"}):
                async with http.post(url, json=body, headers=headers) as resp:
                    assert resp.status == 403
            huge = json.dumps({**body, "padding": "x" * (1024 * 1024)})
            async with http.post(url, data=huge, headers={SECRET_HEADER: fake.webhook_secret,
                                                          "Content-Type": "application/json"}) as resp:
                assert resp.status == 413
            await asyncio.sleep(0.2)
            assert fake.sent() == []
            with demo_db.reader() as s:
                assert s.scalar(select(func.count(InboxMessage.id))) == 0

            # The right secret: bind through the fake's own webhook delivery, then log an activity.
            chat = await tg.bind(ZHANG, "zhangwei")
            assert fake.webhook_deliveries and all(status == 200 for _, status in fake.webhook_deliveries)
            await log_until_draft(chat, own_customer(demo_db), "webhook 测试")
            before = activity_count(demo_db)
            sent_before = len(fake.sent(ZHANG))
            press = fake.press(ZHANG, t("zh", "btn.save"), exact=True)
            await tg.settled(press)
            saved = next(u for u in fake.all_updates() if u["update_id"] == press)
            saved = {k: v for k, v in saved.items() if not k.startswith("_")}
            for _ in range(2):  # Telegram retries a delivery it thinks failed
                async with http.post(url, json=saved, headers={SECRET_HEADER: fake.webhook_secret}) as resp:
                    assert resp.status == 200
            await tg.settled(press)
        assert activity_count(demo_db) == before + 1
        assert len(fake.sent(ZHANG)) == sent_before + 1
        # getUpdates is refused while the webhook is set, as on Telegram
        assert fake.count("setWebhook") == 1
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


# ---------------------------------------------------------------- 429 and pacing
async def test_429_storm_every_reply_still_arrives(tg, demo_db):
    logins = ["zhangwei", "lina", "liuyang", "zhaolei"]
    tg.fake.flood = Flood(rate=0.5, retry_after=1, limit=6)

    async def one(i: int, login: str) -> list[str]:
        chat = await tg.bind(8000 + i, login)
        return await chat.say("/help")

    answers = await asyncio.gather(*(one(i, login) for i, login in enumerate(logins)))
    assert all(answers)
    throttled = [c for c in tg.fake.calls if c.status == 429]
    assert len(throttled) == 6
    for bad in throttled:  # the retry came after retry_after, not before
        chat = bad.params["chat_id"]
        later = [c for c in tg.fake.calls if c.params.get("chat_id") == chat and c.at > bad.at and c.method == bad.method]
        assert later and later[0].at - bad.at >= 0.95
    # each chat: /start → welcome + help, /help → help
    for i in range(len(logins)):
        assert len(tg.fake.sent(8000 + i)) == 3


async def test_pacing_spaces_messages_in_one_chat(fake, demo_db):
    tg = await start_bot(fake, demo_db, pacing=Pacing(overall=None, per_chat=Spaced(0.25), per_group=None))
    try:
        chat = await tg.bind(ZHANG, "zhangwei")
        last = [fake.message(ZHANG, "/help") for _ in range(4)][-1]
        await tg.settled(last)
    finally:
        await stop_bot(tg)
    times = [c.at for c in fake.sent(ZHANG)]
    assert len(times) == 6
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) >= 0.2, gaps


async def test_pacer_limits_with_a_virtual_clock():
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds):
        slept.append(seconds)
        now[0] += seconds

    pacer = Pacer(Pacing.telegram(), clock=lambda: now[0], sleep=sleep)
    for _ in range(3):  # a private chat may burst 3, then 1/s
        await pacer.wait("1")
    assert slept == []
    await pacer.wait("1")
    assert slept == [pytest.approx(1.0)]
    slept.clear()
    for _ in range(20):  # a group: 20 per minute
        await pacer.wait("-100", is_group=True)
    assert sum(slept) >= 17  # per chat 1/s after the burst
    now[0] += 1
    slept.clear()
    await pacer.wait("-100", is_group=True)  # the 21st within the minute waits for the window
    assert sum(slept) >= 35
    pacer.pause("2", 5)  # a 429 retry_after=5 for chat 2
    slept.clear()
    await pacer.wait("2")
    assert slept and slept[0] == pytest.approx(5.0)
    overall = Window(30, 1.0).new()  # 30 per second, hard
    assert all(overall.reserve(10.0) == 0 for _ in range(30)) and overall.reserve(10.0) == pytest.approx(1.0)


# ---------------------------------------------------------------- groups, parsing, rendering
async def test_group_topic_commands_answered_in_the_topic_chatter_ignored(tg):
    await tg.bind(ZHANG, "zhangwei")
    group = tg.chat(ZHANG, chat=-1001234)
    answers = await tg.exchange(group.chat, lambda: tg.fake.message(ZHANG, "/help@mammoth_test_bot", chat_id=-1001234,
                                                                     thread_id=77))
    assert answers
    reply = tg.fake.sent(-1001234)[-1]
    assert reply.params["message_thread_id"] == 77
    assert await tg.exchange(group.chat, lambda: tg.fake.message(ZHANG, "大家好", chat_id=-1001234)) == []


async def test_unbound_user_gets_binding_instructions_and_bad_code_is_refused(tg):
    stranger = tg.chat(9999)
    assert await stranger.say("你好")
    assert await stranger.say("/start not-a-code")
    with tg.db.reader() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.login == "telegram_9999")) == 0


def test_update_to_incoming_shapes():
    from telegram import Update

    from tests.e2e.fake_telegram import FakeTelegram

    fake = FakeTelegram()
    uid = fake.message(42, "/find@mammoth_test_bot 华为", chat_id=-100, thread_id=5)
    fake.message(42, "", photo=True, caption="现场照片")
    fake.message(42, "", document=("报价.xlsx", b"x"))
    fake.message(42, "", voice=True)
    raw = fake.all_updates()
    msg = fake.messages[-100][1]
    fake._bot_message(-100, {"text": "card", "reply_markup": {"inline_keyboard": [[{"text": "a", "callback_data": "c:view:1"}]]}})
    fake.callback(42, -100, 2, "c:view:1")
    raw = fake.all_updates()
    incomings = [update_to_incoming(Update.de_json(u, None), "mammoth_test_bot") for u in raw]
    group, photo, doc, voice, press = incomings
    assert (group.text, group.is_group, group.thread_id, group.chat_id, group.sender_id) == ("/find 华为", True, "5", "-100", "42")
    assert group.message_id == f"m-100:{msg['message_id']}" and raw[0]["update_id"] == uid
    assert photo.text == "现场照片" and photo.attachments[0].kind == "photo" and photo.attachments[0].file_id
    assert doc.attachments[0].kind == "file" and doc.attachments[0].name == "报价.xlsx"
    assert voice.attachments[0].kind == "voice"
    assert press.payload == "c:view:1" and press.source_message_id == "2" and press.message_id.startswith("q")
    assert len({i.message_id for i in incomings}) == 5


def test_api_url_forms():
    from bot.channels.telegram import api_urls

    assert api_urls("http://127.0.0.1:8081") == ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot")
    assert api_urls("http://127.0.0.1:8081/bot/") == ("http://127.0.0.1:8081/bot", "http://127.0.0.1:8081/file/bot")


def test_split_text_respects_4096_utf16_units():
    text = "\n".join(["客户跟进记录 😀" * 40] * 30)
    parts = split_text(text)
    assert len(parts) > 1
    assert all(len(p.encode("utf-16-le")) // 2 <= 4096 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    assert split_text("短") == ["短"]


async def test_sender_edit_falls_back_and_cached_file_id_is_used(fake, tmp_path):
    bot = make_bot(TOKEN, fake.api_url)
    await bot.initialize()
    cached: list[tuple] = []

    async def file_sent(material_id, platform, file_id):
        cached.append((material_id, platform, file_id))

    sender = TelegramSender(bot, pacer=Pacer(Pacing.unlimited()), file_sent=file_sent)
    path = tmp_path / "价格表.pdf"
    path.write_bytes(b"%PDF-1.4 fake")
    try:
        fake._chat(42)
        doc = FileOut(str(path), material_id=9)
        [m1] = await sender.send(Target("42"), [Reply(file=doc, buttons=[[Button("再来", "m:get:9")]])])
        assert cached == [(9, "telegram", m1.document.file_id)]
        # the second time goes by file id, no upload
        await sender.send(Target("42"), [Reply(file=FileOut(str(path), material_id=9,
                                                          cached_ids={"telegram": m1.document.file_id}))])
        assert fake.calls[-1].params["document"] == m1.document.file_id and len(cached) == 1
        # a stale id is uploaded again and re-cached
        await sender.send(Target("42"), [Reply(file=FileOut(str(path), material_id=9, cached_ids={"telegram": "gone"}))])
        assert len(cached) == 2
        # a button on a document: "edit" cannot change a file's text, so a new message is sent
        out = await sender.send(Target("42", edit_message_id=str(m1.message_id)), [Reply("新内容", edit=True)])
        assert out and out[0].text == "新内容" and out[0].message_id != m1.message_id
        # an edit that changes nothing is not an error
        [m2] = await sender.send(Target("42"), [Reply("卡片")])
        assert await sender.send(Target("42", edit_message_id=str(m2.message_id)), [Reply("卡片", edit=True)]) == []
        # a long reply is split, buttons under the last part
        parts = await sender.send(Target("42"), [Reply("长" * 5000, buttons=[[Button("ok", "x:cancel")]])])
        assert len(parts) == 2 and parts[-1].reply_markup and not parts[0].reply_markup
        # an image goes as a photo
        [photo] = await sender.send(Target("42"), [Reply(image=FileOut(str(path), is_image=True))])
        assert photo.photo
        # a reply addressed to another chat goes there, in its thread
        fake._chat(-1005)
        [other] = await sender.send(Target("42"), [Reply("给经理", chat_id="-1005", thread_id="9")])
        assert other.chat.id == -1005 and fake.calls[-1].params["message_thread_id"] == 9
        # a missing file is logged, the other replies still go out
        out = await sender.send(Target("42"), [Reply(file=FileOut(str(tmp_path / "gone.pdf"))), Reply("之后")])
        assert [m.text for m in out] == ["之后"]
    finally:
        await bot.shutdown()


async def test_a_failing_update_does_not_stop_the_bot(fake, demo_db):
    from bot.router import Router

    class Flaky(Router):
        def process(self, inbox_id):
            with self.db.reader() as s:
                text = s.get(InboxMessage, inbox_id).payload["incoming"]["text"]
            if text == "/boom":
                raise RuntimeError("the database went away")
            return super().process(inbox_id)

    tg = await start_bot(fake, demo_db, router=Flaky(demo_db))
    try:
        chat = await tg.bind(ZHANG, "zhangwei")
        assert await chat.say("/boom") == []
        assert await chat.say("/help")  # the next update is served
        assert not tg.task.done()
    finally:
        await stop_bot(tg)
    # the failed one stays in the inbox as received, so the next start processes it again
    with demo_db.reader() as s:
        assert s.scalar(select(func.count(InboxMessage.id)).where(InboxMessage.status == "received")) == 1


async def test_outbound_for_the_nudge_relay(fake):
    from bot.channels.telegram import TelegramOutbound
    from bot.relay import RetryLater, Undeliverable

    bot = make_bot(TOKEN, fake.api_url)
    async with bot:
        outbound = TelegramOutbound(bot, pacer=Pacer(Pacing.unlimited()))
        nudge = [Reply("⏰ 今天该跟进 钱秀", buttons=[[Button("✔ 完成", "f:done:1:1")]])]
        await outbound.deliver("7001", nudge)
        assert fake.sent(7001)[-1].params["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == "f:done:1:1"

        fake.flood = Flood(rate=1.0, retry_after=7, limit=1)  # the relay reschedules, no sleeping here
        with pytest.raises(RetryLater) as retry:
            await outbound.deliver("7001", nudge)
        assert retry.value.retry_after == 7

        fake.blocked.add(7002)
        with pytest.raises(Undeliverable):
            await outbound.deliver("7002", nudge)
    assert len(fake.sent(7001)) == 1
