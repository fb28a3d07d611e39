"""Handler-tier fixtures: a Router on the test database, chat identities bound for the `world`
users, the shipped material library, and a `Chat` helper that sends Incoming objects and
presses buttons the way a channel would."""
from __future__ import annotations

import itertools
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.messages import Attachment, Incoming, Reply
from bot.router import Router
from core.db import Database, utcnow
from core.models import Activity, Customer, User
from core.services.customers import add_contact, create_customer
from core.services.materials import sync_materials
from core.services.users import bind_identity
from core.settings import get_settings
from tests.conftest import ON_POSTGRES

PLATFORM = "telegram"
_message_ids = itertools.count(1000)


class Clock:
    """The router's clock; real time unless a test moves it (expiry)."""

    def __init__(self):
        self.offset = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, **kw) -> None:
        self.offset += timedelta(**kw)


@dataclass
class Chat:
    router: Router
    sender_id: str
    chat_id: str = ""
    platform: str = PLATFORM
    last: list[Reply] = field(default_factory=list)

    def __post_init__(self):
        self.chat_id = self.chat_id or self.sender_id

    def incoming(self, text: str = "", *, payload: str = "", attachments=None, message_id: str | None = None,
                 is_group: bool = False) -> Incoming:
        return Incoming(platform=self.platform, chat_id=self.chat_id, sender_id=self.sender_id,
                        message_id=message_id or str(next(_message_ids)), text=text, payload=payload,
                        attachments=list(attachments or []), is_group=is_group, sender_name=self.sender_id)

    def send(self, text: str = "", **kw) -> list[Reply]:
        self.last = self.router.handle(self.incoming(text, **kw))
        return self.last

    def press(self, what: str) -> list[Reply]:
        """Press a button of the last answer, by exact payload or by a piece of its label."""
        buttons = [b for r in self.last for row in r.buttons for b in row]
        match = [b for b in buttons if b.payload == what] or [b for b in buttons if what in b.label]
        assert match, f"no button {what!r} in {[(b.label, b.payload) for b in buttons]}"
        return self.send(payload=match[0].payload)

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.last)

    def payloads(self) -> list[str]:
        return [b.payload for r in self.last for row in r.buttons for b in row]


@pytest.fixture(scope="session")
def _schema_template(tmp_path_factory):
    path = tmp_path_factory.mktemp("schema") / "template.db"
    template = Database(f"sqlite:///{path}")
    template.create_all()
    template.dispose()
    return path


@pytest.fixture
def db_url(tmp_path, _pg_schema, _schema_template):
    """As the suite's db_url, but SQLite starts from a copy of an empty schema (faster than
    creating ~30 tables for every handler test); the `db` fixture then finds them in place."""
    if ON_POSTGRES:
        return _pg_schema
    path = tmp_path / "test.db"
    shutil.copy(_schema_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def router(db, clock) -> Router:
    return Router(db, now=clock)


@pytest.fixture
def bound(db, world):
    """Every world user bound to a telegram identity named after their login."""
    with db.session() as s:
        for user in (world.rep_a, world.rep_b, world.rep_c, world.manager_1, world.manager_2, world.admin):
            bind_identity(s, s.get(User, user.id), PLATFORM, user.login)
    return world


@pytest.fixture
def materials(db, world):
    with db.session() as s:
        sync_materials(s, world.org.id, get_settings().materials_dir)


@pytest.fixture
def customers(db, bound):
    """rep_a owns 华为技术 (car playbook, contact 张总) and 华夏银行; rep_c owns 中兴通讯 (b2b)."""
    with db.session() as s:
        rep_a = s.get(User, bound.rep_a.id)
        rep_c = s.get(User, bound.rep_c.id)
        huawei = create_customer(s, rep_a, "华为技术", industry="IT")
        add_contact(s, rep_a, huawei.id, "张总", title="CTO", phone="13800000000")
        huaxia = create_customer(s, rep_a, "华夏银行")
        zte = create_customer(s, rep_c, "中兴通讯")
        return {"huawei": huawei.id, "huaxia": huaxia.id, "zte": zte.id}


def make_chat(router: Router, login: str, locale: str | None = None, db=None) -> Chat:
    if locale and db is not None:
        with db.session() as s:  # no acting user: not the rep's own (undoable) action
            s.scalar(select(User).where(User.login == login)).locale = locale
    return Chat(router, login)


@pytest.fixture
def rep_a(router, bound) -> Chat:
    return Chat(router, "rep_a")


@pytest.fixture(params=["zh", "en"])
def locale(request) -> str:
    return request.param


@pytest.fixture
def rep(router, bound, db, locale) -> Chat:
    """rep_a speaking the parametrised language."""
    return make_chat(router, "rep_a", locale, db)


def activity_count(db, **where) -> int:
    with db.reader() as s:
        q = select(func.count(Activity.id)).where(Activity.type != "node_change")
        for key, value in where.items():
            q = q.where(getattr(Activity, key) == value)
        return s.scalar(q)


def customer_named(db, name: str) -> Customer | None:
    with db.reader() as s:
        return s.scalar(select(Customer).where(Customer.name == name))


def photo(path: str = "/tmp/shop.jpg") -> Attachment:
    return Attachment(kind="photo", file_id="AgAD-photo-1", name="shop.jpg", local_path=path)
