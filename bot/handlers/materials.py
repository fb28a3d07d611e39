"""武器云: /m TEXT | category | node → a list → tap → the file itself (cached platform id when
the channel has uploaded it before)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.context import Context
from bot.format import truncate
from bot.handlers import button, command
from bot.messages import Button, FileOut, Reply
from core.models import Material, Node, Playbook
from core.search import normalise
from core.services.material_search import search_materials
from core.services.material_stats import materials_for_node
from core.services.materials import list_categories, record_material_use
from core.services.playbooks import node_board

KIND_ICONS = {"image": "🖼", "video": "🎬", "doc": "📝", "sheet": "📊", "slides": "📽", "pdf": "📄", "other": "📎"}
LIST_LIMIT = 10


def _node_key_for(ctx: Context, text: str) -> str | None:
    """A node named by its key or title in any of the organisation's playbooks."""
    norm = normalise(text)
    rows = ctx.s.execute(select(Node.key, Node.title).join(Playbook, Playbook.id == Node.playbook_id)
                         .where(Playbook.org_id == ctx.user.org_id)).all()
    for key, title in rows:
        if norm in (normalise(key), normalise(title)):
            return key
    return None


def material_list(ctx: Context, materials: list[Material], heading: str, customer_id: int | None = None) -> list[Reply]:
    if not materials:
        return [Reply(ctx.t("m.none", what=heading))]
    lines = [ctx.t("m.head", what=heading, n=len(materials))]
    buttons = []
    suffix = f":{customer_id}" if customer_id else ""
    for i, m in enumerate(materials, start=1):
        icon = KIND_ICONS.get(m.kind, "📎")
        lines.append(ctx.t("m.line", i=i, icon=icon, title=m.title, category=m.category or "—",
                           kind=ctx.t(f"m.kind.{m.kind}")))
        buttons.append([Button(truncate(f"{icon} {i}. {m.title}", 40), f"m:send:{m.id}{suffix}")])
    return [Reply("\n".join(lines), buttons=buttons)]


def _category_buttons(ctx: Context) -> list[list[Button]]:
    buttons = [Button(c, f"m:cat:{c}") for c in list_categories(ctx.s, ctx.user)
               if len(f"m:cat:{c}".encode()) <= 64]
    return [buttons[i:i + 3] for i in range(0, len(buttons), 3)]


@command("m", "material", "materials")
def find_material(ctx: Context) -> list[Reply]:
    query = ctx.arg_text.strip()
    if not query:
        return [Reply(ctx.t("m.usage"), buttons=_category_buttons(ctx))]
    categories = {normalise(c): c for c in list_categories(ctx.s, ctx.user)}
    if normalise(query) in categories:
        category = categories[normalise(query)]
        return material_list(ctx, search_materials(ctx.s, ctx.user, category=category, limit=LIST_LIMIT),
                             ctx.t("m.what_category", category=category))
    node_key = _node_key_for(ctx, query)
    if node_key:
        return material_list(ctx, _best_for_node(ctx, node_key), ctx.t("m.what_node", node=query))
    return material_list(ctx, search_materials(ctx.s, ctx.user, query, limit=LIST_LIMIT),
                         ctx.t("m.what_query", query=query))


@button("m:cat")
def category_button(ctx: Context) -> list[Reply]:
    category = ":".join(ctx.args)
    return material_list(ctx, search_materials(ctx.s, ctx.user, category=category, limit=LIST_LIMIT),
                         ctx.t("m.what_category", category=category))


@button("m:node")
def for_customer_node(ctx: Context) -> list[Reply]:
    customer_id = int(ctx.args[0])
    board = node_board(ctx.s, ctx.user, customer_id)
    if board.current is None:
        return material_list(ctx, search_materials(ctx.s, ctx.user, limit=LIST_LIMIT),
                             ctx.t("m.what_all"), customer_id)
    found = _best_for_node(ctx, board.current.key, board.playbook)
    return material_list(ctx, found, ctx.t("m.what_node", node=board.current.title), customer_id)


def _best_for_node(ctx: Context, node_key: str, playbook=None) -> list[Material]:
    """The node's material, what has helped customers move on from it first."""
    ranked = materials_for_node(ctx.s, ctx.user, node_key, playbook, limit=LIST_LIMIT)
    return [r.material for r in ranked] or search_materials(ctx.s, ctx.user, node_key=node_key, limit=LIST_LIMIT)


@button("m:send")
def send_material(ctx: Context) -> list[Reply]:
    material_id = int(ctx.args[0])
    customer_id = int(ctx.args[1]) if len(ctx.args) > 1 and ctx.args[1] else None
    node_key = None
    if customer_id is not None:
        board = node_board(ctx.s, ctx.user, customer_id)
        node_key = board.current.key if board.current else None
    use = record_material_use(ctx.s, ctx.user, material_id, customer_id=customer_id, node_key=node_key,
                              platform=ctx.incoming.platform)
    m = ctx.s.get(Material, use.material_id)
    if not m.path:
        return [Reply(ctx.t("m.link", title=m.title, url=m.url or "—"))]
    out = FileOut(path=m.path, name=Path(m.path).name, caption=m.title, cached_ids=dict(m.file_ids or {}),
                  material_id=m.id, is_image=m.kind == "image")
    return [Reply(ctx.t("m.sending", title=m.title), file=out)]
