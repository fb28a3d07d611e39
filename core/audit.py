"""The audit trail: every insert, update and (soft) delete of a user-facing row writes an
AuditLog row in the same flush, so no service can forget to. Undo reads it back."""
from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import event, inspect, insert
from sqlalchemy.orm import Session

from core.db import Base, utcnow
from core.models import (
    AuditLog, ConversationState, CustomerSearchTerm, InboxMessage, IntentScore, OutboxMessage,
    SchedulerLease,
)

# High-volume machine bookkeeping: not a user's change, so not audited.
NOT_AUDITED = {AuditLog, InboxMessage, ConversationState, OutboxMessage, IntentScore, CustomerSearchTerm,
               SchedulerLease}


def set_actor(s: Session, user_id: int | None) -> None:
    s.info["actor_id"] = user_id


def _plain(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def snapshot(obj) -> dict:
    mapper = inspect(obj).mapper
    return {c.key: _plain(getattr(obj, c.key)) for c in mapper.column_attrs}


def _changes(obj) -> tuple[dict, dict]:
    state = inspect(obj)
    before, after = {}, {}
    for attr in state.mapper.column_attrs:
        hist = state.attrs[attr.key].history
        if hist.has_changes():
            before[attr.key] = _plain(hist.deleted[0]) if hist.deleted else None
            after[attr.key] = _plain(hist.added[0]) if hist.added else None
    return before, after


def _batch(s: Session) -> str:
    if "audit_batch" not in s.info:
        s.info["audit_batch"] = uuid.uuid4().hex
    return s.info["audit_batch"]


@event.listens_for(Session, "after_flush")
def _write_audit_rows(s: Session, _ctx) -> None:
    rows = []
    now = utcnow()
    actor = s.info.get("actor_id")
    batch = _batch(s)

    def add(action, obj, before, after):
        rows.append(dict(actor_id=actor, batch=batch, action=action, entity=type(obj).__tablename__,
                         entity_id=getattr(obj, "id", None), before=before, after=after, at=now,
                         undone=False))

    for obj in s.new:
        if isinstance(obj, Base) and type(obj) not in NOT_AUDITED:
            add("create", obj, None, snapshot(obj))
    for obj in s.dirty:
        if isinstance(obj, Base) and type(obj) not in NOT_AUDITED and s.is_modified(obj):
            before, after = _changes(obj)
            if not after:
                continue
            action = "delete" if after.get("active") is False else "update"
            add(action, obj, before, after)
    for obj in s.deleted:
        if isinstance(obj, Base) and type(obj) not in NOT_AUDITED:
            add("delete", obj, snapshot(obj), None)
    if rows:
        s.connection().execute(insert(AuditLog), rows)


@event.listens_for(Session, "after_transaction_end")
def _new_batch_per_unit_of_work(s: Session, transaction) -> None:
    # Only the outermost transaction ends a unit of work; savepoints belong to it.
    if transaction.parent is None and not transaction.nested:
        s.info["audit_batch"] = uuid.uuid4().hex
