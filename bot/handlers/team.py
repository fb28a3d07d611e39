"""Manager: /team — customers per rep by status, open and overdue follow-ups, last week's work.
A manager's /c works on any team customer through core's visibility rules."""
from __future__ import annotations

from bot.context import Context
from bot.handlers import button, command
from bot.messages import Reply
from core.services.team import team_summary


@command("team")
@button("team:show")
def show_team(ctx: Context) -> list[Reply]:
    rows = team_summary(ctx.s, ctx.user, now=ctx.now)
    if not rows:
        return [ctx.reply("team.empty")]
    lines = [ctx.t("team.head")]
    current_team = object()
    totals = {"customers": 0, "overdue": 0, "open": 0}
    for r in rows:
        if r.team != current_team:
            current_team = r.team
            lines.append(ctx.t("team.team", team=r.team or ctx.t("team.no_team")))
        lines.append(ctx.t("team.line", name=r.user.name, customers=r.customers,
                           lead=r.by_status.get("lead", 0), active=r.by_status.get("active", 0),
                           won=r.by_status.get("won", 0), lost=r.by_status.get("lost", 0),
                           open=r.open_follow_ups, overdue=r.overdue_follow_ups, week=r.activities_7d)
                     + (" ⚠️" if r.overdue_follow_ups else ""))
        totals["customers"] += r.customers
        totals["overdue"] += r.overdue_follow_ups
        totals["open"] += r.open_follow_ups
    lines.append(ctx.t("team.total", **totals))
    return [Reply("\n".join(lines))]
