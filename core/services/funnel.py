"""节点漏斗: how customers flow through a playbook's nodes, and where they get stuck.

What is counted (the definitions the figures, the chart and the tests share)
------------------------------------------------------------------------------
A *visit* of node N starts with an ``entered`` event for N (``start_playbook`` writes one for
the first node, ``finish_node`` done/skipped one for the next node, ``move_to_node`` one for any
node). It ends at the customer's next event that is not ``failed``, in (occurred_at, id) order:

* ``done`` / ``skipped`` at N — the customer **moved on** (a skip counts as moving on: the deal
  did get past the node; ``skipped`` also counts the customers who skipped N in the period);
* ``entered`` at a later node (a jump forward with ``move_to_node``) — **moved on**;
* ``entered`` at N itself or an earlier node (a re-entry, the deal re-opened) — **moved back**:
  the visit is over, not converted; the re-entered node gets a new visit;
* nothing yet — the visit is **open**: the customer is still there, or was lost there (a lost
  deal's last event is ``failed``; it never leaves).

A ``failed`` event keeps the customer on the node (``finish_node`` semantics): it neither ends
the visit nor converts (its time counts as dwell); ``failed`` counts the customers with at least
one failed attempt at N in the period.

The period [since, until) selects visits by the time they *entered* the node, and nothing after
``until`` is seen, so a past period reads as it stood then. Per node, counting *customers*
(a customer who re-entered a node counts once):

* ``reached``  — customers with a visit entered in the period;
* ``moved_on`` — of those, customers with a visit that moved on (by ``until``);
* conversion  = moved_on / reached; customers still in progress count as not (yet) converted;
* ``moved_back`` — customers with a visit that ended by going back; ``still_open`` — visits
  with no exit by ``until`` (still there, or lost there);
* dwell (median, p90) — entering to leaving, over the period's visits that left (moved on or
  back; each visit counts); open visits have no dwell yet. Exact to the second where one visit
  falls in an hour of dwell, interpolated within the hour otherwise (an hourly histogram);
* ``current`` — customers sitting at the node *now* (their progress points there, they are
  active and neither won nor lost), whatever the period; ``current_median_days`` how long.

Scope: whose customers (by current owner): a rep's, a team's (its members'), or the whole
organisation's. A rep may ask for their own funnel only, a manager for their team or a rep in
it, an admin for anything in their organisation. Soft-deleted customers are left out.

The stuck node (卡点) is the node that is worst relative to its norm, either
* ``conversion``: baseline / conversion, the baseline being the organisation's conversion at
  that node in the same period (for the organisation itself: the playbook's overall step
  conversion, so its worst-converting node stands out), or
* ``dwell``: median dwell / the node's ``expected_dwell_days``;
the highest ratio above 1 wins; a node needs ``min_count`` customers (or left visits) to be
judged. The reason is structured (kind + figures) so the chat layer words it in zh/en.

Everything per node comes from ONE SQL statement, percentiles included; Python only picks the
stuck node among the per-node rows. It reads the visits materialised in ``node_visits``
(core.services.visits derives them from node events by the rules above and keeps them in step
where events are written), so the flow is a GROUP BY over visits; only the small per-node
histograms and the customers sitting now use window functions (SUM OVER, ROW_NUMBER, which
SQLite ≥ 3.25 and PostgreSQL share). The organisation's baseline is computed in the same pass,
so a team's or a rep's funnel reads the organisation's visits too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import DateTime, String, bindparam, select, text
from sqlalchemy.orm import Session

from core.db import utcnow
from core.errors import AccessDenied, Invalid, NotFound
from core.models import Customer, CustomerProgress, Organisation, Playbook, Team, User
from core.services.access import visible_clause
from core.services.playbooks import default_playbook_for, get_playbook

MIN_COUNT = 5  # customers a node needs before the stuck-node choice judges it
SCOPE_KINDS = ("rep", "team", "org")
_BEGINNING = datetime(1900, 1, 1)
_END = datetime(9999, 12, 31)
_EPOCH = datetime(1970, 1, 1)
_DAY = 86400.0
_MAX_SEVERITY = 10.0  # a node nobody passes is "10x worse", not infinitely


# ---------------------------------------------------------------- scope
@dataclass(frozen=True)
class Scope:
    kind: str  # rep | team | org
    org_id: int
    label: str  # the rep's or team's name, or the organisation's
    team_id: int | None = None
    user_id: int | None = None


def _find_user(s: Session, actor: User, ref: str | int | User) -> User:
    if isinstance(ref, User):
        user = ref
    elif isinstance(ref, int) or str(ref).isdigit():
        user = s.get(User, int(ref))
    else:
        user = s.scalar(select(User).where(User.login == str(ref), User.org_id == actor.org_id))
    if user is None or user.org_id != actor.org_id or not user.active:
        raise NotFound(f"user {ref} not found", entity="user", ref=str(getattr(ref, "login", ref)))
    return user


def _find_team(s: Session, actor: User, ref: str | int | Team) -> Team:
    if isinstance(ref, Team):
        team = ref
    elif isinstance(ref, int) or str(ref).isdigit():
        team = s.get(Team, int(ref))
    else:
        team = s.scalar(select(Team).where(Team.name == str(ref), Team.org_id == actor.org_id))
    if team is None or team.org_id != actor.org_id:
        raise NotFound(f"team {ref} not found", entity="team", ref=str(getattr(ref, "name", ref)))
    return team


def resolve_scope(s: Session, actor: User, *, team: str | int | Team | None = None,
                  rep: str | int | User | None = None, org: bool = False) -> Scope:
    """The scope asked for, or the actor's natural one (rep: own, manager: team, admin: the
    organisation). Raises AccessDenied(entity="funnel") outside the actor's reach."""
    def denied(what: str) -> AccessDenied:
        return AccessDenied(f"{actor.login} may not see the funnel of {what}", entity="funnel", ref=what)

    if rep is not None:
        target = _find_user(s, actor, rep)
        allowed = (actor.role == "admin" or target.id == actor.id
                   or (actor.role == "manager" and actor.team_id is not None and target.team_id == actor.team_id))
        if not allowed:
            raise denied(target.login)
        return Scope("rep", actor.org_id, target.name or target.login, team_id=target.team_id, user_id=target.id)
    if team is None and not org:
        if actor.role == "rep":
            return Scope("rep", actor.org_id, actor.name or actor.login, team_id=actor.team_id, user_id=actor.id)
        if actor.role == "manager" and actor.team_id is not None:
            team = actor.team_id
        else:
            org = actor.role == "admin"
            if not org:  # a manager without a team: their own customers
                return Scope("rep", actor.org_id, actor.name or actor.login, user_id=actor.id)
    if team is not None:
        target_team = _find_team(s, actor, team)
        if not (actor.role == "admin" or (actor.role == "manager" and actor.team_id == target_team.id)):
            raise denied(target_team.name)
        return Scope("team", actor.org_id, target_team.name, team_id=target_team.id)
    if actor.role != "admin":
        raise denied("organisation")
    org_row = s.get(Organisation, actor.org_id)
    return Scope("org", actor.org_id, org_row.name if org_row else "")


