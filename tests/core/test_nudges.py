"""Nudge decisions with a fake clock: time zones, quiet hours, caps, bundling, snooze, mutes."""
from datetime import datetime, timedelta

import pytest

from core.models import IntentScore, OutboxMessage, User
from core.services import nudges
from core.services.activities import add_follow_up, log_activity, snooze_follow_up
from core.services.customers import create_customer, delete_customer, set_status
from tests.conftest import reload

# 2030-03-04 is a Monday. Asia/Shanghai = UTC+8.
UTC_0130 = datetime(2030, 3, 4, 1, 30)   # 09:30 in Shanghai
UTC_1400 = datetime(2030, 3, 4, 14, 0)   # 22:00 in Shanghai: quiet


def _customers(db, world, n, *, who="rep_a", score=None, touched_days_ago=None, now=UTC_0130):
    ids = []
    with db.session() as s:
        user = reload(s, getattr(world, who))
        for i in range(n):
            c = create_customer(s, user, f"{who}客户{i}")
            if touched_days_ago is not None:
                log_activity(s, user, c.id, "call", "电话", occurred_at=now - timedelta(days=touched_days_ago))
            if score is not None:
                s.add(IntentScore(customer_id=c.id, score=score(i) if callable(score) else score,
                                  model_version="test", computed_at=now))
            ids.append(c.id)
    return ids


def _users(s):
    return list(s.query(User).filter(User.active.is_(True)))


def _rows(db, kind=None):
    with db.reader() as s:
        q = s.query(OutboxMessage)
        if kind:
            q = q.filter_by(kind=kind)
        return q.order_by(OutboxMessage.id).all()


def test_quiet_hours_and_wraparound(db, world):
    with db.reader() as s:
        a = reload(s, world.rep_a)
        assert nudges.in_quiet_hours(a, UTC_1400)
        assert not nudges.in_quiet_hours(a, UTC_0130)
        assert nudges.quiet_hours_end(a, UTC_1400) == datetime(2030, 3, 5, 0, 0)  # 08:00 local next day
        a.quiet_start, a.quiet_end = 12, 14
        assert nudges.in_quiet_hours(a, datetime(2030, 3, 4, 4, 30))  # 12:30 local


def test_reminders_wait_out_quiet_hours_then_bundle(db, world):
    ids = _customers(db, world, 3)
    with db.session() as s:
        a = reload(s, world.rep_a)
        for cid in ids:
            add_follow_up(s, a, cid, UTC_1400 - timedelta(hours=1), f"回访{cid}")
    with db.session() as s:
        assert nudges.plan_reminders(s, _users(s), UTC_1400) == []
    morning = datetime(2030, 3, 5, 0, 30)  # 08:30 local
    with db.session() as s:
        [planned] = nudges.plan_reminders(s, _users(s), morning)
        assert planned.queued and len(planned.payload["items"]) == 3
    with db.session() as s:  # run again: nothing new
        assert nudges.plan_reminders(s, _users(s), morning + timedelta(minutes=5)) == []
    assert len(_rows(db, "reminder")) == 1


def test_snoozed_follow_up_is_reminded_again_at_its_new_time(db, world):
    [cid] = _customers(db, world, 1)
    with db.session() as s:
        f = add_follow_up(s, reload(s, world.rep_a), cid, UTC_0130 - timedelta(hours=1), "回访")
    with db.session() as s:
        assert len(nudges.plan_reminders(s, _users(s), UTC_0130)) == 1
        snooze_follow_up(s, reload(s, world.rep_a), f.id, UTC_0130 + timedelta(days=1))
    with db.session() as s:
        assert nudges.plan_reminders(s, _users(s), UTC_0130 + timedelta(hours=2)) == []
        assert len(nudges.plan_reminders(s, _users(s), UTC_0130 + timedelta(days=1, minutes=1))) == 1


def test_digest_follows_each_users_time_zone_once_a_day(db, world):
    _customers(db, world, 3, who="rep_a", touched_days_ago=5)
    _customers(db, world, 3, who="rep_c", touched_days_ago=5)
    with db.session() as s:
        reload(s, world.rep_c).timezone = "America/New_York"
    with db.session() as s:  # 09:30 Shanghai, 20:30 (previous day) New York
        planned = nudges.plan_digests(s, _users(s), UTC_0130)
        assert {p.login for p in planned} == {"rep_a"}
    with db.session() as s:  # 09:30 New York
        planned = nudges.plan_digests(s, _users(s), datetime(2030, 3, 4, 14, 30))
        assert {p.login for p in planned if p.queued} == {"rep_c"}  # rep_a: quiet now, and had one
    assert len(_rows(db, "digest")) == 2


def test_digest_ranks_hot_overdue_first_with_reasons(db, world):
    ids = _customers(db, world, 4, score=lambda i: [0.2, 0.9, 0.5, 0.9][i], touched_days_ago=0.2)
    with db.session() as s:
        add_follow_up(s, reload(s, world.rep_a), ids[3], UTC_0130 - timedelta(days=2), "逾期回访")
    with db.session() as s:
        [digest] = nudges.plan_digests(s, _users(s), UTC_0130)
    order = [item["customer_id"] for item in digest.payload["items"]]
    assert order[:2] == [ids[3], ids[1]] and order[-1] == ids[0]
    kinds = [r["kind"] for r in digest.payload["items"][0]["reasons"]]
    assert kinds == ["score", "follow_up_overdue"]


