"""The inbox: every incoming chat update is stored (unique platform + message id) before the
channel acknowledges it, so a crash loses nothing and a redelivery does nothing twice."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from core.models import InboxMessage


def store_incoming(s: Session, incoming, now: datetime) -> int | None:
    """The new inbox row's id, or None when this (platform, message id) is already stored.
    One INSERT ... ON CONFLICT DO NOTHING RETURNING: no separate look-up, no race."""
    if s.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    stmt = (insert(InboxMessage)
            .values(platform=incoming.platform, message_id=str(incoming.message_id),
                    payload={"incoming": incoming.to_dict()}, status="received", received_at=now)
            .on_conflict_do_nothing(index_elements=["platform", "message_id"])
            .returning(InboxMessage.id))
    return s.connection().execute(stmt).scalar()
