"""New master order (product → total quantity → unit price) and new sub-order (quantity and an
optional delivery date), each showing what remains."""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from bot.context import Context
from bot.conversations import conversation
from bot.dateparse import parse_when
from bot.handlers.errors import error_replies
from bot.messages import Button, Reply
from core.errors import ExceedsRemaining
from core.services.access import get_customer
from core.services.orders import CURRENCIES, create_master_order, create_sub_order, get_master_order

MASTER = "new_master"
SUB = "sub_order"
NUMBER = re.compile(r"\d[\d,，]*(?:\.\d+)?")


def parse_number(text: str) -> tuple[Decimal | None, str]:
    """The first number in the text and the rest ('1,200 USD' → 1200, 'USD')."""
    m = NUMBER.search(text or "")
    if not m:
        return None, text
    try:
        value = Decimal(m[0].replace(",", "").replace(",", ""))
    except InvalidOperation:
        return None, text
    return value, (text[:m.start()] + " " + text[m.end():]).strip()


def _buttons(ctx: Context) -> list[list[Button]]:
    """None on purpose: these prompts expect a number, and a console user types a number to
    press a button; /cancel (named in the prompt) leaves the dialog."""
    return []


def begin_master(ctx: Context, customer_id: int) -> list[Reply]:
    customer = get_customer(ctx.s, ctx.user, customer_id)
    ctx.start_conversation(MASTER, "product", {"customer_id": customer.id, "customer_name": customer.name})
    return [Reply(ctx.t("order.ask_product", customer=customer.name), buttons=_buttons(ctx))]


def begin_sub(ctx: Context, master_id: int) -> list[Reply]:
    master = get_master_order(ctx.s, ctx.user, master_id)
    if master.status != "open":
        return [ctx.reply("order.closed", id=master.id, status=ctx.t(f"order.status.{master.status}"))]
    ctx.start_conversation(SUB, "quantity", {"master_id": master.id, "customer_id": master.customer_id})
    return [Reply(ctx.t("order.ask_sub_quantity", id=master.id, product=master.product,
                        remaining=ctx.number(master.remaining_quantity), total=ctx.number(master.total_quantity)),
                  buttons=_buttons(ctx))]


@conversation(MASTER, "om")
def resume_master(ctx: Context) -> list[Reply]:
    data = dict(ctx.conversation.data)
    text = ctx.incoming.text.strip()
    step = ctx.conversation.step
    if step == "product":
        if not text:
            return [Reply(ctx.t("order.ask_product", customer=data["customer_name"]), buttons=_buttons(ctx))]
        data["product"] = text
        ctx.save_conversation("quantity", data)
        return [Reply(ctx.t("order.ask_total", product=text), buttons=_buttons(ctx))]
    if step == "quantity":
        quantity, _ = parse_number(text)
        if quantity is None or quantity <= 0:
            return [Reply(ctx.t("order.bad_number", text=text) + "\n" + ctx.t("order.ask_total", product=data["product"]),
                          buttons=_buttons(ctx))]
        data["total_quantity"] = str(quantity)
        ctx.save_conversation("price", data)
        return [Reply(ctx.t("order.ask_price", currencies=" ".join(CURRENCIES)), buttons=_buttons(ctx))]
    price, rest = parse_number(text)
    if price is None:
        return [Reply(ctx.t("order.bad_number", text=text) + "\n" + ctx.t("order.ask_price", currencies=" ".join(CURRENCIES)),
                      buttons=_buttons(ctx))]
    currency = next((c for c in CURRENCIES if c.lower() in rest.lower()), None)
    if currency is None:
        currency = "USD" if "$" in rest else "CNY"
    master = create_master_order(ctx.s, ctx.user, int(data["customer_id"]), data["product"],
                                 Decimal(data["total_quantity"]), price, currency)
    ctx.end_conversation()
    return [Reply(ctx.t("order.master_created", id=master.id, product=master.product,
                        total=ctx.number(master.total_quantity), price=ctx.money(master.unit_price, master.currency),
                        amount=ctx.money(master.total_quantity * master.unit_price, master.currency)),
                  buttons=[[Button(ctx.t("btn.new_sub", id=master.id, product=master.product)[:40], f"o:sub:{master.id}"),
                            Button(ctx.t("btn.orders"), f"o:list:{master.customer_id}")]])]


@conversation(SUB, "os")
def resume_sub(ctx: Context) -> list[Reply]:
    data = dict(ctx.conversation.data)
    text = ctx.incoming.text.strip()
    quantity, rest = parse_number(text)
    master = get_master_order(ctx.s, ctx.user, int(data["master_id"]))
    if quantity is None or quantity <= 0:
        return [Reply(ctx.t("order.bad_number", text=text) + "\n" +
                      ctx.t("order.ask_sub_quantity", id=master.id, product=master.product,
                            remaining=ctx.number(master.remaining_quantity), total=ctx.number(master.total_quantity)),
                      buttons=_buttons(ctx))]
    delivery = parse_when(rest, ctx.now_local) if rest else None
    delivery_date = delivery.date() if hasattr(delivery, "date") else None
    try:
        with ctx.s.begin_nested():
            sub = create_sub_order(ctx.s, ctx.user, master.id, quantity, delivery_date)
    except ExceedsRemaining as exc:  # stay in the dialog: the rep can type a smaller quantity
        return error_replies(ctx, exc) + [Reply(ctx.t("order.try_again"), buttons=_buttons(ctx))]
    ctx.end_conversation()
    ctx.s.refresh(master)
    return [Reply(ctx.t("order.sub_created", id=sub.id, quantity=ctx.number(sub.quantity), product=master.product,
                        remaining=ctx.number(master.remaining_quantity), total=ctx.number(master.total_quantity)),
                  buttons=[[Button(ctx.t("btn.orders"), f"o:list:{master.customer_id}")]])]
