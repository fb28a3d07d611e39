"""Undo the user's last action (one unit of work) within ten minutes, from the audit trail."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Date, DateTime, Numeric, select, update
from sqlalchemy.orm import Session

from core.db import Base, utcnow
from core.errors import NothingToUndo
from core.models import AuditLog, SubOrder, User
from core.services.access import acting
from core.services.orders import release_sub_order

UNDO_WINDOW = timedelta(minutes=10)


@dataclass
class UndoResult:
    batch: str
    at: datetime
    summary: list[tuple[str, str, int | None]]  # (action, entity, id) that were reverted


def _model_for(table: str):
    for mapper in Base.registry.mappers:
        if mapper.class_.__tablename__ == table:
            return mapper.class_
    raise LookupError(table)


def _restore(model, values: dict) -> dict:
    """Turn audit JSON back into column values of the right Python type."""
    out = {}
    for key, value in values.items():
        col = model.__table__.columns.get(key)
        if col is None or value is None:
            out[key] = value
        elif isinstance(col.type, DateTime):
            out[key] = datetime.fromisoformat(value)
        elif isinstance(col.type, Date):
            out[key] = date.fromisoformat(value)
        elif isinstance(col.type, Numeric):
            out[key] = Decimal(value)
        else:
            out[key] = value
    return out


def _revert(s: Session, row: AuditLog) -> None:
    model = _model_for(row.entity)
    obj = s.get(model, row.entity_id)
    if obj is None:
        return
    if row.action == "create":
        if model is SubOrder:
            if obj.status != "cancelled":
                release_sub_order(s, obj)
        elif "active" in model.__table__.columns:
            obj.active = False
        else:
            s.delete(obj)
    elif row.action in ("update", "delete"):
        for key, value in _restore(model, row.before or {}).items():
            if key not in ("id", "updated_at"):
                setattr(obj, key, value)


def last_undoable(s: Session, actor: User, now: datetime | None = None) -> str | None:
    now = now or utcnow()
    return s.scalar(select(AuditLog.batch).where(
        AuditLog.actor_id == actor.id, AuditLog.undone.is_(False), AuditLog.action != "undo",
        AuditLog.at >= now - UNDO_WINDOW).order_by(AuditLog.at.desc(), AuditLog.id.desc()).limit(1))


def undo_last(s: Session, actor: User, *, now: datetime | None = None) -> UndoResult:
    acting(s, actor)
    batch = last_undoable(s, actor, now)
    if batch is None:
        raise NothingToUndo("nothing to undo in the last 10 minutes", minutes=10)
    rows = list(s.scalars(select(AuditLog).where(AuditLog.batch == batch).order_by(AuditLog.id.desc())))
    for row in rows:
        _revert(s, row)
    s.flush()
    s.execute(update(AuditLog).where(AuditLog.batch == batch).values(undone=True))
    s.add(AuditLog(actor_id=actor.id, batch=s.info.get("audit_batch", batch), action="undo",
                   entity="audit_batch", entity_id=None, before=None, after={"batch": batch}))
    s.flush()
    return UndoResult(batch, rows[-1].at, [(r.action, r.entity, r.entity_id) for r in reversed(rows)])
