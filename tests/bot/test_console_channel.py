"""The console channel in-process: numbered buttons, pressing by number, literal text,
attachments from a path, recovery of messages left pending."""
from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy import select

from bot.channels.console import ConsoleChannel
from core.models import ChatIdentity, User
from core.services.users import bind_identity

PHOTO = Path(__file__).resolve().parents[2] / "materials" / "product_photo.png"


def _channel(router, db, world, login="rep_a") -> ConsoleChannel:
    with db.session() as s:
        bind_identity(s, s.scalar(select(User).where(User.login == login)), "console", login)
    return ConsoleChannel(router, login, out=io.StringIO())


def test_buttons_are_numbered_and_a_number_presses_one(router, db, world, customers):
    console = _channel(router, db, world)
    text = console.send("/find 华")
    assert "[1] 华" in text and "[2] 华" in text
    pressed = console.send("1")
    assert "👤" in pressed and "[1] 🕘" in pressed  # the card, with its own buttons
    console.send("/help")  # no buttons: numbers are text again
    assert console.buttons == {}
    assert "1" in console.send("1")  # searched as text (offer to log it)


def test_backslash_sends_a_number_as_text_and_ids_are_unique(router, db, world, customers):
    console = _channel(router, db, world)
    console.send("/find 华")
    literal = console.incoming_for("\\1")
    assert literal.text == "1" and literal.payload == ""
    assert console.incoming_for("x").message_id != console.incoming_for("x").message_id
    other = ConsoleChannel(router, "rep_a", out=io.StringIO())
    assert other.incoming_for("x").message_id != console.incoming_for("x").message_id


def test_file_and_photo_lines_become_attachments(router, db, world):
    console = _channel(router, db, world)
    incoming = console.incoming_for(f"file: {PHOTO} 门店照片")
    assert incoming.text == "门店照片"
    (attachment,) = incoming.attachments
    assert (attachment.kind, attachment.local_path, attachment.name) == ("photo", str(PHOTO), "product_photo.png")
    assert attachment.size == PHOTO.stat().st_size
    assert console.incoming_for("file:").text == "file:"  # no path: just text


def test_files_are_shown_as_paths(router, db, world, materials):
    console = _channel(router, db, world)
    console.send("/m 价格表")
    shown = console.send("1")
    assert "📎 " in shown and "price_sheet.pdf" in shown


def test_recover_processes_what_a_dead_process_left(router, db, world):
    console = _channel(router, db, world)
    router.accept(console.incoming_for("/help"))
    console.recover()
    assert "/find" in console.out.getvalue()
    assert router.pending() == []
    with db.reader() as s:
        assert s.scalar(select(ChatIdentity).where(ChatIdentity.platform == "console")).external_id == "rep_a"