def test_daily_cap_limits_stale_hot_nudges(db, world):
    _customers(db, world, 6, score=0.9, touched_days_ago=30)
    with db.session() as s:
        reload(s, world.rep_a).daily_cap = 3
    with db.session() as s:
        nudges.plan_digests(s, _users(s), UTC_0130)  # the digest counts as one
        planned = nudges.plan_stale_hot(s, _users(s), UTC_0130)
        assert sum(p.queued for p in planned) == 2
    with db.reader() as s:
        assert nudges.sent_on(s, world.rep_a.id, UTC_0130.date()) == 3


def test_closed_deleted_and_muted_customers_are_never_nudged(db, world):
    ids = _customers(db, world, 4, score=0.9, touched_days_ago=30)
    with db.session() as s:
        a = reload(s, world.rep_a)
        set_status(s, a, ids[0], "won")
        set_status(s, a, ids[1], "lost")
        delete_customer(s, a, ids[2])
        nudges.mute_customer(s, a, ids[3])
    with db.session() as s:
        assert nudges.run_jobs(s, UTC_0130) == []


def test_relay_drops_items_that_closed_after_queueing(db, world):
    ids = _customers(db, world, 2, score=0.9, touched_days_ago=30)
    with db.session() as s:
        nudges.plan_digests(s, _users(s), UTC_0130)
        set_status(s, reload(s, world.rep_a), ids[0], "won")
    with db.session() as s:
        [row] = nudges.claim_due(s, UTC_0130)
        assert nudges.still_relevant(s, row)
        assert [i["customer_id"] for i in row.payload["items"]] == [ids[1]]
        set_status(s, reload(s, world.rep_a), ids[1], "lost")
        assert not nudges.still_relevant(s, row)


def test_same_key_queued_once_even_by_two_deciders(db, world):
    _customers(db, world, 2, touched_days_ago=5)
    with db.session() as s1:
        first = nudges.plan_digests(s1, _users(s1), UTC_0130)
    with db.session() as s2:
        second = nudges.plan_digests(s2, _users(s2), UTC_0130)
    assert [p.queued for p in first] == [True] and [p.queued for p in second] == [False]
    assert len(_rows(db, "digest")) == 1


def test_dry_run_writes_nothing(db, world):
    _customers(db, world, 2, score=0.9, touched_days_ago=30)
    with db.session() as s:
        planned = nudges.run_jobs(s, UTC_0130, dry_run=True)
        assert planned and not any(p.queued for p in planned)
    assert _rows(db) == []


def test_manager_digest_lists_overdue_piles(db, world):
    ids = _customers(db, world, 3, who="rep_b")
    with db.session() as s:
        for cid in ids:
            add_follow_up(s, reload(s, world.rep_b), cid, UTC_0130 - timedelta(days=3), "逾期")
    with db.session() as s:
        planned = [p for p in nudges.plan_manager_digests(s, _users(s), UTC_0130)]
    [digest] = [p for p in planned if p.login == "manager_1"]
    assert digest.payload["overdue"] == [{"login": "rep_b", "name": "销售乙", "count": 3}]


def test_backoff_and_retry_after(db, world):
    row = OutboxMessage(user_id=1, kind="x", idempotency_key="k", payload={}, attempts=0)
    nudges.mark_failed(row, UTC_0130, "boom")
    assert row.next_attempt_at == UTC_0130 + timedelta(seconds=5)
    nudges.mark_failed(row, UTC_0130, "boom")
    assert row.next_attempt_at == UTC_0130 + timedelta(seconds=10)
    nudges.mark_failed(row, UTC_0130, "429", retry_after=30)
    assert row.next_attempt_at == UTC_0130 + timedelta(seconds=30)
    for _ in range(10):
        nudges.mark_failed(row, UTC_0130, "boom")
    assert row.status == "failed"


def test_two_schedulers_queue_each_nudge_once(db, world):
    """Two scheduler processes (threads with their own connections) at the same moment: only
    the leader decides, and even two deciders racing queue every key once."""
    import threading

    from core.db import Database
    from core.leader import Leadership

    ids = _customers(db, world, 4, score=0.9, touched_days_ago=30)
    with db.session() as s:
        for cid in ids:
            add_follow_up(s, reload(s, world.rep_a), cid, UTC_0130 - timedelta(hours=2), "回访")
    barrier, done = threading.Barrier(2), threading.Barrier(2)
    led = []

    def scheduler(name, use_leadership):
        database = Database(db.url)
        leader = Leadership(database, "scheduler", holder=name)
        try:
            barrier.wait()
            if not use_leadership or leader.acquire(UTC_0130):
                led.append(name)
                with database.session() as s:
                    nudges.run_jobs(s, UTC_0130)
        finally:
            done.wait()  # the leader stays alive until both have tried
            if use_leadership:
                leader.release()
            database.dispose()

    for use_leadership in (True, False):
        threads = [threading.Thread(target=scheduler, args=(n, use_leadership)) for n in ("one", "two")]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
    assert len(led) == 3  # one leader, then both deciders without leadership
    rows = _rows(db)
    keys = [r.idempotency_key for r in rows]
    assert len(keys) == len(set(keys))
    assert sorted(r.kind for r in rows) == ["digest", "reminder", "stale_hot", "stale_hot", "stale_hot",
                                            "stale_hot"]
