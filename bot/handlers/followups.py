"""/today: follow-ups due today and overdue, with done / snooze (1 day, 3 days) buttons."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from bot.context import Context
from bot.format import to_utc, truncate
from bot.handlers import button, command
from bot.messages import Button, Reply
from core.models import Customer, FollowUp
from core.services.activities import complete_follow_up, open_follow_ups, snooze_follow_up
from core.services.timeline import latest_scores

PAGE_SIZE = 8
SNOOZE_TIME = time(9, 0)


def _end_of_today(ctx: Context) -> datetime:
    local = ctx.now_local
    return to_utc(datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=local.tzinfo))


def today_reply(ctx: Context, page: int = 1, *, notice: str = "", edit: bool = False) -> Reply:
    due = open_follow_ups(ctx.s, ctx.user, due_before=_end_of_today(ctx))
    overdue = sum(1 for f in due if f.due_at < ctx.now)
    pages = max(1, -(-len(due) // PAGE_SIZE))
    page = min(max(1, page), pages)
    lines = [notice] if notice else []
    if not due:
        lines.append(ctx.t("today.none"))
        return Reply("\n".join(lines), edit=edit)
    lines.append(ctx.t("today.head", n=len(due), overdue=overdue, page=page, pages=pages))
    buttons: list[list[Button]] = []
    start = (page - 1) * PAGE_SIZE
    shown = due[start:start + PAGE_SIZE]
    ids = list({f.customer_id for f in shown})
    names = dict(ctx.s.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all())
    scores = latest_scores(ctx.s, ids)
    for i, f in enumerate(shown, start=start + 1):
        state = (ctx.t("today.overdue_days", days=max(1, (ctx.now - f.due_at).days))
                 if f.due_at < ctx.now else ctx.t("today.due_at", when=ctx.when(f.due_at)))
        score = f" · 🎯{round(scores[f.customer_id] * 100)}%" if f.customer_id in scores else ""
        lines.append(ctx.t("today.line", i=i, customer=names[f.customer_id], note=truncate(f.note, 40) or "—",
                           state=state) + score)
        buttons.append([Button(f"✔ {i}", f"f:done:{f.id}:{page}"),
                        Button(ctx.t("btn.snooze", days=1, i=i), f"f:snz:{f.id}:1:{page}"),
                        Button(ctx.t("btn.snooze", days=3, i=i), f"f:snz:{f.id}:3:{page}"),
                        Button(f"👤 {i}", f"c:view:{f.customer_id}")])
    nav = []
    if page > 1:
        nav.append(Button(ctx.t("btn.prev"), f"f:page:{page - 1}"))
    if page < pages:
        nav.append(Button(ctx.t("btn.next"), f"f:page:{page + 1}"))
    if nav:
        buttons.append(nav)
    return Reply("\n".join(lines), buttons=buttons, edit=edit)


@command("today", "t")
def today(ctx: Context) -> list[Reply]:
    return [today_reply(ctx)]


@button("f:page")
def page_button(ctx: Context) -> list[Reply]:
    return [today_reply(ctx, int(ctx.args[0]), edit=True)]


def _customer_name(ctx: Context, follow_up: FollowUp) -> str:
    return ctx.s.get(Customer, follow_up.customer_id).name


@button("f:done")
def done(ctx: Context) -> list[Reply]:
    follow_up = complete_follow_up(ctx.s, ctx.user, int(ctx.args[0]), at=ctx.now)
    page = int(ctx.args[1]) if len(ctx.args) > 1 else 1
    notice = ctx.t("today.done", customer=_customer_name(ctx, follow_up))
    return [today_reply(ctx, page, notice=notice, edit=True)]


@button("f:snz")
def snooze(ctx: Context) -> list[Reply]:
    days = int(ctx.args[1]) if len(ctx.args) > 1 else 1
    page = int(ctx.args[2]) if len(ctx.args) > 2 else 1
    local = ctx.now_local
    until = to_utc(datetime.combine(local.date() + timedelta(days=days), SNOOZE_TIME, tzinfo=local.tzinfo))
    follow_up = snooze_follow_up(ctx.s, ctx.user, int(ctx.args[0]), until)
    notice = ctx.t("today.snoozed", customer=_customer_name(ctx, follow_up), when=ctx.when(until))
    return [today_reply(ctx, page, notice=notice, edit=True)]
