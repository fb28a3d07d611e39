"""Customers: create, find (fuzzy, pinyin), change, share, soft-delete, import."""
from __future__ import annotations

import csv
import io

from functools import lru_cache
from types import SimpleNamespace

from sqlalchemy import bindparam, select, union_all
from sqlalchemy.orm import Session

from core.errors import AccessDenied, Ambiguous, Duplicate, Invalid, NotFound
from core.models import CUSTOMER_STATUSES, Contact, Customer, CustomerSearchTerm, CustomerShare, User
from core.search import MAX_TERM, NAME_START, WEIGHTS, normalise, prefix_upper_bound
from core.services import playbooks as playbook_service
from core.services.access import acting, can_manage, get_customer, visible_clause
from core.services.users import get_user

IMPORT_COLUMNS = ("name", "aliases", "industry", "source", "owner", "status", "contact_name",
                  "contact_title", "contact_phone", "contact_email", "contact_wechat")


def _split_aliases(aliases) -> list[str]:
    if aliases is None:
        return []
    if isinstance(aliases, str):
        aliases = aliases.replace("，", ",").replace(";", ",").split(",")
    return [a.strip() for a in aliases if a and a.strip()]


def _check_duplicate(s: Session, org_id: int, name: str, exclude_id: int | None = None) -> None:
    norm = normalise(name)
    q = select(Customer).join(CustomerSearchTerm, CustomerSearchTerm.customer_id == Customer.id).where(
        Customer.org_id == org_id, Customer.active.is_(True), CustomerSearchTerm.weight == NAME_START,
        CustomerSearchTerm.term == norm[:MAX_TERM])
    for other in s.scalars(q):
        if other.id != exclude_id and normalise(other.name) == norm:
            raise Duplicate(f"customer {name} exists (#{other.id})", entity="customer",
                            ref=name, existing_id=other.id)


def create_customer(s: Session, actor: User, name: str, *, aliases=None, industry: str | None = None,
                    source: str | None = None, owner: User | None = None, status: str = "lead",
                    contact: dict | None = None, playbook_key: str | None = None) -> Customer:
    acting(s, actor)
    name = (name or "").strip()
    if not name:
        raise Invalid("customer name is empty", field="name")
    if status not in CUSTOMER_STATUSES:
        raise Invalid(f"unknown status {status}", field="status", value=status, allowed=CUSTOMER_STATUSES)
    owner = owner or actor
    if owner.id != actor.id and actor.role == "rep":
        raise AccessDenied("a rep creates customers for themselves", entity="customer")
    if owner.org_id != actor.org_id:
        raise AccessDenied("owner is in another organisation", entity="user")
    _check_duplicate(s, actor.org_id, name)
    alias_list = _split_aliases(aliases)
    customer = Customer(org_id=actor.org_id, name=name, aliases=alias_list, industry=industry,
                        source=source, owner_id=owner.id, status=status)
    customer.owner = owner
    s.add(customer)
    s.flush()
    if contact and contact.get("name"):
        add_contact(s, actor, customer.id, **contact)
    pb = (playbook_service.get_playbook(s, actor.org_id, playbook_key) if playbook_key
          else playbook_service.default_playbook_for(s, owner))
    if pb is not None:
        playbook_service.start_playbook(s, customer, pb, author=actor)
    return customer


def add_contact(s: Session, actor: User, customer_id: int, name: str, title: str | None = None,
                phone: str | None = None, email: str | None = None,
                wechat_id: str | None = None) -> Contact:
    acting(s, actor)
    customer = get_customer(s, actor, customer_id)
    if not (name or "").strip():
        raise Invalid("contact name is empty", field="contact_name")
    contact = Contact(customer_id=customer.id, name=name.strip(), title=title, phone=phone,
                      email=email, wechat_id=wechat_id)
    s.add(contact)
    s.flush()
    return contact


