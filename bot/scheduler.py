"""APScheduler inside `mammoth run`: only the leader (core.leader) decides nudges and relays
them; every instance keeps asking, so another takes over within a minute of the leader's death.
Jobs run their database work in a thread, never on the chat event loop."""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.relay import Outbound, Relay
from core.db import Database, utcnow
from core.leader import RENEW_EVERY, Leadership
from core.services import nudges

log = logging.getLogger("mammoth.scheduler")
DECIDE_EVERY_S = 60
RELAY_EVERY_S = 5


def decide_once(db: Database, now: datetime | None = None) -> list[nudges.Planned]:
    with db.session() as s:
        return nudges.run_jobs(s, now or utcnow())


def rescore_changed(db: Database) -> None:
    """Nightly: rescore customers whose activities changed since their last score."""
    try:
        from ml.jobs import rescore_changed as run  # lazy: torch stays out of the chat process until now
    except ImportError:
        log.info("no intent model jobs available; nightly rescoring skipped")
        return
    run(db)


def weekly_retrain(db: Database) -> None:
    try:
        from ml.jobs import retrain_if_better as run
    except ImportError:
        log.info("no intent model jobs available; weekly retrain skipped")
        return
    run(db)


class NudgeScheduler:
    def __init__(self, db: Database, outbounds: list[Outbound], *, holder: str | None = None,
                 only_user_ids: list[int] | None = None):
        self.db = db
        self.leadership = Leadership(db, "scheduler", holder)
        self.relay = Relay(db, outbounds, only_user_ids=only_user_ids)
        self.scheduler = AsyncIOScheduler(timezone="UTC")
        self.is_leader = False

    async def _lead(self) -> None:
        was = self.is_leader
        self.is_leader = await asyncio.to_thread(self.leadership.acquire)
        if self.is_leader != was:
            log.info("scheduler: %s", "leading" if self.is_leader else "standing by")
            if self.is_leader:  # a new leader catches up at once instead of at the next tick
                self.scheduler.modify_job("decide", next_run_time=utcnow_aware())

    async def _decide(self) -> None:
        if self.is_leader:
            planned = await asyncio.to_thread(decide_once, self.db)
            if planned:
                log.info("scheduler: queued %d nudges", sum(p.queued for p in planned))

    async def _relay(self) -> None:
        if self.is_leader:
            await self.relay.relay_once()

    async def _in_thread_if_leader(self, fn) -> None:
        if self.is_leader:
            await asyncio.to_thread(fn, self.db)

    def start(self) -> None:
        add = self.scheduler.add_job
        add(self._lead, "interval", seconds=RENEW_EVERY.total_seconds(), next_run_time=utcnow_aware(),
            id="lead", max_instances=1, coalesce=True)
        soon = utcnow_aware() + timedelta(seconds=3)  # after the first leadership check
        add(self._decide, "interval", seconds=DECIDE_EVERY_S, next_run_time=soon, id="decide",
            max_instances=1, coalesce=True)
        add(self._relay, "interval", seconds=RELAY_EVERY_S, next_run_time=soon + timedelta(seconds=1),
            id="relay", max_instances=1, coalesce=True)
        add(self._in_thread_if_leader, "cron", hour=18, minute=30, args=[rescore_changed], id="rescore",
            max_instances=1, coalesce=True)  # 02:30 in China
        add(self._in_thread_if_leader, "cron", day_of_week="sun", hour=19, args=[weekly_retrain],
            id="retrain", max_instances=1, coalesce=True)
        self.scheduler.start()

    def shutdown(self) -> None:
        self.scheduler.shutdown(wait=False)
        if self.is_leader:
            self.leadership.release()


def utcnow_aware() -> datetime:
    from datetime import timezone

    return datetime.now(timezone.utc)
