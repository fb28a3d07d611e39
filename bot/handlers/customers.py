"""Customers: /new, /find, /c (the 客户视图 card) and the paged timeline."""
from __future__ import annotations

from bot.context import Context
from bot.format import fmt_percent, truncate
from bot.handlers import button, command
from bot.handlers.common import choose_customer, customer_label
from bot.handlers.render import master_line, timeline_line
from bot.messages import Button, Reply
from core.models.collab import OWN_MODEL_MIN_EACH
from core.services.access import get_customer
from core.services.customers import find_customers
from core.services.timeline import CustomerView, customer_view, timeline

CARD_ACTIVITIES = 5
CARD_ENTRIES = 10  # timeline entries read for the card: follow-ups and orders share the page
TIMELINE_PAGE = 10
FIND_LIMIT = 10


@command("new")
def new_customer(ctx: Context) -> list[Reply]:
    from bot.conversations.new_customer import begin
    return begin(ctx, ctx.arg_text)


@command("find", "f")
def find(ctx: Context) -> list[Reply]:
    if not ctx.arg_text:
        return [ctx.reply("find.usage")]
    return customer_list(ctx, ctx.arg_text, find_customers(ctx.s, ctx.user, ctx.arg_text, limit=FIND_LIMIT))


def customer_list(ctx: Context, query: str, found) -> list[Reply]:
    if not found:
        return [ctx.reply("find.none", query=query)]
    lines = [ctx.t("find.head", query=query, n=len(found))]
    for i, c in enumerate(found, start=1):
        lines.append(ctx.t("find.line", i=i, name=c.name, id=c.id, status=ctx.t(f"status.{c.status}"),
                           owner=c.owner.name if c.owner else "—"))
    buttons = [[Button(customer_label(c, 30), f"c:view:{c.id}") for c in found[i:i + 2]]
               for i in range(0, len(found), 2)]
    return [Reply("\n".join(lines), buttons=buttons)]


@command("c", "customer")
def show_customer(ctx: Context) -> list[Reply]:
    if not ctx.arg_text:
        return [ctx.reply("c.usage")]
    chosen = choose_customer(ctx, ctx.arg_text, "c:view:{id}")
    if isinstance(chosen, list):
        return chosen
    return [card(ctx, customer_view(ctx.s, ctx.user, chosen.id, page_size=CARD_ENTRIES))]


@button("c:view")
def view_button(ctx: Context) -> list[Reply]:
    return [card(ctx, customer_view(ctx.s, ctx.user, int(ctx.args[0]), page_size=CARD_ENTRIES))]


def card_buttons(ctx: Context, customer_id: int) -> list[list[Button]]:
    return [
        [Button(ctx.t("btn.timeline"), f"c:tl:{customer_id}:1"), Button(ctx.t("btn.node"), f"node:show:{customer_id}")],
        [Button(ctx.t("btn.material"), f"m:node:{customer_id}"), Button(ctx.t("btn.orders"), f"o:list:{customer_id}")],
        [Button(ctx.t("btn.log"), f"log:start:{customer_id}")],
    ]


