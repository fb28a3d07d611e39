"""Nudges end to end without a platform: decided in core, relayed through an Outbound that
records what a channel would send, and the buttons pressed through the Router."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from bot.relay import Relay, RetryLater, Undeliverable
from core.db import utcnow
from core.models import FollowUp, NudgeMute, OutboxMessage, User
from core.services import nudges
from core.services.activities import add_follow_up
from core.services.customers import set_status
from tests.bot.conftest import Chat, make_chat


class Recorder:
    """A channel's outbound side that keeps what it was asked to send; can fail on demand."""

    platform = "telegram"

    def __init__(self, fail_with: Exception | None = None, times: int = 0):
        self.sent: list[tuple[str, list]] = []
        self.fail_with, self.times = fail_with, times

    async def deliver(self, chat_id, replies):
        if self.times > 0:
            self.times -= 1
            raise self.fail_with
        self.sent.append((chat_id, replies))


def daytime() -> datetime:
    """A moment at 10:30 in Shanghai, after the real now (so follow-ups can be due)."""
    now = utcnow()
    return datetime(now.year, now.month, now.day, 2, 30) + timedelta(days=1)


@pytest.fixture
def reminder(db, customers):
    when = daytime()
    with db.session() as s:
        rep_a = s.scalar(select(User).where(User.login == "rep_a"))
        for key in ("huawei", "huaxia"):
            add_follow_up(s, rep_a, customers[key], when - timedelta(minutes=30), f"回访{key}")
        nudges.plan_reminders(s, [rep_a], when)
    return when


def relay(db, outbound, now):
    return asyncio.run(Relay(db, [outbound], now=lambda: now).relay_once())


def test_reminder_bundle_renders_and_its_buttons_work(db, router, rep_a, customers, reminder):
    recorder = Recorder()
    report = relay(db, recorder, reminder)
    assert len(report.sent) == 1 and len(recorder.sent) == 1
    chat_id, [message] = recorder.sent[0]
    assert chat_id == "rep_a" and "华为技术" in message.text and "华夏银行" in message.text
    rep_a.last = [message]
    payloads = rep_a.payloads()
    done = next(p for p in payloads if p.startswith("n:done"))
    assert "已完成" in rep_a.send(payload=done)[0].text
    rep_a.last = [message]
    other = next(p.split(":")[2] for p in payloads if p.startswith("n:done") and p != done)
    snooze = f"n:snz:{other}:3"
    assert snooze in payloads
    assert "已推迟" in rep_a.send(payload=snooze)[0].text
    with db.reader() as s:
        statuses = sorted(f.status for f in s.scalars(select(FollowUp)))
    assert statuses == ["done", "snoozed"]


def test_snooze_to_a_typed_date_and_mute(db, router, rep_a, customers, reminder):
    recorder = Recorder()
    relay(db, recorder, reminder)
    rep_a.last = recorder.sent[0][1]
    rep_a.press(next(p for p in rep_a.payloads() if p.startswith("n:date")))
    assert "推迟到哪天" in rep_a.text
    assert "没看懂" in rep_a.send("随便")[0].text
    assert "已推迟" in rep_a.send("后天 15:00")[0].text
    rep_a.last = recorder.sent[0][1]
    rep_a.press(next(p for p in rep_a.payloads() if p.startswith("n:mute")))
    assert "不再提醒" in rep_a.text
    with db.reader() as s:
        assert s.scalar(select(NudgeMute.customer_id)) in customers.values()
    rep_a.press(next(p for p in rep_a.payloads() if p.startswith("n:unmute")))
    with db.reader() as s:
        assert s.scalar(select(NudgeMute.id)) is None


def test_english_digest(db, router, bound, customers):
    chat = make_chat(router, "rep_a", "en", db)
    now = daytime()
    with db.session() as s:
        rep_a = s.scalar(select(User).where(User.login == "rep_a"))
        nudges.plan_digests(s, [rep_a], now)
    recorder = Recorder()
    relay(db, recorder, now)
    text = recorder.sent[0][1][0].text
    assert text.startswith("☀️ Good morning") and "华为技术" in text
    chat.last = recorder.sent[0][1]
    assert any(p.startswith("c:view:") for p in chat.payloads())


def test_queued_before_a_crash_is_delivered_once_after_restart(db, bound, customers, reminder):
    # the decision was committed; the process died before any relay ran
    first, second = Recorder(), Recorder()
    relay(db, first, reminder)
    relay(db, second, reminder + timedelta(minutes=1))
    assert len(first.sent) == 1 and second.sent == []


def test_died_mid_delivery_is_retried_after_the_sending_timeout(db, bound, customers, reminder):
    with db.session() as s:  # a relay claimed it and died before settling
        row = s.scalar(select(OutboxMessage))
        row.status, row.next_attempt_at = "sending", reminder
    recorder = Recorder()
    relay(db, recorder, reminder + timedelta(minutes=1))
    assert recorder.sent == []
    relay(db, recorder, reminder + timedelta(minutes=6))
    assert len(recorder.sent) == 1


def test_retry_after_and_permanent_failure(db, bound, customers, reminder):
    recorder = Recorder(RetryLater("429", retry_after=30), times=1)
    report = relay(db, recorder, reminder)
    assert report.retried and not recorder.sent
    assert relay(db, recorder, reminder + timedelta(seconds=10)).sent == []  # not before retry_after
    assert relay(db, recorder, reminder + timedelta(seconds=31)).sent
    with db.session() as s:
        rep_a = s.scalar(select(User).where(User.login == "rep_a"))
        nudges.plan_digests(s, [rep_a], reminder)
    blocked = Recorder(Undeliverable("bot blocked"), times=1)
    assert relay(db, blocked, reminder + timedelta(minutes=1)).failed


def test_quiet_hours_defer_and_closed_customers_drop(db, bound, customers, reminder):
    night = reminder + timedelta(hours=12)  # 22:30 in Shanghai
    recorder = Recorder()
    report = relay(db, recorder, night)
    assert report.deferred and not recorder.sent
    with db.session() as s:
        rep_a = s.scalar(select(User).where(User.login == "rep_a"))
        set_status(s, rep_a, customers["huawei"], "won")
        set_status(s, rep_a, customers["huaxia"], "lost")
    report = relay(db, recorder, reminder + timedelta(hours=22))  # 08:30 next morning
    assert report.dropped and not recorder.sent


def test_two_relays_at_once_send_each_row_once(db, bound, customers, reminder):
    recorder = Recorder()

    async def both():
        r1 = Relay(db, [recorder], now=lambda: reminder)
        r2 = Relay(db, [recorder], now=lambda: reminder)
        return await asyncio.gather(r1.relay_once(), r2.relay_once())

    asyncio.run(both())
    assert len(recorder.sent) == 1
