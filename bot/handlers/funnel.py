"""节点漏斗: /funnel [team [NAME]|rep LOGIN|org] [7d|30d|90d|all] → the funnel picture plus a short
text: the stuck node, why, material to attack it with. Managers and admins also get a button
listing the customers stuck there (payload funnel:stuck:KIND:REF:PLAYBOOK_ID:NODE_POSITION).

The text helpers here are shared with `mammoth funnel` (bot/cli_funnel.py)."""
from __future__ import annotations

import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

from bot.context import Context
from bot.format import truncate
from bot.handlers import button, command
from bot.messages import Button, FileOut, Reply
from bot.texts import t
from core.models import Playbook
from core.services.funnel import Funnel, funnel, stuck_customers
from core.services.material_stats import RankedMaterial, suggest_for_stuck

DEFAULT_DAYS = 90
DRILL_LIMIT = 15
_PERIOD = re.compile(r"^(\d{1,4})\s*(d|day|days|天|日)?$")
_ALL = {"all", "全部", "全部时间", "所有"}
_TEAM = {"team", "团队", "组", "本组"}
_REP = {"rep", "销售", "个人"}
_ORG = {"org", "company", "公司", "全公司"}


# ---------------------------------------------------------------- text shared with the CLI
def period_label(locale: str, days: int | None, since: datetime | None = None, until: datetime | None = None) -> str:
    if days:
        return t(locale, "funnel.period.days", days=days)
    if since or until:
        return t(locale, "funnel.period.range", since=f"{since:%Y-%m-%d}" if since else "…",
                 until=f"{until:%Y-%m-%d}" if until else "…")
    return t(locale, "funnel.period.all")


def funnel_title(locale: str, f: Funnel, period: str) -> str:
    scope = t(locale, "funnel.scope.org") if f.scope.kind == "org" else f.scope.label
    return t(locale, "funnel.title", playbook=f.playbook_name, scope=scope, period=period)


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.0f}%"


