"""e2e fixtures: a fake Telegram Bot API on 127.0.0.1, a demo database, and the real
python-telegram-bot driving `bot.channels.telegram` against it over HTTP."""
from __future__ import annotations

import asyncio
import shutil
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import func, select

from core import audit  # noqa: F401  (audit hook on every session)
from core.db import Database
from core.demo import create_demo
from core.models import Activity, User
from core.settings import get_settings
from core.services.users import create_invite, get_user
from tests.e2e.fake_telegram import TOKEN, FakeTelegram

DEMO_CUSTOMERS = 30


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def demo_template(tmp_path_factory) -> Path:
    """One demo database per session (30 customers, the shipped material library); each test
    gets a copy."""
    from bot.runtime import open_database

    path = tmp_path_factory.mktemp("demo-template") / "demo.db"
    db = open_database(f"sqlite:///{path}")  # migrated, so `mammoth run` accepts the copy as is
    with db.session() as s:
        create_demo(s, customers=DEMO_CUSTOMERS, seed=7, materials_dir=get_settings().materials_dir)
    db.dispose()
    return path


@pytest.fixture
def demo_url(demo_template, tmp_path) -> str:
    path = tmp_path / "mammoth.db"
    shutil.copy(demo_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def demo_db(demo_url):
    db = Database(demo_url)
    yield db
    db.dispose()


@pytest.fixture
async def fake():
    server = await FakeTelegram().start()
    yield server
    await server.stop()


def invite_code(db: Database, login: str) -> str:
    """A one-time code binding the existing demo user `login` (what an admin hands out)."""
    with db.session() as s:
        user = get_user(s, login)
        return create_invite(s, None, user.org_id, user=user).code


def activity_count(db: Database, **where) -> int:
    """Active (not undone) activities."""
    with db.reader() as s:
        q = select(func.count(Activity.id)).where(Activity.active.is_(True))
        for key, value in where.items():
            q = q.where(getattr(Activity, key) == value)
        return s.scalar(q)


def user_id(db: Database, login: str) -> int:
    with db.reader() as s:
        return s.scalar(select(User.id).where(User.login == login))


@dataclass
class Chat:
    """One Telegram user talking to the bot in a private chat (chat id = user id)."""

    tg: "TelegramBot"
    user: int
    chat: int = 0

    def __post_init__(self):
        self.chat = self.chat or self.user

    async def say(self, text: str = "", **kw) -> list[str]:
        """Send a message; return the texts the bot sent or edited in answer."""
        return await self.tg.exchange(self.chat, lambda: self.tg.fake.message(self.user, text, chat_id=self.chat, **kw))

    async def press(self, label: str, **kw) -> list[str]:
        """Tap the newest button whose label contains `label`."""
        return await self.tg.exchange(self.chat, lambda: self.tg.fake.press(self.user, label, chat_id=self.chat, **kw))

    def buttons(self) -> list[str]:
        return [label for row in self.tg.fake.buttons(self.chat) for label in row]


@dataclass
class TelegramBot:
    """The Mammoth bot (real Router, real PTB) polling the fake server, in this event loop."""

    fake: FakeTelegram
    db: Database
    router: object
    channel: object = None
    task: asyncio.Task | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)

    async def exchange(self, chat: int, inject) -> list[str]:
        before = len(self.fake.sent(chat))
        update_id = inject()
        await self.settled(update_id)
        return [c.params.get("text") or c.params.get("caption") or f"<{c.method}>"
                for c in self.fake.sent(chat)[before:]]

    async def settled(self, update_id: int, timeout: float = 15.0) -> None:
        """Wait until the channel has taken `update_id` and every reply has gone out."""
        deadline = time.monotonic() + timeout
        while True:
            ch = self.channel
            if (ch.last_update_id >= update_id and ch.lanes.backlog == 0 and not ch._background):
                return
            if self.task is not None and self.task.done():
                self.task.result()  # raises what killed the loop
                raise AssertionError("the bot stopped")
            if time.monotonic() > deadline:
                raise TimeoutError(f"update {update_id} not settled (last {ch.last_update_id}, backlog {ch.lanes.backlog})")
            await asyncio.sleep(0.01)

    def chat(self, user: int, chat: int = 0) -> Chat:
        return Chat(self, user, chat)

    async def bind(self, user: int, login: str) -> Chat:
        chat = self.chat(user)
        replies = await chat.say(f"/start {invite_code(self.db, login)}")
        assert replies, "no answer to /start"
        return chat


async def start_bot(fake: FakeTelegram, db: Database, *, pacing=None, router=None) -> TelegramBot:
    from bot.channels.pacing import Pacing
    from bot.channels.telegram import TelegramChannel, make_bot
    from bot.router import Router

    router = router or Router(db)
    tg = TelegramBot(fake, db, router)
    tg.channel = TelegramChannel(make_bot(TOKEN, fake.api_url), router, pacing=pacing or Pacing.unlimited(),
                                 poll_timeout=1)
    await tg.channel.start()
    tg.task = asyncio.create_task(tg.channel.poll(tg.stop_event))
    return tg


async def stop_bot(tg: TelegramBot) -> None:
    tg.stop_event.set()
    try:
        await asyncio.wait_for(tg.task, 10)
    finally:
        await tg.channel.stop()


@pytest.fixture
async def tg(fake, demo_db):
    bot = await start_bot(fake, demo_db)
    yield bot
    await stop_bot(bot)
