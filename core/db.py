"""Engine, sessions and the unit of work.

SQLite is the embedded default: WAL, a busy timeout and foreign keys on. Writing units of work
start with BEGIN IMMEDIATE on SQLite so that two processes writing at once queue on the lock
instead of failing with "database is locked" when a deferred reader tries to upgrade.
"""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from datetime import datetime, timezone
from typing import Iterator

from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLITE_BUSY_TIMEOUT_MS = 30_000


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def utcnow() -> datetime:
    """Naive UTC: the database stores UTC without an offset on both SQLite and PostgreSQL."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _configure_sqlite(engine: Engine, immediate: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str, *, immediate: bool = True, **kw) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kw)
        _configure_sqlite(engine, immediate)
        return engine
    kw.setdefault("pool_pre_ping", True)
    return create_engine(url, **kw)


class Database:
    """Two engines on one URL: writes (BEGIN IMMEDIATE on SQLite) and reads (deferred)."""

    def __init__(self, url: str, *, echo: bool = False):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        self.engine = make_engine(url, immediate=True, echo=echo)
        self.read_engine = make_engine(url, immediate=False, echo=echo) if self.is_sqlite else self.engine
        self._write = sessionmaker(self.engine, expire_on_commit=False)
        self._read = sessionmaker(self.read_engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One unit of work: commits on success, rolls back on any exception."""
        with self._write() as s:
            s.info["audit_batch"] = uuid.uuid4().hex
            try:
                yield s
                s.commit()
            except BaseException:
                s.rollback()
                raise

    @contextmanager
    def reader(self) -> Iterator[Session]:
        """A read-only session; closing it ends the transaction and keeps loaded objects usable."""
        with self._read() as s:
            yield s

    def create_all(self) -> None:
        from core import models  # noqa: F401  (registers tables)

        Base.metadata.create_all(self.engine)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not self.engine:
            self.read_engine.dispose()