def _days(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def why_line(locale: str, f: Funnel) -> str:
    """The stuck node's reason in words, from its structured figures."""
    stuck = f.stuck
    if stuck is None:
        return ""
    fig = stuck.figures
    if stuck.kind == "conversion":
        return t(locale, f"funnel.why.conversion.{fig['baseline_kind']}", conversion=_pct(fig["conversion"]),
                 baseline=_pct(fig["baseline"]), moved_on=fig["moved_on"], reached=fig["reached"])
    return t(locale, "funnel.why.dwell", median=_days(fig["median_days"]), expected=fig["expected_days"])


def summary_lines(locale: str, f: Funnel, suggestions: list[RankedMaterial]) -> list[str]:
    first = f.nodes[0] if f.nodes else None
    if first is None or not any(n.reached for n in f.nodes):
        return [t(locale, "funnel.empty")]
    lines = [t(locale, "funnel.summary", reached=first.reached, first=first.title, won=f.nodes[-1].moved_on)]
    if f.stuck is None:
        lines.append(t(locale, "funnel.no_stuck"))
        return lines
    lines += [t(locale, "funnel.stuck", node=f.stuck.title), why_line(locale, f)]
    if f.stuck.figures.get("current"):
        lines.append(t(locale, "funnel.sitting", n=f.stuck.figures["current"]))
    if suggestions:
        lines.append(t(locale, "funnel.suggest"))
        for r in suggestions:
            e = r.effect
            if e is not None and e.enough:
                lines.append(t(locale, "funnel.suggest.effect", title=r.material.title, with_rate=_pct(e.with_rate),
                               without_rate=_pct(e.without_rate)))
            else:
                lines.append(t(locale, "funnel.suggest.linked", title=r.material.title))
    return lines


def render_chart(locale: str, f: Funnel, title: str, path: Path) -> Path:
    from bot.charts import funnel_png

    subtitle = t(locale, "funnel.chart.subtitle", node=f.stuck.title, why=why_line(locale, f)) if f.stuck else ""
    return funnel_png(f, path, title=title, subtitle=subtitle, locale=locale)


# ---------------------------------------------------------------- /funnel
def parse_args(words: list[str]) -> tuple[dict, int | None] | None:
    """(scope keywords for core.services.funnel.funnel, days or None for all time), or None when
    the words make no sense."""
    scope: dict = {}
    days: int | None = DEFAULT_DAYS
    i = 0
    while i < len(words):
        word = words[i].lower()
        period = _PERIOD.match(word)
        if word in _ALL:
            days = None
        elif period and int(period.group(1)) > 0:
            days = int(period.group(1))
        elif word in _TEAM:
            nxt = words[i + 1] if i + 1 < len(words) else ""
            if nxt and not _PERIOD.match(nxt.lower()) and nxt.lower() not in _ALL:
                scope = {"team": nxt}
                i += 1
            else:
                scope = {"team": None}
        elif word in _REP:
            if i + 1 >= len(words):
                return None
            scope = {"rep": words[i + 1]}
            i += 1
        elif word in _ORG:
            scope = {"org": True}
        else:
            return None
        i += 1
    return scope, days


def _scope_kwargs(ctx: Context, scope: dict) -> dict:
    if "team" in scope and scope["team"] is None:  # "team": the asker's own
        return {"team": ctx.user.team_id} if ctx.user.team_id is not None else {"org": ctx.user.role == "admin"}
    return scope


def _drill_payload(f: Funnel) -> str:
    kind = f.scope.kind[0]  # r | t | o
    ref = f.scope.user_id if f.scope.kind == "rep" else f.scope.team_id if f.scope.kind == "team" else 0
    return f"funnel:stuck:{kind}:{ref}:{f.playbook_id}:{f.node(f.stuck.key).position}"


@command("funnel", "漏斗")
def show_funnel(ctx: Context) -> list[Reply]:
    parsed = parse_args(ctx.args)
    if parsed is None:
        return [ctx.reply("funnel.usage")]
    scope, days = parsed
    since = ctx.now - timedelta(days=days) if days else None
    f = funnel(ctx.s, ctx.user, since=since, now=ctx.now, **_scope_kwargs(ctx, scope))
    suggestions = suggest_for_stuck(ctx.s, ctx.user, f)
    title = funnel_title(ctx.locale, f, period_label(ctx.locale, days))
    lines = [ctx.t("funnel.head", title=title), *summary_lines(ctx.locale, f, suggestions)]
    buttons = []
    if f.stuck is not None and ctx.user.role in ("manager", "admin"):
        buttons.append([Button(truncate(ctx.t("funnel.btn.drill", node=f.stuck.title), 40), _drill_payload(f))])
    for r in suggestions:
        buttons.append([Button(truncate(ctx.t("funnel.btn.send", title=r.material.title), 40), f"m:send:{r.material.id}")])
    image = None
    try:
        folder = Path(tempfile.mkdtemp(prefix="mammoth-funnel-"))
        path = render_chart(ctx.locale, f, title, folder / f"funnel-{f.playbook_key}-{ctx.now_local:%Y%m%d-%H%M}.png")
        image = FileOut(path=str(path), name=path.name, caption=title, is_image=True)
    except Exception:  # no font, no disk: the text alone still answers the question
        import logging

        logging.getLogger("mammoth.funnel").exception("funnel chart not drawn")
        lines.append(ctx.t("funnel.no_chart"))
    return [Reply("\n".join(lines), buttons=buttons, image=image)]


@button("funnel:stuck")
def show_stuck_customers(ctx: Context) -> list[Reply]:
    kind, ref, playbook_id, position = ctx.args[0], int(ctx.args[1]), int(ctx.args[2]), int(ctx.args[3])
    scope = {"r": {"rep": ref}, "t": {"team": ref}, "o": {"org": True}}[kind]
    pb = ctx.s.get(Playbook, playbook_id)
    node = next((n for n in pb.nodes if n.position == position), None) if pb and pb.org_id == ctx.user.org_id else None
    if node is None:
        return [ctx.reply("conv.stale_button")]
    rows = stuck_customers(ctx.s, ctx.user, node.key, pb, now=ctx.now, limit=DRILL_LIMIT, **scope)
    if not rows:
        return [ctx.reply("funnel.drill.none", node=node.title)]
    lines = [ctx.t("funnel.drill.head", node=node.title, n=len(rows))]
    for i, r in enumerate(rows, start=1):
        lines.append(ctx.t("funnel.drill.line", i=i, name=r.name, owner=r.owner_name, days=f"{r.days:.0f}",
                           late=ctx.t("funnel.drill.late") if r.overdue else ""))
    buttons = [[Button(truncate(f"{r.name} #{r.customer_id}", 40), f"c:view:{r.customer_id}") for r in rows[i:i + 2]]
               for i in range(0, len(rows), 2)]
    return [Reply("\n".join(lines), buttons=buttons)]
