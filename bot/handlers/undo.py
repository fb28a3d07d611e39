"""/undo: take back the user's last action (within core's undo window)."""
from __future__ import annotations

from collections import Counter

from bot.context import Context
from bot.handlers import button, command
from bot.messages import Reply
from bot.texts import LANGUAGES
from core.services.undo import undo_last


def _entity_name(ctx: Context, table: str) -> str:
    key = f"undo.entity.{table}"
    return ctx.t(key) if key in LANGUAGES["zh"] else ctx.t("undo.entity.other")


@command("undo")
@button("undo:last")
def undo(ctx: Context) -> list[Reply]:
    result = undo_last(ctx.s, ctx.user)
    counts = Counter(entity for _action, entity, _id in result.summary)
    parts = [ctx.t("undo.item", what=_entity_name(ctx, entity), n=n) for entity, n in counts.items()
             if not entity.endswith("_search_terms") and entity != "node_visits"]  # bookkeeping, not the user's work
    return [ctx.reply("undo.done", what=ctx.t("undo.sep").join(parts), when=ctx.when(result.at))]
