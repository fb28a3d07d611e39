"""/top: my prospects ranked by the AI intent score (AI潜客意向判断), with the trend."""
from __future__ import annotations

from bot.context import Context
from bot.format import fmt_percent, truncate
from bot.handlers import command
from bot.messages import Button, Reply
from core.services.intent import top_prospects

TOP = 10


@command("top")
def top(ctx: Context) -> list[Reply]:
    team = ctx.user.role in ("manager", "admin") and ctx.arg_text.strip().lower() in ("team", "团队")
    prospects = top_prospects(ctx.s, ctx.user, TOP, mine_only=not team)
    if not prospects:
        return [ctx.reply("top.none")]
    lines = [ctx.t("top.head.team" if team else "top.head", n=len(prospects))]
    buttons = []
    for i, p in enumerate(prospects, 1):
        trend = "" if p.previous is None else ("↑" if p.score > p.previous + 0.005 else
                                               "↓" if p.score < p.previous - 0.005 else "→")
        lines.append(ctx.t("top.line", i=i, name=truncate(p.customer.name, 24), score=fmt_percent(p.score),
                           trend=trend))
        buttons.append(Button(f"👤 {i}", f"c:view:{p.customer.id}"))
    rows = [buttons[i:i + 5] for i in range(0, len(buttons), 5)]
    return [Reply("\n".join(lines), buttons=rows)]