def _checked(s: Session, actor: User, scope: Scope | None, team, rep, org: bool) -> Scope:
    """The scope to use; one handed in (e.g. from a button) is checked again like a new ask."""
    if scope is None:
        return resolve_scope(s, actor, team=team, rep=rep, org=org)
    if scope.kind not in SCOPE_KINDS or scope.org_id != actor.org_id:
        raise AccessDenied("not this organisation's funnel", entity="funnel", ref=scope.label)
    return resolve_scope(s, actor, rep=scope.user_id if scope.kind == "rep" else None,
                         team=scope.team_id if scope.kind == "team" else None, org=scope.kind == "org")


def scope_playbook(s: Session, actor: User, scope: Scope, playbook: Playbook | str | int | None) -> Playbook:
    """The playbook asked for (key or id), else the one the scope's customers start on."""
    if isinstance(playbook, Playbook):
        if playbook.org_id != actor.org_id:
            raise NotFound("playbook not found", entity="playbook", ref=playbook.key)
        return playbook
    if playbook is not None and str(playbook) != "":
        return get_playbook(s, actor.org_id, playbook)
    pb = None
    if scope.kind == "rep":
        pb = default_playbook_for(s, s.get(User, scope.user_id))
    elif scope.kind == "team":
        team = s.get(Team, scope.team_id)
        pb = s.get(Playbook, team.playbook_id) if team.playbook_id else None
    if pb is None:
        pb = s.scalar(select(Playbook).where(Playbook.org_id == actor.org_id, Playbook.active.is_(True))
                      .order_by(Playbook.id).limit(1))
    if pb is None:
        raise NotFound("no playbook configured", entity="playbook", ref="")
    return pb


