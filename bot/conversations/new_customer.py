"""/new: ask for what is missing (the name, then an optional contact), then create."""
from __future__ import annotations

import re

from bot.context import Context
from bot.conversations import conversation
from bot.handlers.common import cancel_button
from bot.messages import Button, Reply
from bot.handlers.errors import error_replies
from core.errors import Duplicate
from core.services.customers import create_customer

NAME = "new_customer"
PHONE = re.compile(r"\+?\d[\d\- ]{5,}\d")
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def begin(ctx: Context, name: str) -> list[Reply]:
    name = name.strip()
    if not name:
        ctx.start_conversation(NAME, "name")
        return [Reply(ctx.t("new.ask_name"), buttons=[[cancel_button(ctx)]])]
    ctx.start_conversation(NAME, "contact", {"name": name})
    return [_ask_contact(ctx, name)]


def _ask_contact(ctx: Context, name: str) -> Reply:
    return Reply(ctx.t("new.ask_contact", name=name),
                 buttons=[[Button(ctx.t("btn.skip"), "new:skip"), cancel_button(ctx)]])


def parse_contact(text: str) -> dict | None:
    """'张总 13800000000 zhang@x.com' → {name, phone, email}; the rest of the words are the name
    and a title in brackets: '王经理(采购)'."""
    text = text.strip()
    if not text:
        return None
    phone = PHONE.search(text)
    email = EMAIL.search(text)
    rest = text
    for m in (phone, email):
        if m:
            rest = rest.replace(m[0], " ")
    title = None
    bracket = re.search(r"[(（]([^)）]+)[)）]", rest)
    if bracket:
        title = bracket[1].strip()
        rest = rest.replace(bracket[0], " ")
    name = " ".join(rest.replace(",", " ").replace(",", " ").split())
    if not name:
        return None
    return {"name": name, "title": title, "phone": phone[0].replace(" ", "") if phone else None,
            "email": email[0] if email else None}


@conversation(NAME, "new")
def resume(ctx: Context) -> list[Reply]:
    state = ctx.conversation
    data = dict(state.data)
    text = ctx.incoming.text.strip()
    if state.step == "name":
        if not text:
            return [Reply(ctx.t("new.ask_name"), buttons=[[cancel_button(ctx)]])]
        data["name"] = text
        ctx.save_conversation("contact", data)
        return [_ask_contact(ctx, text)]
    # step "contact"
    contact = None
    if ctx.args[:1] != ["skip"]:
        contact = parse_contact(text)
        if contact is None:
            return [_ask_contact(ctx, data["name"])]
    try:
        with ctx.s.begin_nested():
            customer = create_customer(ctx.s, ctx.user, data["name"], contact=contact)
    except Duplicate as exc:  # asking again would not help: end the dialog, offer the existing one
        ctx.end_conversation()
        return error_replies(ctx, exc)
    ctx.end_conversation()
    return [Reply(ctx.t("new.created", name=customer.name, id=customer.id),
                  buttons=[[Button(ctx.t("btn.open_customer"), f"c:view:{customer.id}"),
                            Button(ctx.t("btn.log"), f"log:start:{customer.id}")]])]
