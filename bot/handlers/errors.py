"""Domain errors as replies: the polite text in the user's language, plus buttons where the
error itself suggests the next step (pick one of several matches, open the existing customer)."""
from __future__ import annotations

from bot.context import Context
from bot.format import truncate
from bot.messages import Button, Reply
from bot.texts import describe_error
from core.errors import Ambiguous, Duplicate, DomainError

MAX_CANDIDATES = 8


def error_replies(ctx: Context, exc: DomainError) -> list[Reply]:
    reply = Reply(describe_error(exc, ctx.locale))
    entity = exc.params.get("entity")
    if isinstance(exc, Ambiguous) and entity == "customer":
        reply.buttons = [[Button(truncate(f"{name} #{cid}", 40), f"c:view:{cid}")]
                         for cid, name in (exc.params.get("candidates") or [])[:MAX_CANDIDATES]]
    elif isinstance(exc, Duplicate) and entity == "customer" and exc.params.get("existing_id"):
        reply.buttons = [[Button(ctx.t("btn.open_customer"), f"c:view:{exc.params['existing_id']}")]]
    return [reply]