# ---------------------------------------------------------------- results
@dataclass(frozen=True)
class NodeFunnel:
    key: str
    title: str
    position: int
    expected_dwell_days: int
    reached: int = 0
    moved_on: int = 0
    skipped: int = 0  # of moved_on: by skipping the node
    moved_back: int = 0  # sent back to this or an earlier node (re-entry)
    still_open: int = 0  # no exit by `until`: still there, or lost there
    failed: int = 0  # customers with at least one failed attempt in the period
    left_visits: int = 0  # visits the dwell figures are computed over
    dwell_median_days: float | None = None
    dwell_p90_days: float | None = None
    current: int = 0
    current_median_days: float | None = None
    current_max_days: float | None = None
    org_reached: int = 0  # the organisation's figures for the same node and period (baseline)
    org_moved_on: int = 0

    @property
    def conversion(self) -> float | None:
        return self.moved_on / self.reached if self.reached else None

    @property
    def org_conversion(self) -> float | None:
        return self.org_moved_on / self.org_reached if self.org_reached else None

    def as_dict(self) -> dict:
        conv = self.conversion
        return {
            "key": self.key, "title": self.title, "position": self.position,
            "expected_dwell_days": self.expected_dwell_days, "reached": self.reached, "moved_on": self.moved_on,
            "conversion_pct": None if conv is None else round(100 * conv, 1),
            "skipped": self.skipped, "moved_back": self.moved_back, "still_open": self.still_open,
            "failed": self.failed, "dwell_median_days": _r(self.dwell_median_days),
            "dwell_p90_days": _r(self.dwell_p90_days), "left_visits": self.left_visits,
            "current": self.current, "current_median_days": _r(self.current_median_days),
            "current_max_days": _r(self.current_max_days),
            "org_conversion_pct": None if self.org_conversion is None else round(100 * self.org_conversion, 1),
        }


@dataclass(frozen=True)
class StuckNode:
    """kind "conversion": figures conversion, baseline (fractions), baseline_kind ("org" |
    "playbook"), reached, moved_on. kind "dwell": median_days, expected_days, left_visits.
    Both: severity (how many times worse than the norm) and current (sitting there now)."""

    key: str
    title: str
    kind: str
    severity: float
    figures: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"key": self.key, "title": self.title, "kind": self.kind, "severity": round(self.severity, 2),
                "figures": {k: _r(v) if isinstance(v, float) else v for k, v in self.figures.items()}}


@dataclass(frozen=True)
class Funnel:
    playbook_id: int
    playbook_key: str
    playbook_name: str
    scope: Scope
    since: datetime | None
    until: datetime | None
    now: datetime
    nodes: list[NodeFunnel]
    stuck: StuckNode | None

    def node(self, key: str) -> NodeFunnel | None:
        return next((n for n in self.nodes if n.key == key), None)

    def as_dict(self) -> dict:
        return {"playbook": {"key": self.playbook_key, "name": self.playbook_name},
                "scope": {"kind": self.scope.kind, "label": self.scope.label, "team_id": self.scope.team_id,
                          "user_id": self.scope.user_id},
                "since": self.since, "until": self.until, "now": self.now,
                "nodes": [n.as_dict() for n in self.nodes],
                "stuck": self.stuck.as_dict() if self.stuck else None}


def _r(value: float | None, places: int = 2) -> float | None:
    return None if value is None else round(value, places)


# ---------------------------------------------------------------- the one statement
_END_CODE = 1023  # "passed the last node" in the packed next-event code; positions stay below it


def _epoch(dialect: str, column: str) -> str:
    """Whole seconds since 1970 (fractions dropped alike on both databases)."""
    if dialect == "sqlite":
        return f"CAST(strftime('%s', {column}) AS INTEGER)"
    return f"CAST(FLOOR(EXTRACT(EPOCH FROM {column})) AS BIGINT)"


