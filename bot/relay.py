"""The outbox relay: sends queued nudges through each user's chat channel.

Three short steps so that no database lock is held while talking to a platform:
claim (pending → sending, in one transaction; SKIP LOCKED on PostgreSQL), deliver (network),
settle (sent / back to pending with backoff or the platform's retry_after / failed).
A row is claimed by one relay only and marked sent right after delivery; a relay that dies
mid-delivery leaves it 'sending', and it is retried after SENDING_TIMEOUT (at-least-once is
the best any messenger API allows)."""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable, Protocol

from sqlalchemy import select, update

from bot.handlers.nudges import render
from bot.messages import Reply
from core.db import Database, utcnow
from core.models import ChatIdentity, OutboxMessage, User
from core.services import nudges

log = logging.getLogger("mammoth.relay")
SENDING_TIMEOUT = timedelta(minutes=5)
PLATFORM_PREFERENCE = ("telegram", "wecom", "console")


class RetryLater(Exception):
    def __init__(self, message: str = "", retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Undeliverable(Exception):
    """The platform refused for good (bot blocked, chat gone)."""


class Outbound(Protocol):
    platform: str

    async def deliver(self, chat_id: str, replies: list[Reply]) -> None: ...


@dataclass
class RelayReport:
    sent: list[int] = field(default_factory=list)
    retried: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    deferred: list[int] = field(default_factory=list)
    dropped: list[int] = field(default_factory=list)


@dataclass
class _Job:
    row_id: int
    chat_id: str
    platform: str
    replies: list[Reply]


class Relay:
    def __init__(self, db: Database, outbounds: list[Outbound], *, now: Callable[[], datetime] | None = None,
                 batch: int = 200, concurrency: int = 32, only_user_ids: list[int] | None = None):
        self.db = db
        self.only_user_ids = only_user_ids  # e.g. the console: one terminal, one user
        self.outbounds = {o.platform: o for o in outbounds}
        self._now = now or utcnow
        self.batch = batch
        self.concurrency = concurrency

    def _claim(self, report: RelayReport) -> list[_Job]:
        now = self._now()
        jobs: list[_Job] = []
        with self.db.session() as s:
            s.execute(update(OutboxMessage).where(OutboxMessage.status == "sending",
                                                  OutboxMessage.next_attempt_at <= now - SENDING_TIMEOUT)
                      .values(status="pending"))
            for row in nudges.claim_due(s, now, self.batch, user_ids=self.only_user_ids):
                user = s.get(User, row.user_id)
                if user is None or not user.active:
                    nudges.drop(row, "user inactive")
                    report.dropped.append(row.id)
                    continue
                if not nudges.still_relevant(s, row):
                    nudges.drop(row, "customer closed, deleted or muted")
                    report.dropped.append(row.id)
                    continue
                if nudges.in_quiet_hours(user, now):
                    nudges.defer(row, nudges.quiet_hours_end(user, now))
                    report.deferred.append(row.id)
                    continue
                identity = self._identity(s, user.id)
                if identity is None:
                    nudges.drop(row, "no chat account bound on a running channel")
                    report.dropped.append(row.id)
                    continue
                row.status = "sending"
                row.next_attempt_at = now  # when the claim happened, for SENDING_TIMEOUT
                jobs.append(_Job(row.id, identity.chat_id or identity.external_id, identity.platform,
                                 render(row.payload, user, now)))
        return jobs

    def _identity(self, s, user_id: int) -> ChatIdentity | None:
        identities = {i.platform: i for i in s.scalars(select(ChatIdentity).where(ChatIdentity.user_id == user_id))}
        for platform in PLATFORM_PREFERENCE:
            if platform in identities and platform in self.outbounds:
                return identities[platform]
        return None

    async def _deliver(self, job: _Job, gate: asyncio.Semaphore) -> tuple[_Job, Exception | None]:
        async with gate:
            try:
                await self.outbounds[job.platform].deliver(job.chat_id, job.replies)
                return job, None
            except Exception as exc:  # noqa: BLE001 — settled per row below
                return job, exc

    def _settle(self, outcomes: list[tuple[_Job, Exception | None]], report: RelayReport) -> None:
        now = self._now()
        with self.db.session() as s:
            for job, exc in outcomes:
                row = s.get(OutboxMessage, job.row_id)
                if exc is None:
                    nudges.mark_sent(row, now)
                    report.sent.append(row.id)
                elif isinstance(exc, Undeliverable):
                    row.status, row.last_error = "failed", str(exc)[:500]
                    report.failed.append(row.id)
                else:
                    row.status = "pending"
                    nudges.mark_failed(row, now, f"{type(exc).__name__}: {exc}",
                                       getattr(exc, "retry_after", None))
                    (report.failed if row.status == "failed" else report.retried).append(row.id)
                    log.warning("outbox %s not delivered (%s); attempt %s", row.id, exc, row.attempts)

    async def relay_once(self) -> RelayReport:
        report = RelayReport()
        jobs = await asyncio.to_thread(self._claim, report)
        if jobs:
            gate = asyncio.Semaphore(self.concurrency)
            outcomes = await asyncio.gather(*(self._deliver(job, gate) for job in jobs))
            await asyncio.to_thread(self._settle, list(outcomes), report)
        return report


class ConsoleOutbound:
    """Nudges shown in the terminal when the bot runs on the console channel: rendered by the
    console channel itself, so their buttons are live numbered choices there too."""

    platform = "console"

    def __init__(self, render: Callable[[list[Reply]], str], write: Callable[[str], None] = print):
        self.render, self.write = render, write

    async def deliver(self, chat_id: str, replies: list[Reply]) -> None:
        text = self.render(replies)
        if text:
            self.write(text)
