"""武器云 effectiveness: does sending a material at a node help customers move on?

For a playbook node N and a material M, over the customers who reached N in the period (the
funnel's definition: a visit of N entered in [since, until), see core.services.funnel):

* *with*    — those who received M at N (a MaterialUse with node_key N and their customer_id);
* *without* — the others at N;
* each side's conversion = how many of them moved on from N (the funnel's "moved on").

Below `min_count` customers on either side there is no claim ("insufficient"); above it a
two-proportion z-test says "better" / "worse" at |z| ≥ 1.96, else "similar". The figures are
the organisation's (aggregates, no customer is shown), whoever asks. It is an association, not
proof: reps may send material to the customers they already expect to move.

One SQL statement per question (the funnel's visit CTE joined to the uses); Python only orders
the per-material rows.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from core.errors import NotFound
from core.models import Material, Playbook, User
from core.services.funnel import MIN_COUNT, position_sql, visits_cte, visits_params
from core.services.playbooks import default_playbook_for, get_playbook

Z_CLAIM = 1.96  # two-sided 95 %


@dataclass(frozen=True)
class MaterialEffect:
    material_id: int
    node_key: str
    with_n: int
    with_moved: int
    without_n: int
    without_moved: int
    min_count: int = MIN_COUNT

    @property
    def with_rate(self) -> float | None:
        return self.with_moved / self.with_n if self.with_n else None

    @property
    def without_rate(self) -> float | None:
        return self.without_moved / self.without_n if self.without_n else None

    @property
    def enough(self) -> bool:
        return self.with_n >= self.min_count and self.without_n >= self.min_count

    @property
    def lift(self) -> float | None:
        """Percentage points of conversion with minus without; None without enough data."""
        if not self.enough:
            return None
        return self.with_rate - self.without_rate

    @property
    def z(self) -> float | None:
        if not self.enough:
            return None
        pooled = (self.with_moved + self.without_moved) / (self.with_n + self.without_n)
        spread = math.sqrt(pooled * (1 - pooled) * (1 / self.with_n + 1 / self.without_n))
        return 0.0 if spread == 0 else (self.with_rate - self.without_rate) / spread

    @property
    def verdict(self) -> str:
        """insufficient (no claim) | better | worse | similar"""
        if not self.enough:
            return "insufficient"
        if self.z >= Z_CLAIM:
            return "better"
        if self.z <= -Z_CLAIM:
            return "worse"
        return "similar"

    def as_dict(self) -> dict:
        def pct(x):
            return None if x is None else round(100 * x, 1)
        return {"material_id": self.material_id, "node_key": self.node_key, "verdict": self.verdict,
                "with": {"customers": self.with_n, "moved_on": self.with_moved, "conversion_pct": pct(self.with_rate)},
                "without": {"customers": self.without_n, "moved_on": self.without_moved,
                            "conversion_pct": pct(self.without_rate)},
                "lift_pct_points": pct(self.lift), "min_count": self.min_count}


def resolve_playbook(s: Session, actor: User, playbook: Playbook | str | int | None) -> Playbook:
    if isinstance(playbook, Playbook):
        return playbook
    if playbook is not None and str(playbook) != "":
        return get_playbook(s, actor.org_id, playbook)
    pb = default_playbook_for(s, actor)
    if pb is None:
        raise NotFound("no playbook configured", entity="playbook", ref="")
    return pb


def _effect_sql(dialect: str, positions: list[int], one_node: bool) -> str:
    # For one node, walk only the customers who entered it (index range on the marks index).
    customers = ("e.customer_id IN (SELECT n.customer_id FROM node_events n WHERE n.playbook_id = :pb "
                 "AND n.outcome = 'entered' AND n.node_key = :node AND n.occurred_at >= :since "
                 "AND n.occurred_at < :until)") if one_node else ""
    node_filter = f"AND {position_sql('u.node_key', positions)} = :node_pos" if one_node else \
        f"AND {position_sql('u.node_key', positions)} >= 0"
    return f"""
