from datetime import datetime, timedelta

import pytest

from core.leader import LEASE_TTL, Leadership
from tests.conftest import ON_POSTGRES

T = datetime(2030, 1, 1, 12)


@pytest.mark.sqlite_only
def test_sqlite_lease_one_leader_and_take_over_after_expiry(db):
    a, b = Leadership(db, holder="a"), Leadership(db, holder="b")
    assert a.acquire(T) and not b.acquire(T)
    assert a.acquire(T + timedelta(seconds=30))  # renewal
    assert not b.acquire(T + timedelta(seconds=30) + LEASE_TTL - timedelta(seconds=1))
    # a died (stopped renewing): b takes over once the lease expires, inside 60 s
    assert LEASE_TTL < timedelta(seconds=60)
    assert b.acquire(T + timedelta(seconds=30) + LEASE_TTL)
    assert not a.acquire(T + timedelta(seconds=31) + LEASE_TTL)
    b.release()
    assert a.acquire(T + timedelta(seconds=32) + LEASE_TTL)


@pytest.mark.postgres
def test_postgres_advisory_lock_one_leader_and_release_on_death(db):
    a, b = Leadership(db, holder="a"), Leadership(db, holder="b")
    assert a.acquire() and not b.acquire()
    assert a.acquire()  # still the leader
    a._pg_conn.invalidate()  # the leader's process dies: its connection (and lock) are gone
    a._pg_conn = None
    assert b.acquire()
    assert not a.acquire()
    b.release()
    assert a.acquire()
    a.release()
