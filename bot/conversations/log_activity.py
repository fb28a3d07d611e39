"""/log: type → customer → content → next follow-up → a draft card to save or change.
Photos and files sent while the dialog is open go onto the activity. Saving is idempotent on
the confirming message (source = platform + message id)."""
from __future__ import annotations

from datetime import datetime

from bot.context import Context
from bot.conversations import conversation
from bot.dateparse import NO_DATE, find_when, parse_when
from bot.format import to_utc, truncate
from bot.handlers.common import cancel_button, customer_label
from bot.messages import Attachment, Button, Reply
from core.search import normalise
from core.services.access import get_customer
from core.services.activities import log_activity
from core.services.customers import find_customers, list_customers

NAME = "log_activity"
STEPS = ("type", "customer", "content", "follow")
TYPES = ("visit", "call", "meeting", "sms", "email", "need", "proposal", "quote", "contract", "feedback",
         "order", "note")
# Words that name an activity type, in either language (for typed answers and one-message logs).
TYPE_WORDS = {
    "visit": ("拜访", "上门", "到店", "见面", "面谈", "visit"),
    "call": ("电话", "来电", "通话", "打给", "call", "phone"),
    "meeting": ("开会", "会议", "会谈", "meeting", "meet"),
    "sms": ("短信", "微信", "sms", "wechat", "message", "text"),
    "email": ("邮件", "email", "e-mail", "mail"),
    "need": ("需求", "need", "requirement"),
    "proposal": ("方案", "proposal", "recommend"),
    "quote": ("报价", "quote", "quotation", "price"),
    "contract": ("合同", "contract"),
    "feedback": ("反馈", "feedback"),
    "order": ("下单", "订单", "order"),
    "note": ("备注", "笔记", "note"),
}
FOLLOW_CHOICES = ((1, "btn.fu_tomorrow"), (3, "btn.fu_3days"), (7, "btn.fu_week"), (0, "btn.fu_none"))
NAME_SUFFIXES = ("股份有限公司", "有限责任公司", "有限公司", "集团", "公司")
MAX_CHOICES = 6


# ---------------------------------------------------------------- understanding free text
def guess_type(text: str) -> str | None:
    low = (text or "").lower()
    best = None
    for activity_type, words in TYPE_WORDS.items():
        for word in words:
            pos = low.find(word)
            if pos >= 0 and (best is None or pos < best[0]):
                best = (pos, activity_type)
    return best[1] if best else None


def type_from_answer(ctx: Context, text: str) -> str | None:
    low = text.strip().lower()
    for activity_type in TYPES:
        if low in (activity_type, ctx.t(f"type.{activity_type}").lower()):
            return activity_type
    return guess_type(low)


def guess_customer(ctx: Context, text: str) -> int | None:
    """The one visible customer whose name (or its core, 恒通科技有限公司 → 恒通科技) appears in
    the note; None when no name or several equally long names appear."""
    haystack = normalise(text)
    best: list[tuple[int, int]] = []
    for c in list_customers(ctx.s, ctx.user):
        forms = {normalise(c.name), *(normalise(a) for a in c.aliases or [])}
        for form in list(forms):
            for suffix in NAME_SUFFIXES:
                if form.endswith(suffix) and len(form) - len(suffix) >= 2:
                    forms.add(form[: -len(suffix)])
        hits = [len(f) for f in forms if len(f) >= 2 and f in haystack]
        if hits:
            best.append((max(hits), c.id))
    if not best:
        return None
    best.sort(reverse=True)
    if len(best) > 1 and best[0][0] == best[1][0]:
        return None
    return best[0][1]


def attachment_record(ctx: Context, a: Attachment) -> dict:
    return {"kind": a.kind, "name": a.name, "path": a.local_path, "platform": ctx.incoming.platform,
            "file_id": a.file_id, "mime_type": a.mime_type, "size": a.size}


# ---------------------------------------------------------------- entry points
def begin(ctx: Context, *, customer_id: int | None = None, content: str = "", activity_type: str | None = None,
          follow_up: str | None = None, attachments: list[dict] | None = None) -> list[Reply]:
    data: dict = {"attachments": list(attachments or [])}
    if customer_id is not None:
        customer = get_customer(ctx.s, ctx.user, customer_id)
        data.update(customer_id=customer.id, customer_name=customer.name)
    if content:
        data["content"] = content
    if activity_type:
        data["type"] = activity_type
    if follow_up:
        data["follow_up"] = follow_up
    ctx.start_conversation(NAME, "type", data)
    return _next(ctx, data)