WITH {visits_cte(dialect, positions, customers=customers)},
at_node AS (
    SELECT pos, customer_id, MAX(moved) AS moved FROM visits {'WHERE pos = :node_pos' if one_node else ''}
    GROUP BY pos, customer_id
),
totals AS (SELECT pos, COUNT(*) AS n, SUM(moved) AS moved FROM at_node GROUP BY pos),
received AS (
    SELECT DISTINCT u.material_id, {position_sql('u.node_key', positions)} AS pos, u.customer_id
    FROM material_uses u JOIN materials m ON m.id = u.material_id
    WHERE m.org_id = :org AND u.customer_id IS NOT NULL {node_filter}
),
treated AS (
    SELECT r.material_id, r.pos, COUNT(*) AS n, SUM(a.moved) AS moved
    FROM received r JOIN at_node a ON a.pos = r.pos AND a.customer_id = r.customer_id
    GROUP BY r.material_id, r.pos
)
SELECT t.material_id, t.pos, t.n, t.moved, tot.n - t.n, tot.moved - t.moved
FROM treated t JOIN totals tot ON tot.pos = t.pos
ORDER BY t.pos, t.material_id
"""


def material_effectiveness(s: Session, actor: User, playbook: Playbook | str | int | None = None, *,
                           node_key: str | None = None, since=None, until=None,
                           min_count: int = MIN_COUNT) -> list[MaterialEffect]:
    """Per (material, node) of the playbook — or one node — the with/without conversions of the
    customers who reached the node in the period. Materials never sent there have no row."""
    pb = resolve_playbook(s, actor, playbook)
    if not pb.nodes:
        return []
    positions = [n.position for n in pb.nodes]
    key_at = {n.position: n.key for n in pb.nodes}
    binds, params = visits_params(pb, since, until)
    params["org"] = actor.org_id
    if node_key is not None:
        node = pb.node(node_key)
        if node is None:
            raise NotFound(f"node {node_key} not in {pb.key}", entity="node", ref=node_key)
        params.update(node=node.key, node_pos=node.position)
    stmt = text(_effect_sql(s.get_bind().dialect.name, positions, node_key is not None)).bindparams(*binds)
    return [MaterialEffect(material_id, key_at[pos], n, moved or 0, n_without, moved_without or 0, min_count)
            for material_id, pos, n, moved, n_without, moved_without in s.execute(stmt, params)]


@dataclass(frozen=True)
class RankedMaterial:
    material: Material
    effect: MaterialEffect | None  # None: never sent at this node to a customer who reached it
    linked: bool  # the catalogue links it to the node

    @property
    def tier(self) -> int:
        """0 better · 1 enough data, not worse, lift ≥ 0 · 2 no claim yet (linked first) · 3 lift < 0 · 4 worse"""
        e = self.effect
        if e is None or not e.enough:
            return 2
        if e.verdict == "better":
            return 0
        if e.verdict == "worse":
            return 4
        return 1 if e.lift >= 0 else 3


def rank_for_node(materials: list[Material], effects: list[MaterialEffect], node_key: str) -> list[RankedMaterial]:
    """Best first: proven better, then positive, then no claim yet (the catalogue's own choice
    for the node first, then the most sent), then negative, then proven worse."""
    by_id = {e.material_id: e for e in effects if e.node_key == node_key}
    ranked = [RankedMaterial(m, by_id.get(m.id), node_key in (m.node_keys or [])) for m in materials]

    def key(r: RankedMaterial):
        e = r.effect
        return (r.tier, -(e.lift or 0.0) if e and e.enough else 0.0, not r.linked,
                -(e.with_n if e else 0), r.material.id)
    return sorted(ranked, key=key)


def materials_for_node(s: Session, actor: User, node_key: str, playbook: Playbook | str | int | None = None, *,
                       since=None, until=None, limit: int = 10, min_count: int = MIN_COUNT) -> list[RankedMaterial]:
    """For `/m` at a node: the material linked to the node or sent there, best first."""
    pb = resolve_playbook(s, actor, playbook)
    effects = material_effectiveness(s, actor, pb, node_key=node_key, since=since, until=until,
                                     min_count=min_count) if pb.node(node_key) else []
    sent = {e.material_id for e in effects}
    materials = [m for m in s.scalars(select(Material).where(Material.org_id == actor.org_id,
                                                             Material.active.is_(True)).order_by(Material.id))
                 if node_key in (m.node_keys or []) or m.id in sent]
    return rank_for_node(materials, effects, node_key)[:limit]


def suggest_for_stuck(s: Session, actor: User, funnel_result, *, limit: int = 2,
                      min_count: int = MIN_COUNT) -> list[RankedMaterial]:
    """Material for the funnel's stuck node: proven or promising material first, else what the
    catalogue links to the node; nothing proven worse. [] when there is no stuck node."""
    if funnel_result.stuck is None:
        return []
    ranked = materials_for_node(s, actor, funnel_result.stuck.key, funnel_result.playbook_key,
                                since=funnel_result.since, until=funnel_result.until, limit=50, min_count=min_count)
    return [r for r in ranked if r.tier < 3][:limit]


__all__ = ["MaterialEffect", "RankedMaterial", "material_effectiveness", "materials_for_node", "rank_for_node",
           "suggest_for_stuck", "uses_count"]