def card(ctx: Context, view: CustomerView) -> Reply:
    c = view.customer
    lines = [ctx.t("card.title", name=c.name, id=c.id),
             ctx.t("card.meta", status=ctx.t(f"status.{c.status}"), owner=view.owner.name,
                   industry=c.industry or "—")]
    if c.contacts:
        contact = c.contacts[0]
        lines.append(ctx.t("card.contact", name=contact.name,
                           detail=" ".join(x for x in (contact.title, contact.phone, contact.email) if x)).rstrip())
    board = view.board
    if board is not None:
        if board.current is not None:
            days = max(0, (ctx.now - board.progress.entered_at).days)
            lines.append(ctx.t("card.node", playbook=board.playbook.name, node=board.current.title, days=days))
        else:
            lines.append(ctx.t("card.node_finished", playbook=board.playbook.name))
    if view.intent is not None:
        trend = view.intent.trend
        arrow = "" if trend is None else ("↑" if trend > 0.005 else "↓" if trend < -0.005 else "→")
        lines.append(ctx.t("card.intent", score=fmt_percent(view.intent.score), arrow=arrow,
                           trend="" if trend is None else fmt_percent(trend, signed=True)).rstrip())
        for reason in (view.intent.reasons or [])[:3]:
            lines.append(f"   · {reason_words(ctx, reason)}")
        if view.intent.from_example_model:
            lines.append(ctx.t("card.intent_example", n=OWN_MODEL_MIN_EACH))
    else:
        lines.append(ctx.t("card.no_intent"))
    activities = [e for e in view.timeline.entries if e.kind == "activity"][:CARD_ACTIVITIES]
    lines.append(ctx.t("card.recent"))
    lines.extend(f"   · {timeline_line(ctx, e, limit=60)}" for e in activities)
    if not activities:
        lines.append("   · " + ctx.t("card.none"))
    lines.append(ctx.t("card.follow_ups"))
    for f in view.follow_ups[:5]:
        overdue = " " + ctx.t("followup.overdue") if f.due_at < ctx.now else ""
        lines.append(f"   · {ctx.when(f.due_at)} {truncate(f.note, 50)}{overdue}")
    if not view.follow_ups:
        lines.append("   · " + ctx.t("card.none"))
    if view.orders:
        lines.append(ctx.t("card.orders"))
        lines.extend(f"   · {master_line(ctx, m)}" for m, _subs in view.orders[:5])
    return Reply("\n".join(lines), buttons=card_buttons(ctx, c.id))


def _timeline_page(ctx: Context, customer_id: int, page: int, *, edit: bool) -> list[Reply]:
    tl = timeline(ctx.s, ctx.user, customer_id, page=page, page_size=TIMELINE_PAGE)
    customer = get_customer(ctx.s, ctx.user, customer_id)
    lines = [ctx.t("timeline.head", name=customer.name, page=tl.page, pages=tl.pages, total=tl.total)]
    lines.extend(timeline_line(ctx, e) for e in tl.entries)
    if not tl.entries:
        lines.append(ctx.t("timeline.empty"))
    nav = []
    if tl.page > 1:
        nav.append(Button(ctx.t("btn.prev"), f"c:tlp:{customer_id}:{tl.page - 1}"))
    if tl.page < tl.pages:
        nav.append(Button(ctx.t("btn.next"), f"c:tlp:{customer_id}:{tl.page + 1}"))
    buttons = [nav] if nav else []
    buttons.append([Button(ctx.t("btn.back_to_card"), f"c:view:{customer_id}")])
    return [Reply("\n".join(lines), buttons=buttons, edit=edit)]


@button("c:tl")
def timeline_button(ctx: Context) -> list[Reply]:
    return _timeline_page(ctx, int(ctx.args[0]), int(ctx.args[1]) if len(ctx.args) > 1 else 1, edit=False)


@button("c:tlp")
def timeline_paging(ctx: Context) -> list[Reply]:
    """Next/previous page: edit the timeline message in place instead of adding another."""
    return _timeline_page(ctx, int(ctx.args[0]), int(ctx.args[1]), edit=True)


def reason_words(ctx: Context, reason) -> str:
    """One of the model's reasons (ml.jobs: leave-one-event-out) in the user's language:
    "试乘试驾完成 +4%", "拜访 (10-22) −7%"."""
    if not isinstance(reason, dict):
        return str(reason)
    if reason.get("kind") == "node":
        what = ctx.t("reason.node", node=reason.get("node", ""), outcome=ctx.t(f"reason.outcome.{reason.get('outcome')}"))
    elif reason.get("kind") == "type":
        what = ctx.t(f"type.{reason.get('type')}")
    else:
        what = reason.get("text", "")
    if reason.get("at"):
        what += f" ({reason['at'][5:10]})"
    delta = reason.get("delta")
    return what + (f" {fmt_percent(delta, signed=True)}" if isinstance(delta, (int, float)) else "")