def _scope_filter(scope: Scope, column: str) -> str:
    """SQL restricting `column` (a customers.owner_id) to the scope's owners."""
    if scope.kind == "rep":
        return f"{column} = :scope_user"
    if scope.kind == "team":
        return f"{column} IN (SELECT u.id FROM users u WHERE u.team_id = :scope_team)"
    return "1 = 1"


def position_sql(column: str, positions: list[int]) -> str:
    """The node's position, node keys bound as :k0.. (a CASE, no join per event row)."""
    whens = " ".join(f"WHEN :k{i} THEN {int(position)}" for i, position in enumerate(positions))
    return f"(CASE {column} {whens} ELSE -1 END)"


def _at_rank(rank: str) -> str:
    """The value at 0-based `rank` from the histogram bin holding it, the bin's values taken as
    evenly spread between its smallest and largest (exact when a bin holds one value)."""
    return (f"MAX(CASE WHEN {rank} >= before AND {rank} < before + cnt "
            f"THEN lo + (hi - lo) * 1.0 * ({rank} - before) / (CASE WHEN cnt > 1 THEN cnt - 1 ELSE 1 END) END)")


def _exit_code(positions: list[int], alias: str) -> str:
    """Where visit `alias` went: the entered node's position, 1023 when the last node was
    finished (done/skipped), -1 for a node no longer in the playbook (read as moved on, as the
    old packed seconds * 1024 + position code of the window query did)."""
    return (f"(CASE WHEN {alias}.outcome = 'entered' THEN {position_sql(f'{alias}.exit_node_key', positions)} "
            f"ELSE {_END_CODE} END)")


def _forward_sql(positions: list[int], alias: str) -> str:
    """Whether visit (or visit group) `alias` left forward: past its node, or out of the playbook."""
    code, pos = _exit_code(positions, alias), position_sql(f"{alias}.node_key", positions)
    return f"({code} > {pos} OR {code} = -1)"


def _moved_sql(positions: list[int], alias: str, on: bool = True) -> str:
    """1 when visit `alias` left by :until forward (on) or back (not on), else 0."""
    forward = _forward_sql(positions, alias)
    return f"CASE WHEN {alias}.left_at < :until AND {'' if on else 'NOT '}{forward} THEN 1 ELSE 0 END"


def _open_sql(alias: str) -> str:
    return f"CASE WHEN {alias}.left_at IS NULL OR {alias}.left_at >= :until THEN 1 ELSE 0 END"


def visits_cte(dialect: str, positions: list[int], *, in_scope: str = "1", customers: str = "") -> str:
    """The CTE `visits`: one row per visit (see the module docstring) entered in [:since,
    :until), of playbook :pb, of active customers of organisation :org: customer_id, pos (the
    node's position), in_scope (the SQL given, over v.customer_id), moved (1: moved on by
    :until), still_open (1: no exit by :until), dwell (seconds, entering to leaving; meaningless
    while open). Node keys are bound as :k0... `customers`: an extra condition on e.customer_id
    (e: the node_visits row), to read fewer customers.

    Reads node_visits (materialised by core.services.visits), no window; node positions are
    looked up when read, so moved on / back follow the playbook's node order as it stands."""
    extra = f"\n          AND {customers}" if customers else ""
    return f"""visits AS (
    SELECT e.customer_id AS customer_id, {position_sql("e.node_key", positions)} AS pos,
           {in_scope.replace('v.customer_id', 'e.customer_id')} AS in_scope,
           {_moved_sql(positions, 'e')} AS moved, {_open_sql('e')} AS still_open, e.dwell_seconds AS dwell
    FROM node_visits e
    WHERE e.playbook_id = :pb
      AND e.entered_at >= :since AND e.entered_at < :until
      AND e.customer_id NOT IN (SELECT c.id FROM customers c WHERE c.org_id = :org AND NOT c.active){extra}
)"""


def visits_params(pb: Playbook, since: datetime | None, until: datetime | None) -> tuple[list, dict]:
    """The typed bind parameters and values visits_cte needs (all but :org)."""
    keys = [n.key for n in pb.nodes]
    binds = [bindparam("since", type_=DateTime), bindparam("until", type_=DateTime),
             *[bindparam(f"k{i}", type_=String) for i in range(len(keys))]]
    values = {"pb": pb.id, "since": since or _BEGINNING,
              "until": until or _END, **{f"k{i}": key for i, key in enumerate(keys)}}
    return binds, values


