"""`mammoth funnel`: the 节点漏斗 of a playbook on the command line — a table (or --json), the stuck
node with its reason and suggested material, optionally the chart as a PNG.

    mammoth funnel --playbook car_dealer --team 汽车销售一组 --since 2026-01-01 --png funnel.png
    mammoth funnel --playbook b2b --rep zhaolei --json --as chenjing
"""
from __future__ import annotations

import json
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

out = Console(width=None if sys.stdout.isatty() else 132)  # a pipe gets the whole table, not 80 columns
err = Console(stderr=True)


def _day(text: str | None, option: str) -> date | None:
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        err.print(f"[red]✗[/red] {option}: expected a date like 2026-03-31, got {text!r}", highlight=False)
        raise typer.Exit(2)


def _json_default(value):
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(type(value))


def funnel(playbook: Optional[str] = typer.Option(None, "--playbook", "-p",
                                                  help="Playbook key or id (default: the scope's own)."),
           team: Optional[str] = typer.Option(None, "--team", help="A team (name or id)."),
           rep: Optional[str] = typer.Option(None, "--rep", help="A rep (login)."),
           since: Optional[str] = typer.Option(None, "--since", help="First day (YYYY-MM-DD, the user's time zone)."),
           until: Optional[str] = typer.Option(None, "--until", help="Last day, included (YYYY-MM-DD)."),
           png: Optional[Path] = typer.Option(None, "--png", help="Also draw the funnel chart to this PNG file."),
           as_json: bool = typer.Option(False, "--json", help="Print the per-node figures and the stuck node as JSON."),
           as_user: Optional[str] = typer.Option(None, "--as", help="Whose view (default: the first admin)."),
           locale: Optional[str] = typer.Option(None, "--lang", help="zh or en (default: the user's).")):
    """节点漏斗: per node how many customers reached it, moved on, dwell, who sits there now; the
    stuck node and why. Without --team/--rep: a rep's own, a manager's team, an admin's company."""
    from bot.cli import the_actor
    from bot.format import to_utc, zone
    from bot.handlers.funnel import funnel_title, period_label, render_chart, summary_lines, why_line
    from bot.runtime import open_database
    from bot.texts import describe_error
    from core.errors import DomainError
    from core.services.funnel import funnel as funnel_service
    from core.services.material_stats import suggest_for_stuck

    first, last = _day(since, "--since"), _day(until, "--until")
    db = open_database()
    try:
        with db.reader() as s:
            actor = the_actor(s, as_user)
            lang = locale or actor.locale or "zh"
            tz = zone(actor.timezone)
            since_utc = to_utc(datetime.combine(first, datetime.min.time()), tz) if first else None
            until_utc = to_utc(datetime.combine(last + timedelta(days=1), datetime.min.time()), tz) if last else None
            f = funnel_service(s, actor, playbook, team=team, rep=rep, since=since_utc, until=until_utc)
            suggestions = suggest_for_stuck(s, actor, f)
            title = funnel_title(lang, f, period_label(lang, None, first, last))
            lines = summary_lines(lang, f, suggestions)
            result = f.as_dict()
            result["suggested_material"] = [
                {"id": r.material.id, "title": r.material.title,
                 "effect": r.effect.as_dict() if r.effect else None} for r in suggestions]
            result["reason"] = why_line(lang, f) or None
    except DomainError as exc:
        err.print(f"[red]✗[/red] {describe_error(exc, locale or 'zh')}", highlight=False)
        raise typer.Exit(1)
    finally:
        db.dispose()
    if png:
        render_chart(lang, f, title, png)
        err.print(f"✓ {png}")
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=1, default=_json_default) + "\n")
        return
    table = Table("#", "node", "reached", "moved on", "conv.", "skipped", "back", "failed", "dwell p50/p90 d",
                  "now", "now p50 d", title=title)
    stuck_key = f.stuck.key if f.stuck else None
    for n in f.nodes:
        row = n.as_dict()
        mark = " ◀" if n.key == stuck_key else ""
        table.add_row(str(n.position + 1), n.title + mark, str(n.reached), str(n.moved_on),
                      "—" if row["conversion_pct"] is None else f"{row['conversion_pct']:.0f}%", str(n.skipped),
                      str(n.moved_back), str(n.failed),
                      f"{_num(row['dwell_median_days'])} / {_num(row['dwell_p90_days'])}",
                      str(n.current), _num(row["current_median_days"]))
    out.print(table)
    for line in lines:
        out.print(line, highlight=False)


def _num(value) -> str:
    return "—" if value is None else f"{value:.1f}"
