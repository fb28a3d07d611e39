"""`mammoth chat --as LOGIN` (the console channel) and `mammoth run` (Telegram when
MAMMOTH_TELEGRAM_TOKEN is set, otherwise the console for the demo organisation)."""
from __future__ import annotations

import sys
from typing import Optional

import typer
from sqlalchemy import select

from bot.texts import describe_error, t
from core.errors import DomainError


def _console(login: str, *, announce: str | None = None, with_scheduler: bool = False) -> None:
    from bot.channels.console import PLATFORM, ConsoleChannel
    from bot.router import Router
    from bot.runtime import open_database
    from core.services.users import bind_identity, get_user

    db = open_database()
    try:
        with db.session() as s:
            user = get_user(s, login)
            # the console is its own identity provider: the login is the account
            bind_identity(s, user, PLATFORM, login, chat_id=login)
            name, locale = user.name, user.locale
    except DomainError as exc:
        typer.echo(f"✗ {describe_error(exc, 'zh')}", err=True)
        raise typer.Exit(1)
    channel = ConsoleChannel(Router(db), login, locale=locale, sender_name=name)
    if announce:
        typer.echo(announce)
    channel.recover()
    if sys.stdin.isatty():
        stop_nudges = _console_nudges(db, channel) if with_scheduler else None
        try:
            channel.run_interactive(name)
        finally:
            if stop_nudges:
                stop_nudges()
    else:
        channel.run_script(sys.stdin)
    db.dispose()


def _console_nudges(db, channel):
    """`mammoth run` on the console: the nudge scheduler in a background thread, its messages
    printed into the terminal chat (their buttons become numbered choices there)."""
    import asyncio
    import threading

    from bot.relay import ConsoleOutbound
    from bot.scheduler import NudgeScheduler
    from core.settings import get_settings

    if not get_settings().scheduler:
        return None
    loop = asyncio.new_event_loop()
    with db.reader() as s:  # this terminal shows this user's nudges only
        from core.services.users import get_user

        user_id = get_user(s, channel.login).id
    scheduler = NudgeScheduler(db, [ConsoleOutbound(channel.render, channel._print)], only_user_ids=[user_id])

    def serve():
        asyncio.set_event_loop(loop)
        loop.call_soon(scheduler.start)  # AsyncIOScheduler starts inside its running loop
        loop.run_forever()

    threading.Thread(target=serve, name="nudges", daemon=True).start()

    def stop():
        loop.call_soon_threadsafe(scheduler.shutdown)
        loop.call_soon_threadsafe(loop.stop)
    return stop


def chat(login: str = typer.Option(..., "--as", help="Chat as this user (login), e.g. zhangwei.")):
    """Chat with the bot in the terminal (numbered buttons; pipe a script to stdin to replay one)."""
    _console(login)


def _first_demo_rep() -> tuple[str, str, str] | None:
    from bot.runtime import open_database
    from core.demo import find_demo_org
    from core.models import Organisation, User

    db = open_database()
    try:
        with db.reader() as s:
            org = find_demo_org(s) or s.scalar(select(Organisation).order_by(Organisation.id))
            if org is None:
                return None
            user = s.scalar(select(User).where(User.org_id == org.id, User.role == "rep", User.active.is_(True))
                            .order_by(User.id))
            return (user.login, user.name, user.locale) if user else None
    finally:
        db.dispose()


def run(login: Optional[str] = typer.Option(None, "--as", help="Console only: chat as this user.")):
    """Start the bot: Telegram when MAMMOTH_TELEGRAM_TOKEN is set, else the console channel."""
    from core.settings import get_settings

    settings = get_settings()
    if settings.telegram_token:
        from bot.channels.telegram import run_telegram
        from bot.runtime import open_database

        run_telegram(open_database(), settings)
        return
    announce = None
    if login is None:
        first = _first_demo_rep()
        if first is None:
            typer.echo(t(settings.default_locale, "run.no_user"), err=True)
            raise typer.Exit(1)
        login, name, locale = first
        announce = t(locale, "run.console_as", name=name, login=login)
    _console(login, announce=announce, with_scheduler=True)
