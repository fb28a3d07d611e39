"""总单-分单: /order CUSTOMER lists the master orders with what remains; new master and new
sub-order are short dialogs (bot/conversations/orders.py)."""
from __future__ import annotations

from bot.context import Context
from bot.conversations import orders as order_dialogs
from bot.format import truncate
from bot.handlers import button, command
from bot.handlers.common import choose_customer
from bot.handlers.render import master_line
from bot.messages import Button, Reply
from core.services.access import get_customer
from core.services.orders import list_orders


def orders_reply(ctx: Context, customer_id: int) -> Reply:
    orders = list_orders(ctx.s, ctx.user, customer_id)
    customer = get_customer(ctx.s, ctx.user, customer_id)
    lines = [ctx.t("order.head", customer=customer.name, n=len(orders))]
    buttons = [[Button(ctx.t("btn.new_master"), f"o:new:{customer_id}")]]
    for master, subs in orders:
        lines.append(master_line(ctx, master, subs))
        if master.status == "open":
            buttons.append([Button(truncate(ctx.t("btn.new_sub", id=master.id, product=master.product), 40),
                                   f"o:sub:{master.id}")])
    if not orders:
        lines.append(ctx.t("order.none"))
    buttons.append([Button(ctx.t("btn.open_customer"), f"c:view:{customer_id}")])
    return Reply("\n".join(lines), buttons=buttons)


@command("order", "orders", "o")
def show_orders(ctx: Context) -> list[Reply]:
    if not ctx.arg_text:
        return [ctx.reply("order.usage")]
    chosen = choose_customer(ctx, ctx.arg_text, "o:list:{id}")
    if isinstance(chosen, list):
        return chosen
    return [orders_reply(ctx, chosen.id)]


@button("o:list")
def orders_button(ctx: Context) -> list[Reply]:
    return [orders_reply(ctx, int(ctx.args[0]))]


@button("o:new")
def new_master(ctx: Context) -> list[Reply]:
    return order_dialogs.begin_master(ctx, int(ctx.args[0]))


@button("o:sub")
def new_sub(ctx: Context) -> list[Reply]:
    return order_dialogs.begin_sub(ctx, int(ctx.args[0]))
