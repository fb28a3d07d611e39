"""Snooze a reminder to a date the rep types ("下周三", "12月20日", "2026-12-20 15:00")."""
from __future__ import annotations

from bot.context import Context
from bot.conversations import conversation
from bot.dateparse import parse_when
from bot.format import to_utc
from bot.handlers.common import cancel_button
from bot.messages import Reply
from core.services.activities import snooze_follow_up

NAME = "snooze_date"


def begin(ctx: Context, follow_up_id: int) -> list[Reply]:
    ctx.start_conversation(NAME, "date", {"follow_up_id": follow_up_id})
    return [Reply(ctx.t("nudge.ask_date"), buttons=[[cancel_button(ctx)]])]


@conversation(NAME, "snz")
def resume(ctx: Context) -> list[Reply]:
    when = parse_when(ctx.incoming.text, ctx.now_local)
    if when is None or isinstance(when, str) or to_utc(when) <= ctx.now:
        return [Reply(ctx.t("nudge.ask_date_again"), buttons=[[cancel_button(ctx)]])]
    follow_up_id = int(ctx.conversation.data["follow_up_id"])
    ctx.end_conversation()
    until = to_utc(when)
    follow_up = snooze_follow_up(ctx.s, ctx.user, follow_up_id, until)
    from core.models import Customer

    return [ctx.reply("nudge.snoozed", customer=ctx.s.get(Customer, follow_up.customer_id).name,
                      when=ctx.when(until))]
