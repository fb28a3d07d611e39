"""Free text outside any dialog. A short text is a customer search (with an offer to log it);
a longer one is a note: it becomes a draft activity with the customer, type and follow-up
date read from it, and the log dialog asks only for what is missing before the rep confirms.
A photo or file starts a log too."""
from __future__ import annotations

from bot.context import Context
from bot.conversations import log_activity
from bot.format import truncate
from bot.handlers import command
from bot.handlers.customers import customer_list
from bot.messages import Button, Reply
from core.services.customers import find_customers

SEARCH_MAX_CHARS = 20  # longer text is a note, not a name


@command("_text")
def free_text(ctx: Context) -> list[Reply]:
    incoming = ctx.incoming
    text = incoming.text.strip()
    if incoming.attachments:
        records = [log_activity.attachment_record(ctx, a) for a in incoming.attachments]
        return log_activity.begin(ctx, content=text, attachments=records)
    if not text:
        return [ctx.reply("text.empty")]
    if len(text) > SEARCH_MAX_CHARS:
        return log_activity.begin_from_text(ctx, text)
    log_button = Button(ctx.t("btn.log_this"), f"log:txt:{ctx.inbox_id}")
    found = find_customers(ctx.s, ctx.user, text, limit=8)
    if found:
        replies = customer_list(ctx, text, found)
        replies[-1].buttons.append([log_button])
        return replies
    return [Reply(ctx.t("text.offer_log", text=truncate(text, 80)),
                  buttons=[[log_button], [Button(ctx.t("btn.help"), "help:show")]])]