def begin_from_text(ctx: Context, text: str, attachments: list[dict] | None = None) -> list[Reply]:
    """One message ("今天拜访了华为张总,聊了报价,下周三再跟进") → a draft with what could be read
    from it; the dialog asks only for the rest."""
    when = find_when(text, ctx.now_local) if text else None
    return begin(ctx, customer_id=guess_customer(ctx, text) if text else None, content=text,
                 activity_type=guess_type(text) if text else None,
                 follow_up=to_utc(when).isoformat() if when else None, attachments=attachments)


# ---------------------------------------------------------------- the steps
def _missing(data: dict) -> str:
    for step, key in (("type", "type"), ("customer", "customer_id"), ("content", "content"),
                      ("follow", "follow_up")):
        if key not in data:
            return step
    return "confirm"


def _next(ctx: Context, data: dict, prefix: list[Reply] | None = None) -> list[Reply]:
    step = _missing(data)
    ctx.save_conversation(step, data)
    return (prefix or []) + [_prompt(ctx, step, data)]


def _prompt(ctx: Context, step: str, data: dict) -> Reply:
    if step == "type":
        buttons = [[Button(ctx.t(f"type.{t}"), f"log:type:{t}") for t in TYPES[i:i + 4]]
                   for i in range(0, len(TYPES), 4)]
        return Reply(ctx.t("log.ask_type"), buttons=buttons + [[cancel_button(ctx)]])
    if step == "customer":
        return Reply(ctx.t("log.ask_customer"), buttons=[[cancel_button(ctx)]])
    if step == "content":
        return Reply(ctx.t("log.ask_content", customer=data.get("customer_name", ""),
                           type=ctx.t(f"type.{data.get('type', 'note')}")), buttons=[[cancel_button(ctx)]])
    if step == "follow":
        return Reply(ctx.t("log.ask_follow"),
                     buttons=[[Button(ctx.t(key), f"log:fu:{days}") for days, key in FOLLOW_CHOICES],
                              [cancel_button(ctx)]])
    return draft_card(ctx, data)


def _follow_text(ctx: Context, data: dict) -> str:
    value = data.get("follow_up")
    if not value or value == NO_DATE:
        return ctx.t("log.no_follow")
    return ctx.when(datetime.fromisoformat(value))


def draft_card(ctx: Context, data: dict) -> Reply:
    lines = [ctx.t("log.draft_head"),
             ctx.t("log.draft_customer", customer=f"{data.get('customer_name', '')} #{data.get('customer_id', '')}"),
             ctx.t("log.draft_type", type=ctx.t(f"type.{data.get('type', 'note')}")),
             ctx.t("log.draft_content", content=truncate(data.get("content", ""), 1000) or "—")]
    if data.get("attachments"):
        lines.append(ctx.t("log.draft_attachments", n=len(data["attachments"]),
                           names=", ".join(a.get("name") or a.get("kind", "") for a in data["attachments"])))
    lines.append(ctx.t("log.draft_follow", when=_follow_text(ctx, data)))
    buttons = [[Button(ctx.t("btn.save"), "log:save"), Button(ctx.t("btn.change"), "log:edit")],
               [cancel_button(ctx)]]
    return Reply("\n".join(lines), buttons=buttons)


def _pick_customer(ctx: Context, data: dict, text: str) -> list[Reply]:
    found = find_customers(ctx.s, ctx.user, text, limit=MAX_CHOICES) if text.strip() else []
    if not found:
        return [Reply(ctx.t("log.customer_not_found", query=text), buttons=[[cancel_button(ctx)]])]
    exact = [c for c in found if normalise(c.name) == normalise(text)]
    if len(found) == 1 or len(exact) == 1:
        chosen = exact[0] if exact else found[0]
        data.update(customer_id=chosen.id, customer_name=chosen.name)
        return _next(ctx, data)
    buttons = [[Button(customer_label(c), f"log:cust:{c.id}")] for c in found]
    return [Reply(ctx.t("log.customer_which", query=text), buttons=buttons + [[cancel_button(ctx)]])]