@lru_cache(maxsize=16)
def _find_statement(role: str, has_team: bool, include_closed: bool):
    """Built once per kind of actor: the actor's ids are bind parameters, so each find costs
    one execution of a cached statement instead of building SQL in Python."""
    actor = SimpleNamespace(id=bindparam("actor_id"), org_id=bindparam("org_id"), role=role,
                            team_id=bindparam("team_id") if has_team else None)
    term = CustomerSearchTerm
    conditions = [term.term >= bindparam("q"), term.term < bindparam("q_end"), visible_clause(actor),
                  Customer.active.is_(True)]
    if not include_closed:
        conditions.append(Customer.status.in_(("lead", "active")))
    # One ordered range scan per kind of match, each stopping at the limit, merged: an IN list over
    # the kinds would lose the (weight, term) index order on PostgreSQL, which then read every
    # matching term (thousands for two characters), joined each to its customer, owner and team, and
    # sorted. Only the few survivors are joined to their customers' owners. (100k customers,
    # PostgreSQL: admin p50 32.8 -> 4.2 ms, rep 19.8 -> 8.7 ms; SQLite rep 3.5 -> 4.1 ms, admin 1.4 both.)
    branches = [select(term.customer_id, term.weight, term.term).join(Customer, Customer.id == term.customer_id)
                .where(term.weight == weight, *conditions)
                .order_by(term.term, term.customer_id).limit(bindparam("scan")).subquery(f"w{weight}")
                for weight in WEIGHTS]
    found = union_all(*(select(branch) for branch in branches)).subquery("found")
    return (select(Customer, found.c.weight).join(found, found.c.customer_id == Customer.id)
            .order_by(found.c.weight, found.c.term, Customer.id).limit(bindparam("scan")))


def find_customers(s: Session, actor: User, query: str, *, limit: int = 10,
                   include_closed: bool = True) -> list[Customer]:
    """Fuzzy find among the customers the actor may see: name, alias, pinyin, initials. Ranked
    by kind of match (name start < name substring < alias < pinyin < initials), then by the
    matched text (an exact match sorts first, shorter before longer), then the customer created
    first: exactly the order of the (weight, term, customer_id) index, so each kind of match is one
    range scan that stops as soon as it has enough, in a single statement."""
    q = normalise(query)[:MAX_TERM]
    if not q:
        return []
    if q.lstrip("#").isdigit():
        try:
            return [get_customer(s, actor, int(q.lstrip("#")))]
        except (NotFound, AccessDenied):
            pass
    stmt = _find_statement(actor.role, actor.team_id is not None, include_closed)
    params = {"actor_id": actor.id, "org_id": actor.org_id, "team_id": actor.team_id, "q": q,
              "q_end": prefix_upper_bound(q), "scan": limit * 4}
    found: dict[int, Customer] = {}
    for customer, _weight in s.execute(stmt, params):
        found.setdefault(customer.id, customer)
        if len(found) == limit:
            break
    return list(found.values())


def resolve_customer(s: Session, actor: User, ref: str | int) -> Customer:
    """One customer from an id, '#id' or a name; several equally good matches are ambiguous."""
    if isinstance(ref, int):
        return get_customer(s, actor, ref)
    ref = str(ref).strip()
    if ref.lstrip("#").isdigit():
        return get_customer(s, actor, int(ref.lstrip("#")))
    matches = find_customers(s, actor, ref, limit=5)
    if not matches:
        raise NotFound(f"no customer matches {ref}", entity="customer", ref=ref)
    exact = [c for c in matches if normalise(c.name) == normalise(ref)]
    if len(exact) == 1 or len(matches) == 1:
        return exact[0] if exact else matches[0]
    raise Ambiguous(f"{ref} matches several customers", entity="customer", ref=ref,
                    candidates=[(c.id, c.name) for c in matches])


def list_customers(s: Session, actor: User, *, owner: User | None = None, status: str | None = None,
                   limit: int | None = None, offset: int = 0) -> list[Customer]:
    stmt = select(Customer).where(visible_clause(actor), Customer.active.is_(True)).order_by(Customer.id)
    if owner is not None:
        stmt = stmt.where(Customer.owner_id == owner.id)
    if status is not None:
        stmt = stmt.where(Customer.status == status)
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return list(s.scalars(stmt))


