from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, Float, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, utcnow


class Thread(Base):
    """快协: a team discussion about one customer in a group chat / forum topic."""

    __tablename__ = "threads"
    __table_args__ = (UniqueConstraint("platform", "chat_id", "topic_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    platform: Mapped[str] = mapped_column(String(20))
    chat_id: Mapped[str] = mapped_column(String(100))
    topic_id: Mapped[str] = mapped_column(String(100), default="")
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# A score written by the model shipped with Mammoth (trained on demo data) carries this prefix on
# its model_version: the card says so until the team's own model (OWN_MODEL_MIN_EACH won and as
# many lost customers) takes over.
EXAMPLE_MODEL_PREFIX = "shipped:"
OWN_MODEL_MIN_EACH = 50


class IntentScore(Base):
    """AI潜客意向判断: written by ml/, read by core and the scheduler as plain numbers."""

    __tablename__ = "intent_scores"
    __table_args__ = (Index("ix_intent_scores_customer_time", "customer_id", "computed_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    score: Mapped[float] = mapped_column(Float)
    model_version: Mapped[str] = mapped_column(String(100))
    computed_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    # [{"text": "试乘试驾完成", "delta": 0.12}, ...] most influential first
    reasons: Mapped[list] = mapped_column(JSON, default=list)
