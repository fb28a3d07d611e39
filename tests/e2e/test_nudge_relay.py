"""Nudges through the real python-telegram-bot to the fake Bot API: a 429 storm on 30% of the
calls still delivers every nudge exactly once, each retry after Telegram's retry_after."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.channels.pacing import Pacer, Pacing
from bot.channels.telegram import TelegramOutbound, make_bot
from bot.relay import Relay
from core.db import utcnow
from core.models import OutboxMessage, User
from core.services import nudges
from core.services.users import bind_identity
from tests.e2e.fake_telegram import TOKEN, Flood


async def test_429_storm_on_30_percent_of_calls_delivers_every_nudge_once(fake, demo_db):
    morning = (utcnow() + timedelta(days=1)).replace(hour=1, minute=30, second=0, microsecond=0)  # 09:30 Shanghai
    with demo_db.session() as s:
        users = list(s.scalars(select(User).where(User.role.in_(("rep", "manager")))))
        for i, user in enumerate(users):
            bind_identity(s, user, "telegram", str(8000 + i))
        planned = nudges.run_jobs(s, morning)
    queued = [p for p in planned if p.queued]
    assert len(queued) >= 6
    fake.flood = Flood(rate=0.3, retry_after=2)
    clock = {"now": morning}
    bot = make_bot(TOKEN, fake.api_url)
    async with bot:
        relay = Relay(demo_db, [TelegramOutbound(bot, pacer=Pacer(Pacing.telegram()))], now=lambda: clock["now"])
        for _ in range(40):
            report = await relay.relay_once()
            for row_id in report.retried:  # rescheduled no earlier than Telegram asked
                with demo_db.reader() as s:
                    assert s.get(OutboxMessage, row_id).next_attempt_at >= clock["now"] + timedelta(seconds=2)
            with demo_db.reader() as s:
                pending = s.scalars(select(OutboxMessage).where(OutboxMessage.status != "sent")).all()
            if not pending:
                break
            clock["now"] += timedelta(seconds=1)
    with demo_db.reader() as s:
        rows = s.scalars(select(OutboxMessage)).all()
    assert {r.status for r in rows} == {"sent"}
    assert fake.flood.count > 0 and any(r.attempts > 0 for r in rows)
    sent = [c for c in fake.calls if c.method == "sendMessage" and c.status == 200]
    assert len(sent) == len(rows)  # once each: no duplicates after the 429s
