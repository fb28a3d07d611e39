"""`mammoth nudges run-once | relay-once`: run the proactive jobs by hand (or from cron)."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

nudges_app = typer.Typer(help="Proactive follow-up nudges: decide and deliver.", no_args_is_help=True)
out = Console()


def _parse_now(now: str | None) -> datetime | None:
    if not now:
        return None
    moment = datetime.fromisoformat(now)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


@nudges_app.command("run-once")
def run_once(now: Optional[str] = typer.Option(None, help="Pretend it is this moment (ISO 8601; naive = UTC)."),
             dry_run: bool = typer.Option(False, "--dry-run", help="Show what would be queued; write nothing."),
             as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")):
    """Run every job due at that moment and print, per user, what was (or would be) queued."""
    from bot.cli import domain_errors, print_json
    from bot.runtime import open_database
    from core.db import utcnow
    from core.services.nudges import run_jobs

    @domain_errors
    def go():
        moment = _parse_now(now) or utcnow()
        with open_database().session() as s:
            planned = run_jobs(s, moment, dry_run=dry_run)
            if dry_run:
                s.rollback()
        rows = [{"user": p.login, "kind": p.kind, "key": p.key, "queued": p.queued,
                 "customers": [i.get("name") for i in p.payload.get("items", [])]} for p in planned]
        if as_json:
            print_json(rows)
            return
        table = Table("user", "kind", "customers", "queued", title=f"nudges at {moment:%Y-%m-%d %H:%M} UTC"
                      + (" (dry run)" if dry_run else ""))
        for r in rows:
            table.add_row(r["user"], r["kind"], ", ".join(r["customers"])[:80], "✓" if r["queued"] else "—")
        out.print(table if rows else "nothing due")

    go()


@nudges_app.command("relay-once")
def relay_once():
    """Deliver queued nudges whose time has come, through each user's chat channel."""
    from bot.relay import ConsoleOutbound, Relay
    from bot.runtime import open_database
    from core.settings import get_settings

    settings = get_settings()
    db = open_database()

    async def go():
        outbounds = [ConsoleOutbound(lambda replies: "\n".join(r.text for r in replies), out.print)]
        if settings.telegram_token:
            from bot.channels.telegram import TelegramOutbound, make_bot

            bot = make_bot(settings.telegram_token, settings.telegram_api_url)
            async with bot:
                outbounds.append(TelegramOutbound(bot))
                return await Relay(db, outbounds).relay_once()
        return await Relay(db, outbounds).relay_once()

    report = asyncio.run(go())
    out.print(f"sent {len(report.sent)}, retried {len(report.retried)}, deferred {len(report.deferred)}, "
              f"dropped {len(report.dropped)}, failed {len(report.failed)}")
