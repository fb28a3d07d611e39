"""三一客: /node shows ✔ done ▶ current ○ next; done / skip / failed ask for an outcome note
(bot/conversations/node_outcome.py); entering a node shows its 话术 and offers its material."""
from __future__ import annotations

from bot.context import Context
from bot.conversations import node_outcome
from bot.handlers import button, command
from bot.handlers.common import choose_customer
from bot.handlers.render import board_lines
from bot.messages import Button, Reply
from core.services.playbooks import NodeBoard, node_board


def board_reply(ctx: Context, board: NodeBoard, *, edit: bool = False) -> Reply:
    cid = board.customer.id
    lines = board_lines(ctx, board)
    buttons: list[list[Button]] = []
    if board.current is not None:
        if board.current.script:
            lines += ["", ctx.t("node.script_head", node=board.current.title), board.current.script.strip()]
        buttons.append([Button(ctx.t("btn.node_done"), f"node:done:{cid}"),
                        Button(ctx.t("btn.node_skip"), f"node:skip:{cid}"),
                        Button(ctx.t("btn.node_fail"), f"node:fail:{cid}")])
    buttons.append([Button(ctx.t("btn.material"), f"m:node:{cid}"), Button(ctx.t("btn.open_customer"), f"c:view:{cid}")])
    return Reply("\n".join(lines), buttons=buttons, edit=edit)


@command("node", "n")
def show_nodes(ctx: Context) -> list[Reply]:
    if not ctx.arg_text:
        return [ctx.reply("node.usage")]
    chosen = choose_customer(ctx, ctx.arg_text, "node:show:{id}")
    if isinstance(chosen, list):
        return chosen
    return [board_reply(ctx, node_board(ctx.s, ctx.user, chosen.id))]


@button("node:show")
def show_nodes_button(ctx: Context) -> list[Reply]:
    return [board_reply(ctx, node_board(ctx.s, ctx.user, int(ctx.args[0])))]


@button("node:done", "node:skip", "node:fail")
def finish_current(ctx: Context) -> list[Reply]:
    outcome = {"done": "done", "skip": "skipped", "fail": "failed"}[ctx.incoming.payload.split(":")[1]]
    return node_outcome.begin(ctx, int(ctx.args[0]), outcome)
