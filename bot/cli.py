"""The `mammoth` command line (typer). Thin: parse, open a unit of work, call one service,
print. Domain errors become a clear message in the configured language and exit code 1."""
from __future__ import annotations

import functools
import json
import logging
import sys
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from bot.runtime import open_database
from bot.texts import describe_error
from core.errors import DomainError, NotFound
from core.models import Organisation, User
from core.settings import get_settings

app = typer.Typer(help="猛犸微助 Mammoth — a chat-first sales assistant.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
users_app = typer.Typer(help="Users, invites and chat bindings.", no_args_is_help=True)
customers_app = typer.Typer(help="Import and export customers.", no_args_is_help=True)
playbooks_app = typer.Typer(help="三一客 playbooks: import YAML, list.", no_args_is_help=True)
materials_app = typer.Typer(help="武器云: the material library.", no_args_is_help=True)
app.add_typer(users_app, name="users")
app.add_typer(customers_app, name="customers")
app.add_typer(playbooks_app, name="playbooks")
app.add_typer(materials_app, name="materials")

out = Console()
err = Console(stderr=True)


def _locale() -> str:
    return get_settings().default_locale


def fail(message: str) -> None:
    err.print(f"[red]✗[/red] {message}", highlight=False)
    raise typer.Exit(1)


def domain_errors(fn):
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except DomainError as exc:
            fail(describe_error(exc, _locale()))
    return wrapper


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(type(value))


def print_json(rows) -> None:
    sys.stdout.write(json.dumps(rows, ensure_ascii=False, indent=1, default=_json_default) + "\n")


def the_org(s, name: str | None = None) -> Organisation:
    """The organisation a command works on: named, or the only/first one."""
    q = select(Organisation).order_by(Organisation.id)
    if name:
        q = q.where(Organisation.name == name)
    org = s.scalar(q)
    if org is None:
        raise NotFound("no organisation", entity="organisation", ref=name or "")
    return org


def the_actor(s, login: str | None) -> User:
    """--as LOGIN, or the first admin when a command may act for the whole organisation."""
    from core.services.users import get_user

    if login:
        return get_user(s, login)
    admin = s.scalar(select(User).where(User.role == "admin", User.active.is_(True)).order_by(User.id))
    if admin is None:
        raise NotFound("no admin user", entity="user", ref="admin")
    return admin


# ---------------------------------------------------------------- setup
@app.command()
@domain_errors
def init(org: Optional[str] = typer.Option(None, help="Create this organisation (with the shipped playbooks)."),
         admin: str = typer.Option("admin", help="Login of the organisation's first admin.")):
    """Create or upgrade the database schema; optionally an organisation with an admin."""
    from core.services.playbooks import import_shipped_playbooks
    from core.services.users import add_user, create_organisation

    db = open_database()
    if org:
        with db.session() as s:
            o = create_organisation(s, org)
            import_shipped_playbooks(s, o.id)
            add_user(s, o, admin, admin, role="admin")
        out.print(f"✓ organisation {org} with admin {admin}")
    out.print(f"✓ database ready: {db.url}")


@app.command()
@domain_errors
def demo(customers: int = typer.Option(300, min=1, help="How many demo customers."),
         seed: int = typer.Option(7, help="Random seed: the same seed gives the same data."),
         anchor: Optional[str] = typer.Option(None, help="'Today' of the demo history (YYYY-MM-DD); default today."),
         if_absent: bool = typer.Option(False, "--if-absent", help="Do nothing when the demo organisation exists.")):
    """Create the demo organisation: 2 teams, 6 reps, 2 managers, an admin, N customers."""
    from rich.progress import Progress

    from core.demo import create_demo, find_demo_org

    db = open_database()
    with db.session() as s:
        if find_demo_org(s) is not None:
            if if_absent:
                out.print("✓ demo organisation already present")
                return
            fail("the demo organisation already exists (use a fresh database, or --if-absent)")
        day = datetime.fromisoformat(anchor) if anchor else None
        with Progress(console=err, transient=True) as progress:
            progress.add_task("生成演示数据 demo data", total=None)
            result = create_demo(s, customers=customers, seed=seed, anchor=day,
                                 materials_dir=get_settings().materials_dir)
    out.print(f"✓ demo organisation: {result.customers} customers, {result.activities} activities.")
    try:  # first intent scores from the shipped model, so cards and digests have them at once
        from ml.jobs import score_customers

        out.print(f"✓ intent scores for {score_customers(db)} open customers. Try: mammoth chat --as zhangwei")
    except Exception as exc:  # noqa: BLE001 — the demo stays usable without scores
        err.print(f"intent scores skipped: {exc}")


# ---------------------------------------------------------------- users
@users_app.command("add")
@domain_errors
def users_add(login: str, name: Optional[str] = typer.Option(None), role: str = typer.Option("rep"),
              team: Optional[str] = typer.Option(None), timezone: str = typer.Option("Asia/Shanghai"),
              locale: str = typer.Option("zh"), org: Optional[str] = typer.Option(None)):
    """Add a user (role rep|manager|admin)."""
    from core.services.users import add_user

    with open_database().session() as s:
        user = add_user(s, the_org(s, org), login, name, role=role, team=team, timezone=timezone, locale=locale)
        out.print(f"✓ {user.login} ({user.role})")


@users_app.command("list")
@domain_errors
def users_list(as_json: bool = typer.Option(False, "--json", help="Print a JSON list.")):
    """List active users."""
    from core.services.users import list_users

    with open_database().reader() as s:
        rows = [{"login": u.login, "name": u.name, "role": u.role, "team": u.team.name if u.team else None,
                 "timezone": u.timezone, "locale": u.locale} for u in list_users(s)]
    if as_json:
        print_json(rows)
        return
    table = Table("login", "name", "role", "team", "timezone", "locale")
    for r in rows:
        table.add_row(*[str(r[k] or "") for k in ("login", "name", "role", "team", "timezone", "locale")])
    out.print(table)


@users_app.command("invite")
@domain_errors
def users_invite(role: str = typer.Option("rep"), team: Optional[str] = typer.Option(None),
                 for_user: Optional[str] = typer.Option(None, "--for", help="Bind this existing user instead."),
                 as_user: Optional[str] = typer.Option(None, "--as", help="Inviting manager/admin."),
                 as_json: bool = typer.Option(False, "--json")):
    """Create a one-time invite code (7 days). The rep sends /start CODE to the bot."""
    from core.services.users import create_invite, get_user

    with open_database().session() as s:
        actor = the_actor(s, as_user)
        target = get_user(s, for_user) if for_user else None
        invite = create_invite(s, actor, actor.org_id, role=role, team=team, user=target)
        row = {"code": invite.code, "role": invite.role, "expires_at": invite.expires_at,
               "for": target.login if target else None}
    if as_json:
        print_json([row])
    else:
        out.print(f"✓ invite code: [bold]{row['code']}[/bold]  (/start {row['code']}, expires {row['expires_at']:%Y-%m-%d %H:%M} UTC)")


# ---------------------------------------------------------------- customers
@customers_app.command("import")
@domain_errors
def customers_import(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
                     as_user: Optional[str] = typer.Option(None, "--as")):
    """Import customers from CSV (columns: name, aliases, industry, source, owner, status,
    contact_name, contact_title, contact_phone, contact_email, contact_wechat). All rows or none."""
    from core.services.customers import import_customers_csv

    text = file.read_text(encoding="utf-8-sig")
    with open_database().session() as s:
        created = import_customers_csv(s, the_actor(s, as_user), text)
    out.print(f"✓ imported {len(created)} customers")


@customers_app.command("export")
@domain_errors
def customers_export(fmt: str = typer.Option("csv", "--format", help="csv or json"),
                     as_user: Optional[str] = typer.Option(None, "--as", help="Export what this user sees."),
                     output: Optional[Path] = typer.Option(None, "--output", "-o")):
    """Export the customers a user can see (default: an admin's view, i.e. all)."""
    from core.services.export import export_customers

    with open_database().reader() as s:
        text = export_customers(s, the_actor(s, as_user), fmt)
    if output:
        output.write_text(text, encoding="utf-8")
        err.print(f"✓ written {output}")
    else:
        sys.stdout.write(text)


@app.command()
@domain_errors
def timeline(customer: str, as_user: str = typer.Option(..., "--as", help="Whose view."),
             page: int = typer.Option(1, min=1), as_json: bool = typer.Option(False, "--json")):
    """A customer's 客户视图 timeline, newest first."""
    from core.services.customers import resolve_customer
    from core.services.timeline import timeline as timeline_page

    with open_database().reader() as s:
        actor = the_actor(s, as_user)
        c = resolve_customer(s, actor, customer)
        tl = timeline_page(s, actor, c.id, page=page, page_size=20)
        rows = [{"kind": e.kind, "id": e.id, "at": e.at, "type": e.type, "content": e.content,
                 "amount": e.amount, "node": e.node_key, "customer_id": c.id, "customer": c.name}
                for e in tl.entries]
        title = f"#{c.id} {c.name} — {page}/{tl.pages}"
    if as_json:
        print_json(rows)
        return
    table = Table("time", "kind", "type", "node", "content", "amount", title=title)
    for r in rows:
        table.add_row(f"{r['at']:%Y-%m-%d %H:%M}", r["kind"], r["type"], r["node"] or "", r["content"],
                      "" if r["amount"] is None else str(r["amount"]))
    out.print(table)


# ---------------------------------------------------------------- playbooks
@playbooks_app.command("import")
@domain_errors
def playbooks_import(file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
                     org: Optional[str] = typer.Option(None)):
    """Create or update a playbook from YAML (key, name, nodes: [{key, title, script, expected_dwell_days}])."""
    from core.services.playbooks import import_playbook

    with open_database().session() as s:
        pb = import_playbook(s, the_org(s, org).id, file.read_text(encoding="utf-8"))
        out.print(f"✓ {pb.key}: {pb.name} ({len(pb.nodes)} nodes)")


@playbooks_app.command("list")
@domain_errors
def playbooks_list(org: Optional[str] = typer.Option(None), as_json: bool = typer.Option(False, "--json")):
    """List playbooks and their nodes."""
    from core.services.playbooks import list_playbooks

    with open_database().reader() as s:
        rows = [{"key": pb.key, "name": pb.name,
                 "nodes": [{"key": n.key, "title": n.title, "expected_dwell_days": n.expected_dwell_days}
                           for n in pb.nodes]} for pb in list_playbooks(s, the_org(s, org).id)]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        out.print(f"[bold]{r['key']}[/bold] {r['name']}: " + " → ".join(n["title"] for n in r["nodes"]))


# ---------------------------------------------------------------- materials
@materials_app.command("sync")
@domain_errors
def materials_sync(folder: Path = typer.Argument(..., help="Folder with catalog.yaml and the files."),
                   org: Optional[str] = typer.Option(None)):
    """Pick up new and changed files (by checksum); unchanged files keep their chat file-id cache."""
    from core.services.materials import sync_materials

    with open_database().session() as s:
        report = sync_materials(s, the_org(s, org).id, folder)
    out.print(f"✓ added {len(report.added)}, changed {len(report.changed)}, "
              f"unchanged {len(report.unchanged)}, removed {len(report.removed)}")


def _register_optional(module: str, attr: str, name: str) -> None:
    """Sub-commands owned by other parts of the bot (chat, model...) register when present."""
    import importlib

    try:
        sub = getattr(importlib.import_module(module), attr)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return
    if isinstance(sub, typer.Typer):
        app.add_typer(sub, name=name)
    else:
        app.command(name)(sub)


_register_optional("bot.cli_model", "model_app", "model")
_register_optional("bot.cli_nudges", "nudges_app", "nudges")
_register_optional("bot.cli_funnel", "funnel", "funnel")
_register_optional("bot.cli_chat", "chat", "chat")
_register_optional("bot.cli_chat", "run", "run")


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app()


if __name__ == "__main__":
    main()
