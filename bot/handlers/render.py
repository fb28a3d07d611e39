"""Text for the things several handlers show: timeline lines, the node board, order lines."""
from __future__ import annotations

from bot.context import Context
from bot.format import fmt_date, truncate
from core.models import MasterOrder, SubOrder
from core.services.playbooks import NodeBoard
from core.services.timeline import TimelineEntry

STATE_MARKS = {"done": "✔", "current": "▶", "next": "○", "skipped": "⏭", "failed": "✖"}


def type_label(ctx: Context, activity_type: str) -> str:
    return ctx.t(f"type.{activity_type}")


def node_change_text(ctx: Context, content: str) -> str:
    """Core writes node changes as 'outcome:title — note'; show them in the user's words."""
    outcome, _, rest = content.partition(":")
    title, _, note = rest.partition(" — ")
    text = ctx.t(f"node.change.{outcome}", title=title) if outcome in STATE_MARKS or outcome == "entered" \
        else content
    return text + (f" — {note}" if note else "")


def timeline_line(ctx: Context, e: TimelineEntry, *, limit: int = 120) -> str:
    when = ctx.when(e.at)
    if e.kind == "activity":
        content = node_change_text(ctx, e.content) if e.type == "node_change" else e.content
        line = ctx.t("timeline.activity", when=when, type=type_label(ctx, e.type),
                     content=truncate(content, limit) or "—")
        if e.amount is not None:
            line += f" ({ctx.money(e.amount)})"
        if e.attachments:
            line += " " + ctx.t("timeline.attachments", n=len(e.attachments))
        return line
    if e.kind == "follow_up":
        return f"{when} ⏰ " + ctx.t("timeline.follow_up", status=ctx.t(f"follow_up.status.{e.type}"),
                                     note=truncate(e.content, limit))
    if e.kind == "master_order":
        return f"{when} 📦 " + ctx.t("timeline.master_order", product=e.content, amount=ctx.money(e.amount))
    return f"{when} 📦 " + ctx.t("timeline.sub_order", product=e.content, quantity=ctx.number(e.amount))


def board_lines(ctx: Context, board: NodeBoard) -> list[str]:
    lines = [ctx.t("node.board_head", customer=board.customer.name, playbook=board.playbook.name)]
    for i, state in enumerate(board.nodes, start=1):
        line = f"{STATE_MARKS[state.state]} {i}. {state.node.title}"
        if state.state == "current" and state.entered_at is not None:
            days = max(0, (ctx.now - state.entered_at).days)
            line += " " + ctx.t("node.dwell", days=days, expected=state.node.expected_dwell_days)
        elif state.state in ("done", "skipped", "failed") and state.note:
            line += f" — {truncate(state.note, 60)}"
        lines.append(line)
    if board.current is None:
        lines.append(ctx.t("node.all_done"))
    return lines


def master_line(ctx: Context, m: MasterOrder, subs: list[SubOrder] | None = None) -> str:
    line = ctx.t("order.master_line", id=m.id, product=m.product, total=ctx.number(m.total_quantity),
                 allocated=ctx.number(m.allocated_quantity), remaining=ctx.number(m.remaining_quantity),
                 price=ctx.money(m.unit_price, m.currency),
                 amount=ctx.money(m.total_quantity * m.unit_price, m.currency),
                 status=ctx.t(f"order.status.{m.status}"))
    for sub in subs or []:
        date = (ctx.t("order.no_date") if sub.delivery_date is None
                else fmt_date(sub.delivery_date, ctx.locale, today=ctx.now_local.date()))
        line += "\n    " + ctx.t("order.sub_line", id=sub.id, quantity=ctx.number(sub.quantity), date=date,
                                  status=ctx.t(f"order.sub_status.{sub.status}"))
    return line