def _flow_ctes(positions: list[int], name: str, where: str, hint: str, unary: str) -> str:
    """Two CTEs over the visits of playbook :pb entered in the period that meet `where`:
    {name}_fresh, the first visits of a customer to a node (most visits; each is a customer of its
    own, so they are only counted, grouped by where they went: node_key, outcome, exit_node_key,
    n, n_left = left by :until), and {name}_repeat, the re-entries (a few), one row each: node_key,
    moved, back, still_open, and prior, what an earlier visit of the customer to the node in the
    period already counted (1 reached, 2 moved on, 4 moved back), looked up once per re-entry."""
    period = f"{unary}v.entered_at >= :since AND {unary}v.entered_at < :until"
    moved_p, back_p = _moved_sql(positions, "p"), _moved_sql(positions, "p", on=False)
    return f"""{name}_fresh AS MATERIALIZED (
    SELECT v.node_key, v.outcome, v.exit_node_key, COUNT(*) AS n,
           SUM(CASE WHEN v.left_at < :until THEN 1 ELSE 0 END) AS n_left
    FROM node_visits v{hint}
    WHERE v.playbook_id = :pb AND v.reentry = FALSE AND {period} AND {where}
    GROUP BY v.node_key, v.outcome, v.exit_node_key
),
{name}_repeat AS MATERIALIZED (
    SELECT v.node_key, {_moved_sql(positions, 'v')} AS moved, {_moved_sql(positions, 'v', on=False)} AS back,
           {_open_sql('v')} AS still_open,
           COALESCE((SELECT 1 + 2 * MAX({moved_p}) + 4 * MAX({back_p})
                     FROM node_visits p
                     WHERE p.customer_id = v.customer_id AND p.playbook_id = :pb AND p.node_key = v.node_key
                       AND p.entered_at >= :since
                       AND (p.entered_at < v.entered_at
                            OR (p.entered_at = v.entered_at AND p.entered_event_id < v.entered_event_id))), 0) AS prior
    FROM node_visits v{hint}
    WHERE v.playbook_id = :pb AND v.reentry = TRUE AND {period} AND {where}
)"""


