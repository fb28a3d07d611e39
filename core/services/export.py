"""Export of what a user may see, as CSV or JSON: the customer list (import-compatible) or
everything (customers with contacts, activities, follow-ups, orders, node progress)."""
from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Invalid
from core.models import Activity, Contact, Customer, CustomerProgress, FollowUp, MasterOrder, SubOrder, User
from core.services.access import get_customer, visible_clause

FORMATS = ("csv", "json")
CUSTOMER_COLUMNS = ("id", "name", "aliases", "industry", "source", "owner", "status", "created_at")
ACTIVITY_COLUMNS = ("customer_id", "customer", "occurred_at", "type", "direction", "node", "content",
                    "amount", "author")


def _json_default(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    raise TypeError(type(value))


def _customers(s: Session, actor: User, customer_id: int | None) -> list[Customer]:
    if customer_id is not None:
        return [get_customer(s, actor, customer_id)]
    return list(s.scalars(select(Customer).where(visible_clause(actor), Customer.active.is_(True))
                          .order_by(Customer.id)))


def _customer_row(c: Customer) -> dict:
    return {"id": c.id, "name": c.name, "aliases": ",".join(c.aliases or []), "industry": c.industry or "",
            "source": c.source or "", "owner": c.owner.login, "status": c.status,
            "created_at": c.created_at.isoformat()}


def export_customers(s: Session, actor: User, fmt: str = "csv") -> str:
    if fmt not in FORMATS:
        raise Invalid(f"unknown format {fmt}", field="format", value=fmt, allowed=FORMATS)
    rows = [_customer_row(c) for c in _customers(s, actor, None)]
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=1)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CUSTOMER_COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _by_customer(s, model, ids, *order):
    out: dict[int, list] = {i: [] for i in ids}
    for chunk_start in range(0, len(ids), 500):
        chunk = ids[chunk_start:chunk_start + 500]
        for row in s.scalars(select(model).where(model.customer_id.in_(chunk)).order_by(*order)):
            out[row.customer_id].append(row)
    return out


def export_data(s: Session, actor: User, fmt: str = "json", customer_id: int | None = None) -> str:
    """JSON: one object per customer with its whole story. CSV: one row per activity."""
    if fmt not in FORMATS:
        raise Invalid(f"unknown format {fmt}", field="format", value=fmt, allowed=FORMATS)
    customers = _customers(s, actor, customer_id)
    ids = [c.id for c in customers]
    acts = _by_customer(s, Activity, ids, Activity.occurred_at, Activity.id)
    authors = {u.id: u.login for u in s.scalars(select(User).where(User.org_id == actor.org_id))}
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=ACTIVITY_COLUMNS)
        writer.writeheader()
        for c in customers:
            for a in acts[c.id]:
                if a.active:
                    writer.writerow({"customer_id": c.id, "customer": c.name, "occurred_at": a.occurred_at.isoformat(),
                                     "type": a.type, "direction": a.direction or "", "node": a.node_key or "",
                                     "content": a.content, "amount": "" if a.amount is None else str(a.amount),
                                     "author": authors.get(a.author_id, "")})
        return buf.getvalue()
    contacts = _by_customer(s, Contact, ids, Contact.id)
    follow_ups = _by_customer(s, FollowUp, ids, FollowUp.due_at)
    masters = _by_customer(s, MasterOrder, ids, MasterOrder.id)
    progress = {p.customer_id: p for p in s.scalars(select(CustomerProgress).where(CustomerProgress.customer_id.in_(ids)))} if ids else {}
    master_ids = [m.id for ms in masters.values() for m in ms]
    subs: dict[int, list] = {i: [] for i in master_ids}
    if master_ids:
        for sub in s.scalars(select(SubOrder).where(SubOrder.master_id.in_(master_ids)).order_by(SubOrder.id)):
            subs[sub.master_id].append(sub)
    out = []
    for c in customers:
        p = progress.get(c.id)
        out.append({
            **_customer_row(c), "aliases": c.aliases or [],
            "current_node": p.current_node_key if p else None,
            "contacts": [{"name": k.name, "title": k.title, "phone": k.phone, "email": k.email,
                          "wechat_id": k.wechat_id} for k in contacts[c.id]],
            "activities": [{"occurred_at": a.occurred_at, "type": a.type, "direction": a.direction,
                            "node": a.node_key, "content": a.content, "amount": a.amount,
                            "author": authors.get(a.author_id), "attachments": a.attachments}
                           for a in acts[c.id] if a.active],
            "follow_ups": [{"due_at": f.due_at, "note": f.note, "status": f.status} for f in follow_ups[c.id]],
            "orders": [{"product": m.product, "total_quantity": m.total_quantity, "unit_price": m.unit_price,
                        "currency": m.currency, "status": m.status, "remaining": m.remaining_quantity,
                        "sub_orders": [{"quantity": x.quantity, "delivery_date": x.delivery_date,
                                        "status": x.status} for x in subs[m.id]]}
                       for m in masters[c.id]],
        })
    return json.dumps(out, ensure_ascii=False, indent=1, default=_json_default)
