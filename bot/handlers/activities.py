"""跟单: /log starts the log dialog (bot/conversations/log_activity.py), from a command, from the
customer card's button, or from a free-text note the bot offered to log."""
from __future__ import annotations

from bot.context import Context
from bot.conversations import log_activity
from bot.handlers import button, command
from bot.handlers.common import choose_customer
from bot.messages import Incoming, Reply
from core.models import InboxMessage


@command("log", "l")
def log(ctx: Context) -> list[Reply]:
    if not ctx.arg_text:
        return log_activity.begin(ctx)
    chosen = choose_customer(ctx, ctx.arg_text, "log:start:{id}")
    if isinstance(chosen, list):
        return chosen
    return log_activity.begin(ctx, customer_id=chosen.id)


@button("log:start")
def log_button(ctx: Context) -> list[Reply]:
    return log_activity.begin(ctx, customer_id=int(ctx.args[0]) if ctx.args and ctx.args[0] else None)


@button("log:txt")
def log_from_text(ctx: Context) -> list[Reply]:
    """The payload points at the inbox row of the note (the text itself would not fit in 64 bytes)."""
    row = ctx.s.get(InboxMessage, int(ctx.args[0])) if ctx.args and ctx.args[0].isdigit() else None
    original = Incoming.from_dict(row.payload["incoming"]) if row is not None else None
    if original is None or original.platform != ctx.incoming.platform \
            or str(original.sender_id) != str(ctx.incoming.sender_id):
        return [ctx.reply("conv.stale_button")]
    attachments = [log_activity.attachment_record(ctx, a) for a in original.attachments]
    return log_activity.begin_from_text(ctx, original.text.strip(), attachments)
