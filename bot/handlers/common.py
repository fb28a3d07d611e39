"""Small pieces several handlers share: finding the customer a command names, labels."""
from __future__ import annotations

from bot.context import Context
from bot.format import truncate
from bot.messages import Button, Reply
from core.errors import Ambiguous
from core.models import Customer
from core.services.customers import resolve_customer

MAX_CHOICES = 8


def customer_label(c: Customer, limit: int = 40) -> str:
    return truncate(f"{c.name} #{c.id}", limit)


def choose_customer(ctx: Context, ref: str, payload: str) -> Customer | list[Reply]:
    """The customer `ref` names, or a reply listing the candidates as buttons whose payload is
    `payload` formatted with the id (e.g. "node:show:{id}") when several match equally well."""
    try:
        return resolve_customer(ctx.s, ctx.user, ref)
    except Ambiguous as exc:
        buttons = [[Button(truncate(f"{name} #{cid}", 40), payload.format(id=cid))]
                   for cid, name in (exc.params.get("candidates") or [])[:MAX_CHOICES]]
        return [Reply(ctx.t("customer.which", ref=ref), buttons=buttons)]


def cancel_button(ctx: Context) -> Button:
    return Button(ctx.t("btn.cancel"), "x:cancel")
