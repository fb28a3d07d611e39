"""Exactly one scheduling leader among running instances.

APScheduler 3 job stores must never be shared between processes, so only the leader runs jobs.
PostgreSQL: a session-level advisory lock held on a dedicated connection — when the leader dies
its connection closes and the lock is free at once. SQLite: a lease row the leader renews;
anyone may take it once it has expired (LEASE_TTL, well inside the 60 s take-over promise)."""
from __future__ import annotations

import uuid
import zlib
from datetime import datetime, timedelta

from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from core.db import Database, utcnow
from core.models import SchedulerLease

LEASE_TTL = timedelta(seconds=45)
RENEW_EVERY = timedelta(seconds=15)


class Leadership:
    def __init__(self, db: Database, name: str = "scheduler", holder: str | None = None):
        self.db = db
        self.name = name
        self.holder = holder or uuid.uuid4().hex
        self._pg_conn = None

    @property
    def _lock_key(self) -> int:
        return zlib.crc32(f"mammoth:{self.name}".encode())

    def acquire(self, now: datetime | None = None) -> bool:
        """Become (or stay) the leader; False while someone else is."""
        if self.db.url.startswith("postgresql"):
            return self._acquire_pg()
        return self._acquire_lease(now or utcnow())

    def release(self) -> None:
        if self.db.url.startswith("postgresql") and self._pg_conn is None:
            return  # never held it
        if self._pg_conn is not None:
            try:
                self._pg_conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._lock_key})
                self._pg_conn.commit()
            finally:
                self._pg_conn.close()
                self._pg_conn = None
            return
        with self.db.session() as s:
            s.execute(update(SchedulerLease).where(SchedulerLease.name == self.name,
                                                   SchedulerLease.holder == self.holder)
                      .values(expires_at=datetime(1970, 1, 1)))

    # PostgreSQL ----------------------------------------------------------------
    def _acquire_pg(self) -> bool:
        if self._pg_conn is not None:
            try:  # still alive? the lock lives as long as this connection
                self._pg_conn.execute(text("SELECT 1"))
                self._pg_conn.commit()
                return True
            except Exception:  # noqa: BLE001 — connection lost: so is the lock
                self._pg_conn = None
        conn = self.db.engine.connect()
        got = conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._lock_key}).scalar()
        conn.commit()
        if got:
            self._pg_conn = conn
            return True
        conn.close()
        return False

    # SQLite --------------------------------------------------------------------
    def _acquire_lease(self, now: datetime) -> bool:
        with self.db.session() as s:
            lease = s.scalar(select(SchedulerLease).where(SchedulerLease.name == self.name))
            if lease is None:
                try:
                    with s.begin_nested():
                        s.add(SchedulerLease(name=self.name, holder=self.holder, expires_at=now + LEASE_TTL))
                    return True
                except IntegrityError:
                    return False
            if lease.holder == self.holder or lease.expires_at <= now:
                lease.holder, lease.expires_at = self.holder, now + LEASE_TTL
                return True
            return False