def _funnel_sql(dialect: str, scope: Scope, positions: list[int], *, all_time: bool = True) -> str:
    """One statement; per node: flow (scope and organisation), dwell percentiles, failed and
    skipped customers, who sits there now. The flow counts first visits grouped by node and exit
    and adds the re-entries one by one (see _flow_ctes); the dwell percentiles come from an
    hourly histogram per node (exact where a bin holds one value, within the hour otherwise). On
    SQLite, for all time, both read an index already in node (and hour) order, so neither sorts
    the organisation's visits; a team's or a rep's own figures read their customers' visits."""
    org_scope = scope.kind == "org"
    # SQLite, all time (from the beginning): read the organisation's visits in index order, no
    # sort; a period from a date on: the range of the period index, let the planner choose
    in_order = dialect == "sqlite" and all_time
    flow_index = " INDEXED BY ix_node_visits_funnel" if in_order else ""
    dwell_index = " INDEXED BY ix_node_visits_dwell" if in_order else ""
    # unary + keeps SQLite from a skip-scan on entered_at that would lose the index's node order
    unary = "+" if in_order else ""
    # failed/skipped marks and who sits now: the organisation's active customers (the playbook's
    # customers are the organisation's), else the scope's, looked up as one list
    active_scope = f"SELECT c.id FROM customers c WHERE c.org_id = :org AND c.active AND {_scope_filter(scope, 'c.owner_id')}"
    if org_scope:
        marks_customers = "e.customer_id NOT IN (SELECT c.id FROM customers c WHERE c.org_id = :org AND NOT c.active)"
        sitting_from = "customer_progress p JOIN customers c ON c.id = p.customer_id"
        sitting_customers = "c.org_id = :org AND c.active AND c.status NOT IN ('won', 'lost')"
    else:
        marks_customers = f"e.customer_id IN ({active_scope})"
        sitting_from = "customer_progress p"
        sitting_customers = f"p.customer_id IN ({active_scope} AND c.status NOT IN ('won', 'lost'))"
    inactive = "SELECT c.id FROM customers c WHERE c.org_id = :org AND NOT c.active"
    # the organisation's visits in node order (SQLite: the flow index, no sort); a team's or a
    # rep's own figures from their customers' visits (the customer index)
    org_where = f"v.customer_id NOT IN ({inactive})"
    flow_ctes = _flow_ctes(positions, "o", org_where, flow_index, unary)
    if org_scope:
        flow_ctes += ",\ns_fresh AS (SELECT * FROM o_fresh),\ns_repeat AS (SELECT * FROM o_repeat)"
    else:
        flow_ctes += ",\n" + _flow_ctes(positions, "s", f"v.customer_id IN ({active_scope})", "", "")
    forward = _forward_sql(positions, "g")
    return f"""
WITH {flow_ctes},
flow AS (
    SELECT node_key, SUM(reached) AS reached, SUM(moved_on) AS moved_on, SUM(moved_back) AS moved_back,
           SUM(still_open) AS still_open, SUM(org_reached) AS org_reached, SUM(org_moved_on) AS org_moved_on
    FROM (
        SELECT g.node_key, g.n AS reached, CASE WHEN {forward} THEN g.n_left ELSE 0 END AS moved_on,
               CASE WHEN {forward} THEN 0 ELSE g.n_left END AS moved_back, g.n - g.n_left AS still_open,
               0 AS org_reached, 0 AS org_moved_on
        FROM s_fresh g
        UNION ALL
        SELECT r.node_key, 1 - (r.prior & 1), r.moved * (1 - (r.prior & 2) / 2), r.back * (1 - (r.prior & 4) / 4),
               r.still_open, 0, 0
        FROM s_repeat r
        UNION ALL
        SELECT g.node_key, 0, 0, 0, 0, g.n, CASE WHEN {forward} THEN g.n_left ELSE 0 END
        FROM o_fresh g
        UNION ALL
        SELECT r.node_key, 0, 0, 0, 0, 1 - (r.prior & 1), r.moved * (1 - (r.prior & 2) / 2)
        FROM o_repeat r
    ) x
    GROUP BY node_key
),
hist AS (
    SELECT v.node_key, v.dwell_hour AS bin, COUNT(*) AS cnt, MIN(v.dwell_seconds) AS lo, MAX(v.dwell_seconds) AS hi
    FROM node_visits v{dwell_index if org_scope else ''}
    WHERE v.playbook_id = :pb AND {unary}v.entered_at >= :since AND {unary}v.entered_at < :until AND v.left_at < :until
      AND {org_where if org_scope else f"v.customer_id IN ({active_scope})"}
    GROUP BY v.node_key, v.dwell_hour
),
cum AS (
    SELECT node_key, cnt, lo, hi,
           SUM(cnt) OVER (PARTITION BY node_key ORDER BY bin ROWS UNBOUNDED PRECEDING) - cnt AS before,
           SUM(cnt) OVER (PARTITION BY node_key) AS n
    FROM hist
),
dwell_agg AS (
    SELECT node_key, MAX(n) AS n,
           ({_at_rank('(n - 1) / 2')} + {_at_rank('n / 2')}) / 2.0 AS median,
           {_at_rank('(n - 1) * 9 / 10')} + ((MAX(n) - 1) * 9 % 10) / 10.0
             * (COALESCE({_at_rank('(n - 1) * 9 / 10 + 1')}, {_at_rank('(n - 1) * 9 / 10')})
                - {_at_rank('(n - 1) * 9 / 10')}) AS p90
    FROM cum GROUP BY node_key
),
marks AS (
    SELECT e.node_key,
           COUNT(DISTINCT CASE WHEN e.outcome = 'failed' THEN e.customer_id END) AS failed,
           COUNT(DISTINCT CASE WHEN e.outcome = 'skipped' THEN e.customer_id END) AS skipped
    FROM node_events e
    WHERE e.playbook_id = :pb AND e.outcome IN ('failed', 'skipped')
      AND e.occurred_at >= :since AND e.occurred_at < :until
      AND {marks_customers}
    GROUP BY e.node_key
),
sitting AS (
    SELECT p.current_node_key AS node_key, :now_secs - {_epoch(dialect, 'p.entered_at')} AS d,
           ROW_NUMBER() OVER w - 1 AS rn,
           COUNT(*) OVER (w ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING) AS n
    FROM {sitting_from}
    WHERE p.playbook_id = :pb AND p.current_node_key IS NOT NULL
      AND {sitting_customers}
    WINDOW w AS (PARTITION BY p.current_node_key ORDER BY p.entered_at, p.customer_id)
),
current_agg AS (
    SELECT node_key, MAX(n) AS n,
           (MAX(CASE WHEN rn = (n - 1) / 2 THEN d END) + MAX(CASE WHEN rn = n / 2 THEN d END)) / 2.0 AS median,
           MAX(d) AS longest
    FROM sitting GROUP BY node_key
)
SELECT nd.key, f.reached, f.moved_on, mk.skipped, f.moved_back, f.still_open, f.org_reached, f.org_moved_on,
       dw.n, dw.median, dw.p90, mk.failed, ca.n, ca.median, ca.longest
FROM nodes nd
LEFT JOIN flow f ON f.node_key = nd.key
LEFT JOIN dwell_agg dw ON dw.node_key = nd.key
LEFT JOIN marks mk ON mk.node_key = nd.key
LEFT JOIN current_agg ca ON ca.node_key = nd.key
WHERE nd.playbook_id = :pb
ORDER BY nd.position
"""


