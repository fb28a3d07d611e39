"""Proactive messages: how a queued nudge (an outbox payload decided by core.services.nudges)
reads in the user's language, and what its buttons do — done, snooze 1 day / 3 days / a date,
open the customer, stop reminding about this customer."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

from bot import format as fmt
from bot.context import Context
from bot.format import to_utc, truncate
from bot.handlers import button
from bot.messages import Button, Reply
from bot.texts import t
from core.models import Customer, User
from core.services.activities import complete_follow_up, snooze_follow_up
from core.services.nudges import mute_customer, unmute_customer

SNOOZE_TIME = time(9, 0)


class _Voice:
    """Text and formatting for one user outside a chat exchange (no Incoming)."""

    def __init__(self, user: User, now: datetime):
        self.locale, self.tz, self.now = user.locale, fmt.zone(user.timezone), now

    def t(self, key: str, **params) -> str:
        return t(self.locale, key, **params)

    def when(self, utc_naive: datetime) -> str:
        return fmt.fmt_datetime(utc_naive, self.tz, self.locale, now=self.now)

    def day(self, iso: str) -> str:
        return fmt.fmt_date(date.fromisoformat(iso), self.locale, today=fmt.to_local(self.now, self.tz).date())


def reason_text(v: _Voice, reason: dict) -> str:
    kind = reason.get("kind")
    if kind == "score":
        return v.t("nudge.reason.score", score=round(reason["score"] * 100))
    if kind == "delivery":
        return v.t("nudge.reason.delivery", date=v.day(reason["date"]))
    if kind == "stale":
        return v.t("nudge.reason.stale", days=reason["days"], node=reason.get("node") or "—", dwell=reason["dwell"])
    return v.t(f"nudge.reason.{kind}", **{k: val for k, val in reason.items() if k != "kind"})


def _item_line(v: _Voice, i: int, item: dict) -> str:
    reasons = " · ".join(reason_text(v, r) for r in item.get("reasons", [])) or v.t("nudge.reason.none")
    return v.t("nudge.item", i=i, name=item["name"], reasons=reasons)


def render(payload: dict, user: User, now: datetime) -> list[Reply]:
    """The chat message(s) for one outbox payload."""
    v = _Voice(user, now)
    kind = payload.get("kind")
    items = payload.get("items", [])
    if kind == "digest":
        lines = [v.t("nudge.digest.head", n=len(items))]
        lines += [_item_line(v, i, item) for i, item in enumerate(items, 1)]
        buttons = [[Button(f"👤 {i}", f"c:view:{item['customer_id']}"),
                    Button(f"📝 {i}", f"log:start:{item['customer_id']}"),
                    Button(f"🔕 {i}", f"n:mute:{item['customer_id']}")] for i, item in enumerate(items, 1)]
        return [Reply("\n".join(lines), buttons=buttons)]
    if kind == "reminder":
        lines = [v.t("nudge.reminder.head", n=len(items))]
        buttons: list[list[Button]] = []
        for i, item in enumerate(items, 1):
            lines.append(v.t("nudge.reminder.item", i=i, name=item["name"], note=truncate(item.get("note") or "", 60) or "—",
                             when=v.when(datetime.fromisoformat(item["due_at"]))))
            fid, cid = item["follow_up_id"], item["customer_id"]
            buttons.append([Button(f"✔ {i}", f"n:done:{fid}"), Button(v.t("nudge.btn.snooze", days=1, i=i), f"n:snz:{fid}:1"),
                            Button(v.t("nudge.btn.snooze", days=3, i=i), f"n:snz:{fid}:3")])
            buttons.append([Button(f"📅 {i}", f"n:date:{fid}"), Button(f"👤 {i}", f"c:view:{cid}"),
                            Button(f"🔕 {i}", f"n:mute:{cid}")])
        return [Reply("\n".join(lines), buttons=buttons)]
    if kind == "stale_hot":
        item = items[0]
        reasons = " · ".join(reason_text(v, r) for r in item.get("reasons", []))
        cid = item["customer_id"]
        return [Reply(v.t("nudge.stale_hot", name=item["name"], reasons=reasons),
                      buttons=[[Button(v.t("btn.open_customer"), f"c:view:{cid}"),
                                Button(v.t("btn.log"), f"log:start:{cid}"),
                                Button(v.t("nudge.btn.mute"), f"n:mute:{cid}")]])]
    if kind == "manager_digest":
        lines = [v.t("nudge.manager.head")]
        stuck = payload.get("stuck")
        if stuck:
            lines.append(v.t("nudge.manager.stuck", node=stuck.get("node_title") or stuck.get("node") or "—"))
        if payload.get("overdue"):
            lines.append(v.t("nudge.manager.overdue_head"))
            lines += [v.t("nudge.manager.overdue_line", name=r["name"], n=r["count"]) for r in payload["overdue"]]
        return [Reply("\n".join(lines), buttons=[[Button(v.t("nudge.btn.team"), "team:show")]])]
    return [Reply(v.t("nudge.unknown"))]


def _name(ctx: Context, customer_id: int) -> str:
    customer = ctx.s.get(Customer, customer_id)
    return customer.name if customer else f"#{customer_id}"


@button("n:done")
def done(ctx: Context) -> list[Reply]:
    follow_up = complete_follow_up(ctx.s, ctx.user, int(ctx.args[0]), at=ctx.now)
    return [ctx.reply("nudge.done", customer=_name(ctx, follow_up.customer_id))]


def snooze_until(ctx: Context, days: int) -> datetime:
    local = ctx.now_local
    return to_utc(datetime.combine(local.date() + timedelta(days=days), SNOOZE_TIME, tzinfo=local.tzinfo))


@button("n:snz")
def snooze(ctx: Context) -> list[Reply]:
    until = snooze_until(ctx, int(ctx.args[1]) if len(ctx.args) > 1 else 1)
    follow_up = snooze_follow_up(ctx.s, ctx.user, int(ctx.args[0]), until)
    return [ctx.reply("nudge.snoozed", customer=_name(ctx, follow_up.customer_id), when=ctx.when(until))]


@button("n:date")
def snooze_to_a_date(ctx: Context) -> list[Reply]:
    from bot.conversations.snooze_date import begin

    return begin(ctx, int(ctx.args[0]))


@button("n:mute")
def mute(ctx: Context) -> list[Reply]:
    cid = int(ctx.args[0])
    mute_customer(ctx.s, ctx.user, cid)
    return [ctx.reply("nudge.muted", customer=_name(ctx, cid),
                      buttons=[[Button(ctx.t("nudge.btn.unmute"), f"n:unmute:{cid}")]])]


@button("n:unmute")
def unmute(ctx: Context) -> list[Reply]:
    cid = int(ctx.args[0])
    unmute_customer(ctx.s, ctx.user, cid)
    return [ctx.reply("nudge.unmuted", customer=_name(ctx, cid))]
