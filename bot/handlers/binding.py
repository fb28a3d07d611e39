"""Binding a chat account (/start CODE), /help, /lang, /cancel."""
from __future__ import annotations

from bot.context import Context
from bot.handlers import button, command
from bot.messages import Button, Reply
from core.services.users import redeem_invite, update_profile


def _help(ctx: Context) -> Reply:
    key = "help.manager" if ctx.user is not None and ctx.user.role in ("manager", "admin") else "help.rep"
    return Reply(ctx.t("help.head") + "\n" + ctx.t(key))


@command("_unbound")
def unbound(ctx: Context) -> list[Reply]:
    return [ctx.reply("bind.instructions")]


@command("start")
def start(ctx: Context) -> list[Reply]:
    code = ctx.arg_text.split()[0] if ctx.arg_text else ""
    if not code:
        if ctx.user is None:
            return [ctx.reply("bind.instructions")]
        return [Reply(ctx.t("bind.welcome_back", name=ctx.user.name)), _help(ctx)]
    incoming = ctx.incoming
    user = redeem_invite(ctx.s, code, incoming.platform, incoming.sender_id,
                         display_name=incoming.sender_name or None, chat_id=incoming.chat_id, now=ctx.now)
    ctx.user = user
    ctx.locale = user.locale or ctx.locale
    return [Reply(ctx.t("bind.done", name=user.name)), _help(ctx)]


@command("help")
@button("help:show")
def show_help(ctx: Context) -> list[Reply]:
    if ctx.user is None:
        return [ctx.reply("bind.instructions")]
    return [_help(ctx)]


def _language_buttons() -> list[list[Button]]:
    return [[Button("中文", "lang:set:zh"), Button("English", "lang:set:en")]]


def _set_language(ctx: Context, locale: str) -> list[Reply]:
    if ctx.user is None:  # nothing to store yet: answer in the language asked for
        ctx.locale = locale if locale in ("zh", "en") else ctx.locale
        return [ctx.reply("bind.instructions")]
    update_profile(ctx.s, ctx.user, locale=locale)
    ctx.locale = locale
    return [ctx.reply("lang.set")]


@command("lang", "language")
def change_language(ctx: Context) -> list[Reply]:
    if not ctx.args:
        return [ctx.reply("lang.choose", buttons=_language_buttons())]
    return _set_language(ctx, ctx.args[0].lower())


@button("lang:set")
def language_button(ctx: Context) -> list[Reply]:
    return _set_language(ctx, ctx.args[0] if ctx.args else "")


@command("cancel")
@button("x:cancel")
def cancel(ctx: Context) -> list[Reply]:
    if ctx.conversation is None:
        return [ctx.reply("cancel.nothing")]
    name = ctx.conversation.name
    ctx.end_conversation()
    return [ctx.reply("cancel.done", name=ctx.t(f"conv.name.{name}"))]