def _days(seconds) -> float | None:
    return None if seconds is None else float(seconds) / _DAY


def _run_funnel_sql(s: Session, pb: Playbook, scope: Scope, since: datetime | None, until: datetime | None,
                    now: datetime) -> list[NodeFunnel]:
    dialect = s.get_bind().dialect.name
    keys = [n.key for n in pb.nodes]
    if not keys:
        return []
    binds, params = visits_params(pb, since, until)
    stmt = text(_funnel_sql(dialect, scope, [n.position for n in pb.nodes], all_time=since is None)).bindparams(*binds)
    params.update(org=scope.org_id, now_secs=int((now - _EPOCH).total_seconds()))
    if scope.kind == "rep":
        params["scope_user"] = scope.user_id
    elif scope.kind == "team":
        params["scope_team"] = scope.team_id
    if dialect == "postgresql":
        # the per-node sorts of a few hundred thousand visits would spill to disk at the default
        # 4 MB; SET LOCAL ends with this transaction
        s.execute(text("SET LOCAL work_mem = '64MB'"))
    rows = {r[0]: r for r in s.execute(stmt, params)}
    out = []
    for node in pb.nodes:
        r = rows.get(node.key)
        if r is None:
            out.append(NodeFunnel(node.key, node.title, node.position, node.expected_dwell_days))
            continue
        (_, reached, moved_on, skipped, back, still_open, org_reached, org_moved_on,
         n_left, median, p90, failed, n_current, current_median, longest) = r
        out.append(NodeFunnel(
            node.key, node.title, node.position, node.expected_dwell_days,
            # PostgreSQL sums counts as numeric: whole numbers as int
            reached=int(reached or 0), moved_on=int(moved_on or 0), skipped=skipped or 0, moved_back=int(back or 0),
            still_open=int(still_open or 0), failed=failed or 0, left_visits=n_left or 0,
            dwell_median_days=_days(median), dwell_p90_days=_days(p90),
            current=n_current or 0, current_median_days=_days(current_median), current_max_days=_days(longest),
            org_reached=int(org_reached or 0), org_moved_on=int(org_moved_on or 0)))
    return out


