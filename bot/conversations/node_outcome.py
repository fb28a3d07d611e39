"""After done / skip / failed on a node: ask for the outcome note, then finish the node and
show what comes next (the next node's 话术 and its material)."""
from __future__ import annotations

from bot.context import Context
from bot.conversations import conversation
from bot.handlers.common import cancel_button
from bot.messages import Button, Reply
from core.services.material_stats import materials_for_node
from core.services.playbooks import finish_node, node_board

NAME = "node_outcome"
MATERIAL_OFFERS = 3


def begin(ctx: Context, customer_id: int, outcome: str) -> list[Reply]:
    board = node_board(ctx.s, ctx.user, customer_id)
    if board.current is None:
        return [ctx.reply("node.all_done")]
    ctx.start_conversation(NAME, "note", {"customer_id": customer_id, "outcome": outcome,
                                          "node_key": board.current.key, "node_title": board.current.title})
    return [Reply(ctx.t(f"node.ask_note.{outcome}", node=board.current.title, customer=board.customer.name),
                  buttons=[[Button(ctx.t("btn.no_note"), "node:note:-"), cancel_button(ctx)]])]


def entered_node_reply(ctx: Context, board, done_title: str, outcome: str) -> Reply:
    cid = board.customer.id
    lines = [ctx.t(f"node.finished.{outcome}", node=done_title)]
    buttons: list[list[Button]] = []
    current = board.current
    if current is None:
        lines.append(ctx.t("node.all_done"))
    elif outcome == "failed":
        lines.append(ctx.t("node.still_at", node=current.title))
    else:
        lines.append(ctx.t("node.entered", node=current.title))
        if current.script:
            lines += [ctx.t("node.script_head", node=current.title), current.script.strip()]
        offers = [r.material for r in materials_for_node(ctx.s, ctx.user, current.key, board.playbook,
                                                           limit=MATERIAL_OFFERS)]
        if offers:
            lines.append(ctx.t("node.material_offer"))
            buttons += [[Button(f"📎 {m.title}"[:40], f"m:send:{m.id}:{cid}")] for m in offers]
    buttons.append([Button(ctx.t("btn.node"), f"node:show:{cid}"), Button(ctx.t("btn.open_customer"), f"c:view:{cid}")])
    return Reply("\n".join(lines), buttons=buttons)


@conversation(NAME, "node")
def resume(ctx: Context) -> list[Reply]:
    data = dict(ctx.conversation.data)
    if ctx.incoming.payload:
        if ctx.args[:1] != ["note"]:
            return [ctx.reply("node.ask_note_again")]
        note = ""
    else:
        note = ctx.incoming.text.strip()
        if not note:
            return [ctx.reply("node.ask_note_again")]
    cid = int(data["customer_id"])
    ctx.end_conversation()
    current = node_board(ctx.s, ctx.user, cid).current
    if current is None or current.key != data["node_key"]:
        # someone moved this deal on while the note was being typed
        return [ctx.reply("node.changed", node=data["node_title"])]
    board = finish_node(ctx.s, ctx.user, cid, data["outcome"], note, at=ctx.now, source=ctx.source)
    return [entered_node_reply(ctx, board, data["node_title"], data["outcome"])]
