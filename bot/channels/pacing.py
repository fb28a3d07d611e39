"""Outgoing message pacing: stay under a platform's flood limits instead of running into them.

Telegram asks for about 1 message/s per chat ("short bursts are tolerated"), at most 20 per
minute in a group and about 30/s in all; WeCom allows 30/min per member. A per-chat pace is a
`Spaced` limit (a burst, then one every `interval`); hard caps are a `Window` (at most `count`
sends in any `period`). Each `reserve` books a slot, so concurrent senders queue fairly.
A 429 `retry_after` pauses the chat: nothing goes to it before the time Telegram named.
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Protocol


class Limit(Protocol):
    def reserve(self, now: float) -> float: ...
    def pause_until(self, when: float) -> None: ...


@dataclass(frozen=True)
class Spaced:
    """`burst` sends back to back, then one per `interval` seconds (GCRA token bucket)."""

    interval: float
    burst: int = 1

    def new(self) -> "SpacedState":
        return SpacedState(self)


class SpacedState:
    def __init__(self, spec: Spaced):
        self.spec = spec
        self.tat = 0.0  # "theoretical arrival time": when the bucket is full again
        self.not_before = 0.0

    def reserve(self, now: float) -> float:
        tat = max(self.tat, now, self.not_before)
        allowed_at = max(tat - (self.spec.burst - 1) * self.spec.interval, self.not_before)
        self.tat = tat + self.spec.interval
        return max(0.0, allowed_at - now)

    def pause_until(self, when: float) -> None:
        self.not_before = max(self.not_before, when)

    def idle(self, now: float) -> bool:
        return self.tat <= now and self.not_before <= now


@dataclass(frozen=True)
class Window:
    """At most `count` sends within any `period` seconds."""

    count: int
    period: float

    def new(self) -> "WindowState":
        return WindowState(self)


class WindowState:
    def __init__(self, spec: Window):
        self.spec = spec
        self.log: deque[float] = deque(maxlen=spec.count)  # booked send times, ascending
        self.not_before = 0.0

    def reserve(self, now: float) -> float:
        at = max(now, self.not_before)
        if len(self.log) == self.spec.count:
            at = max(at, self.log[0] + self.spec.period)
        self.log.append(at)
        return at - now

    def pause_until(self, when: float) -> None:
        self.not_before = max(self.not_before, when)

    def idle(self, now: float) -> bool:
        return (not self.log or self.log[-1] + self.spec.period <= now) and self.not_before <= now


@dataclass(frozen=True)
class Pacing:
    overall: Window | Spaced | None = Window(30, 1.0)
    per_chat: Window | Spaced | None = Spaced(1.0, burst=3)
    per_group: Window | Spaced | None = Window(20, 60.0)

    @classmethod
    def telegram(cls) -> "Pacing":
        return cls()

    @classmethod
    def unlimited(cls) -> "Pacing":
        """No pacing (fake servers in tests and benchmarks); 429s are still honoured."""
        return cls(overall=None, per_chat=None, per_group=None)


class Pacer:
    """`await pacer.wait(chat_key, is_group)` before each send."""

    def __init__(self, pacing: Pacing | None = None, *, clock: Callable[[], float] = time.monotonic,
                 sleep=asyncio.sleep, max_chats: int = 10_000):
        self.pacing = pacing or Pacing.telegram()
        self._clock = clock
        self._sleep = sleep
        self._overall = self.pacing.overall.new() if self.pacing.overall else None
        self._chats: dict[str, Limit] = {}
        self._groups: dict[str, Limit] = {}
        self._paused_until: dict[str, float] = {}
        self._max_chats = max_chats

    def _state(self, table: dict, key: str, spec) -> Limit:
        state = table.get(key)
        if state is None:
            if len(table) >= self._max_chats:  # forget idle chats: a fresh state is the same
                now = self._clock()
                for k in [k for k, st in table.items() if st.idle(now)]:
                    del table[k]
            state = table[key] = spec.new()
        return state

    async def wait(self, chat_key: str, is_group: bool = False) -> None:
        # The chat's own limits first, then a slot of the overall budget, so that a chat waiting
        # for its turn does not sit on overall slots meanwhile.
        now = self._clock()
        delay = max(0.0, self._paused_until.get(chat_key, 0.0) - now)
        if self.pacing.per_chat:
            delay = max(delay, self._state(self._chats, chat_key, self.pacing.per_chat).reserve(now + delay) + delay)
        if is_group and self.pacing.per_group:
            delay = max(delay, self._state(self._groups, chat_key, self.pacing.per_group).reserve(now + delay) + delay)
        if delay > 0:
            await self._sleep(delay)
        if self._overall is not None:
            overall_delay = self._overall.reserve(self._clock())
            if overall_delay > 0:
                await self._sleep(overall_delay)

    def pause(self, chat_key: str, seconds: float) -> None:
        """The platform answered 429 retry_after=seconds for this chat."""
        now = self._clock()
        until = now + seconds
        self._paused_until[chat_key] = max(self._paused_until.get(chat_key, 0.0), until)
        if len(self._paused_until) > self._max_chats:
            self._paused_until = {k: v for k, v in self._paused_until.items() if v > now}
        for table in (self._chats, self._groups):
            if chat_key in table:
                table[chat_key].pause_until(until)