# ---------------------------------------------------------------- the stuck node
def choose_stuck(nodes: list[NodeFunnel], scope_kind: str, *, min_count: int = MIN_COUNT) -> StuckNode | None:
    """The node worst relative to its norm (see the module docstring), or None when no node
    with enough data is worse than its norm."""
    pooled_reached = sum(n.reached for n in nodes)
    pooled = sum(n.moved_on for n in nodes) / pooled_reached if pooled_reached else None
    candidates: list[StuckNode] = []
    for n in nodes:
        common = {"current": n.current}
        if n.reached >= min_count:
            if scope_kind != "org" and n.org_reached >= min_count:
                baseline, baseline_kind = n.org_conversion, "org"
            else:
                baseline, baseline_kind = pooled, "playbook"
            conv = n.conversion
            if baseline:
                severity = _MAX_SEVERITY if conv == 0 else min(_MAX_SEVERITY, baseline / conv)
                candidates.append(StuckNode(n.key, n.title, "conversion", severity, {
                    "conversion": conv, "baseline": baseline, "baseline_kind": baseline_kind,
                    "reached": n.reached, "moved_on": n.moved_on, **common}))
        if n.left_visits >= min_count and n.dwell_median_days is not None:
            expected = max(n.expected_dwell_days, 1)
            candidates.append(StuckNode(n.key, n.title, "dwell", n.dwell_median_days / expected, {
                "median_days": n.dwell_median_days, "expected_days": n.expected_dwell_days,
                "left_visits": n.left_visits, **common}))
    worse = [c for c in candidates if c.severity > 1.0]
    if not worse:
        return None
    position = {n.key: n.position for n in nodes}
    return max(worse, key=lambda c: (round(c.severity, 6), -position[c.key]))


# ---------------------------------------------------------------- the service
def funnel(s: Session, actor: User, playbook: Playbook | str | int | None = None, *,
           team: str | int | Team | None = None, rep: str | int | User | None = None, org: bool = False,
           scope: Scope | None = None, since: datetime | None = None, until: datetime | None = None,
           now: datetime | None = None, min_count: int = MIN_COUNT) -> Funnel:
    """The node funnel of a playbook for a scope and period (naive UTC; None = open-ended)."""
    if since is not None and until is not None and since >= until:
        raise Invalid("the period ends before it starts", field="period")
    scope = _checked(s, actor, scope, team, rep, org)
    pb = scope_playbook(s, actor, scope, playbook)
    now = now or utcnow()
    nodes = _run_funnel_sql(s, pb, scope, since, until, now)
    return Funnel(pb.id, pb.key, pb.name, scope, since, until, now, nodes,
                  choose_stuck(nodes, scope.kind, min_count=min_count))


@dataclass(frozen=True)
class StuckCustomer:
    customer_id: int
    name: str
    owner_id: int
    owner_name: str
    status: str
    entered_at: datetime
    days: float
    expected_days: int

    @property
    def overdue(self) -> bool:
        return self.days > self.expected_days


def stuck_customers(s: Session, actor: User, node_key: str, playbook: Playbook | str | int | None = None, *,
                    team: str | int | Team | None = None, rep: str | int | User | None = None, org: bool = False,
                    scope: Scope | None = None, now: datetime | None = None, limit: int = 20) -> list[StuckCustomer]:
    """Drill-down: the customers of the scope sitting at the node now, visible to the actor,
    longest first."""
    scope = _checked(s, actor, scope, team, rep, org)
    pb = scope_playbook(s, actor, scope, playbook)
    node = pb.node(node_key)
    if node is None:
        raise NotFound(f"node {node_key} not in {pb.key}", entity="node", ref=node_key)
    now = now or utcnow()
    q = (select(Customer, CustomerProgress.entered_at)
         .join(CustomerProgress, CustomerProgress.customer_id == Customer.id)
         .where(CustomerProgress.playbook_id == pb.id, CustomerProgress.current_node_key == node.key,
                Customer.org_id == scope.org_id, Customer.active.is_(True), Customer.status.notin_(("won", "lost")),
                visible_clause(actor))
         .order_by(CustomerProgress.entered_at, Customer.id).limit(limit))
    if scope.kind == "rep":
        q = q.where(Customer.owner_id == scope.user_id)
    elif scope.kind == "team":
        q = q.where(Customer.owner_id.in_(select(User.id).where(User.team_id == scope.team_id)))
    out = []
    for customer, entered_at in s.execute(q):
        owner = customer.owner
        out.append(StuckCustomer(customer.id, customer.name, customer.owner_id,
                                 (owner.name or owner.login) if owner else "", customer.status, entered_at,
                                 max(0.0, (now - entered_at).total_seconds() / _DAY), node.expected_dwell_days))
    return out


__all__ = ["MIN_COUNT", "Funnel", "NodeFunnel", "Scope", "StuckCustomer", "StuckNode", "choose_stuck", "funnel",
           "resolve_scope", "scope_playbook", "stuck_customers"]