def _set_follow(ctx: Context, data: dict, text: str) -> list[Reply]:
    when = parse_when(text, ctx.now_local)
    if when is None:
        return [Reply(ctx.t("log.follow_not_understood", text=text),
                      buttons=[[Button(ctx.t(key), f"log:fu:{days}") for days, key in FOLLOW_CHOICES]])]
    data["follow_up"] = NO_DATE if when == NO_DATE else to_utc(when).isoformat()
    return _next(ctx, data)


def _save(ctx: Context, data: dict) -> list[Reply]:
    follow = data.get("follow_up")
    follow_at = datetime.fromisoformat(follow) if follow and follow != NO_DATE else None
    activity, created = log_activity(
        ctx.s, ctx.user, int(data["customer_id"]), data["type"], data.get("content", ""),
        attachments=data.get("attachments") or [], source=ctx.source, follow_up_at=follow_at,
        occurred_at=ctx.now)
    ctx.end_conversation()
    key = "log.saved" if created else "log.already_saved"
    text = ctx.t(key, customer=data.get("customer_name", ""), type=ctx.t(f"type.{activity.type}"))
    if follow_at is not None:
        text += "\n" + ctx.t("log.saved_follow", when=ctx.when(follow_at))
    return [Reply(text, buttons=[[Button(ctx.t("btn.open_customer"), f"c:view:{activity.customer_id}"),
                                  Button(ctx.t("btn.undo"), "undo:last")]])]


@conversation(NAME, "log")
def resume(ctx: Context) -> list[Reply]:
    state = ctx.conversation
    data = dict(state.data)
    data.setdefault("attachments", [])
    incoming = ctx.incoming
    text = incoming.text.strip()
    notes: list[Reply] = []
    if incoming.attachments:
        data["attachments"] = [*data["attachments"], *(attachment_record(ctx, a) for a in incoming.attachments)]
        notes.append(Reply(ctx.t("log.attachment_added", n=len(data["attachments"]))))
        if state.step != "content" and not incoming.payload:
            # a photo with or without caption does not answer a question other than "what happened"
            return _next(ctx, data, notes)
    if incoming.payload:
        action, args = (ctx.args[0] if ctx.args else ""), ctx.args[1:]
        if action == "type" and args and args[0] in TYPES:
            data["type"] = args[0]
        elif action == "cust" and args:
            customer = get_customer(ctx.s, ctx.user, int(args[0]))
            data.update(customer_id=customer.id, customer_name=customer.name)
        elif action == "fu" and args:
            days = int(args[0])
            if days == 0:
                data["follow_up"] = NO_DATE
            else:
                local = parse_when(f"{days}天后", ctx.now_local)
                data["follow_up"] = to_utc(local).isoformat()
        elif action == "save" and state.step == "confirm":
            return _save(ctx, data)
        elif action == "edit":
            ctx.save_conversation("confirm", data)
            return [Reply(ctx.t("log.what_to_change"), buttons=[
                [Button(ctx.t("btn.chg_type"), "log:chg:type"), Button(ctx.t("btn.chg_customer"), "log:chg:customer")],
                [Button(ctx.t("btn.chg_content"), "log:chg:content"), Button(ctx.t("btn.chg_follow"), "log:chg:follow")],
            ])]
        elif action == "chg" and args:
            field = {"type": ("type",), "customer": ("customer_id", "customer_name"), "content": ("content",),
                     "follow": ("follow_up",)}.get(args[0], ())
            for key in field:
                data.pop(key, None)
        return _next(ctx, data)
    step = state.step
    if step == "type":
        chosen = type_from_answer(ctx, text)
        if chosen is None:
            return [Reply(ctx.t("log.type_not_understood", text=text)), _prompt(ctx, "type", data)]
        data["type"] = chosen
        return _next(ctx, data)
    if step == "customer":
        return _pick_customer(ctx, data, text)
    if step == "content":
        if not text and not incoming.attachments:
            return [_prompt(ctx, "content", data)]
        if text:
            data["content"] = text
        elif incoming.attachments:
            return _next(ctx, data, notes)  # wait for the words; the file is kept
        return _next(ctx, data, notes)
    if step == "follow":
        return _set_follow(ctx, data, text)
    # confirm: typed text adds to the note rather than being lost
    if text:
        data["content"] = (data.get("content", "") + "\n" + text).strip()
        return _next(ctx, data, [Reply(ctx.t("log.content_appended"))])
    return _next(ctx, data, notes)