def update_customer(s: Session, actor: User, customer_id: int, **changes) -> Customer:
    acting(s, actor)
    customer = get_customer(s, actor, customer_id)
    allowed = {"name", "aliases", "industry", "source", "status"}
    unknown = set(changes) - allowed
    if unknown:
        raise Invalid(f"cannot change {sorted(unknown)}", field=sorted(unknown)[0])
    if "status" in changes and changes["status"] not in CUSTOMER_STATUSES:
        raise Invalid("unknown status", field="status", value=changes["status"], allowed=CUSTOMER_STATUSES)
    if "name" in changes:
        changes["name"] = changes["name"].strip()
        if not changes["name"]:
            raise Invalid("customer name is empty", field="name")
        _check_duplicate(s, customer.org_id, changes["name"], exclude_id=customer.id)
    if "aliases" in changes:
        changes["aliases"] = _split_aliases(changes["aliases"])
    for key, value in changes.items():
        setattr(customer, key, value)
    s.flush()
    return customer


def set_status(s: Session, actor: User, customer_id: int, status: str) -> Customer:
    return update_customer(s, actor, customer_id, status=status)


def reassign(s: Session, actor: User, customer_id: int, new_owner: User) -> Customer:
    acting(s, actor)
    customer = get_customer(s, actor, customer_id, manage=True)
    if actor.role == "rep" or new_owner.org_id != actor.org_id:
        raise AccessDenied("only a manager or admin reassigns customers", entity="customer", ref=customer_id)
    customer.owner_id = new_owner.id
    customer.owner = new_owner
    s.flush()
    return customer


def delete_customer(s: Session, actor: User, customer_id: int) -> Customer:
    """Soft delete: the row stays (history, audit, undo) and disappears from every list."""
    acting(s, actor)
    customer = get_customer(s, actor, customer_id, manage=True)
    customer.active = False
    s.flush()
    return customer


def share_customer(s: Session, actor: User, customer_id: int, with_user: User) -> CustomerShare:
    acting(s, actor)
    customer = get_customer(s, actor, customer_id, manage=True)
    if with_user.org_id != customer.org_id:
        raise AccessDenied("cannot share outside the organisation", entity="customer", ref=customer_id)
    existing = s.scalar(select(CustomerShare).where(CustomerShare.customer_id == customer.id,
                                                   CustomerShare.user_id == with_user.id))
    if existing:
        return existing
    share = CustomerShare(customer_id=customer.id, user_id=with_user.id, created_by=actor.id)
    s.add(share)
    s.flush()
    return share


def unshare_customer(s: Session, actor: User, customer_id: int, with_user: User) -> None:
    acting(s, actor)
    customer = get_customer(s, actor, customer_id, manage=True)
    share = s.scalar(select(CustomerShare).where(CustomerShare.customer_id == customer.id,
                                                CustomerShare.user_id == with_user.id))
    if share:
        s.delete(share)
        s.flush()


def import_customers_csv(s: Session, actor: User, text: str) -> list[Customer]:
    """All rows or none: the first bad row raises with its line number and nothing is kept
    (the caller's unit of work rolls back)."""
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    if not reader.fieldnames or "name" not in [f.strip() for f in reader.fieldnames]:
        raise Invalid("the CSV needs a 'name' column", field="name", line=1)
    created: list[Customer] = []
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items() if k is not None}
        name = row.get("name", "")
        if not name:
            raise Invalid(f"line {line}: name is empty", field="name", line=line)
        norm = normalise(name)
        if norm in seen:
            raise Duplicate(f"line {line}: {name} repeats line {seen[norm]}", entity="customer",
                            ref=name, line=line)
        seen[norm] = line
        owner = actor
        if row.get("owner"):
            try:
                owner = get_user(s, row["owner"])
            except NotFound:
                raise Invalid(f"line {line}: unknown owner {row['owner']}", field="owner",
                              value=row["owner"], line=line) from None
        contact = None
        if row.get("contact_name"):
            contact = dict(name=row["contact_name"], title=row.get("contact_title") or None,
                           phone=row.get("contact_phone") or None, email=row.get("contact_email") or None,
                           wechat_id=row.get("contact_wechat") or None)
        try:
            created.append(create_customer(
                s, actor, name, aliases=row.get("aliases"), industry=row.get("industry") or None,
                source=row.get("source") or None, owner=owner, status=row.get("status") or "lead",
                contact=contact))
        except (Invalid, Duplicate, AccessDenied) as exc:
            exc.params["line"] = line
            raise type(exc)(f"line {line}: {exc}", **exc.params) from None
    return created
