"""The chat layer's front door, the same for every platform.

Store first, then process: `accept` writes the update to the inbox (unique platform + message
id) in its own transaction, so a channel may acknowledge it; `process` runs the handler and
commits the handler's changes together with the inbox row's status and the replies. A crash
before that commit leaves the row pending (re-processed at start-up); a redelivery after it
returns the stored replies without doing the work again. The router never raises to a channel.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import asdict, fields
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import select

from bot import conversations, handlers
from bot.context import Context
from bot.format import split_text
from bot.handlers import BUTTONS, COMMANDS, OPEN_COMMANDS
from bot.messages import MAX_TEXT, Button, FileOut, Incoming, Reply
from bot.texts import DEFAULT_LOCALE, t
from core.db import Database, utcnow
from core.errors import DomainError
from core.models import InboxMessage
from core.services.inbox import store_incoming
from core.services.materials import cache_file_id
from core.services.users import identity_user

log = logging.getLogger("mammoth.router")

handlers.load_all()
conversations.load_all()


# ---------------------------------------------------------------- reply (de)serialisation
def replies_to_json(replies: list[Reply]) -> list[dict]:
    return [asdict(r) for r in replies]


def _file_from(data: dict | None) -> FileOut | None:
    if not data:
        return None
    known = {f.name for f in fields(FileOut)}
    return FileOut(**{k: v for k, v in data.items() if k in known})


def replies_from_json(data: list[dict] | None) -> list[Reply]:
    out = []
    for r in data or []:
        out.append(Reply(text=r.get("text", ""),
                         buttons=[[Button(b["label"], b["payload"]) for b in row] for row in r.get("buttons", [])],
                         file=_file_from(r.get("file")), image=_file_from(r.get("image")),
                         edit=bool(r.get("edit")), chat_id=r.get("chat_id", ""), thread_id=r.get("thread_id", "")))
    return out


def parse_command(text: str) -> tuple[str | None, str]:
    """'/find 华为' → ('find', '华为'); '/start@MammothBot CODE' → ('start', 'CODE')."""
    text = (text or "").strip()
    if not text.startswith("/") or len(text) < 2:
        return None, ""
    head, _, rest = text[1:].partition(" ")
    name = head.split("@", 1)[0].lower()
    return (name or None), rest.strip()


def finish_replies(replies: list[Reply], incoming: Incoming) -> list[Reply]:
    """No message over the platform limit: long text is split, buttons and files stay on the
    last part. Replies default to the incoming chat and thread."""
    out: list[Reply] = []
    for r in replies:
        if not r.chat_id:
            r.chat_id = str(incoming.chat_id)
            r.thread_id = r.thread_id or incoming.thread_id
        if len(r.text) <= MAX_TEXT:
            out.append(r)
            continue
        parts = split_text(r.text, MAX_TEXT)
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            out.append(Reply(text=part, buttons=r.buttons if last else [], file=r.file if last else None,
                             image=r.image if last else None, edit=r.edit and i == 0,
                             chat_id=r.chat_id, thread_id=r.thread_id))
    return out


class Router:
    def __init__(self, db: Database, *, now: Callable[[], datetime] | None = None):
        self.db = db
        self._clock = now or utcnow

    # ------------------------------------------------------------ the channel-facing interface
    def now(self) -> datetime:
        value = self._clock()
        if value.tzinfo is not None:
            value = value.astimezone(timezone.utc).replace(tzinfo=None)
        return value

    def accept(self, incoming: Incoming) -> int | None:
        """Store the update; None when this platform message id is already stored. Raises when
        it cannot be stored: the channel must then not acknowledge the update."""
        with self.db.session() as s:
            return store_incoming(s, incoming, self.now())

    def process(self, inbox_id: int) -> list[Reply]:
        try:
            with self.db.session() as s:
                row = s.get(InboxMessage, inbox_id, with_for_update=True)
                if row is None:
                    return []
                if row.status != "received":
                    return replies_from_json((row.payload or {}).get("replies"))
                incoming = Incoming.from_dict(row.payload["incoming"])
                replies, error = self._run(s, row.id, incoming)
                row.status = "failed" if error else "done"
                row.error = error
                row.processed_at = self.now()
                row.payload = {**row.payload, "replies": replies_to_json(replies)}
            return replies
        except Exception:  # the unit of work itself failed (e.g. the database is unreachable)
            error_id = uuid.uuid4().hex[:8]
            log.exception("error %s: inbox %s could not be processed; it stays pending", error_id, inbox_id)
            return [Reply(t(DEFAULT_LOCALE, "error.unexpected", id=error_id))]

    def handle(self, incoming: Incoming) -> list[Reply]:
        """accept + process for channels that need no acknowledgement step (the console).
        Unlike `accept`, which raises when the update cannot be stored (so a channel does not
        acknowledge it and the platform redelivers), this never raises."""
        try:
            inbox_id = self.accept(incoming)
        except Exception:
            error_id = uuid.uuid4().hex[:8]
            log.exception("error %s: could not store %s message %s", error_id, incoming.platform,
                          incoming.message_id)
            return [Reply(t(DEFAULT_LOCALE, "error.unexpected", id=error_id), chat_id=str(incoming.chat_id))]
        return [] if inbox_id is None else self.process(inbox_id)

    def pending(self, platform: str | None = None) -> list[int]:
        with self.db.reader() as s:
            q = select(InboxMessage.id).where(InboxMessage.status == "received").order_by(InboxMessage.id)
            if platform:
                q = q.where(InboxMessage.platform == platform)
            return list(s.scalars(q))

    def incoming(self, inbox_id: int) -> Incoming | None:
        """The stored update (e.g. to know its chat before re-processing it at start-up)."""
        with self.db.reader() as s:
            row = s.get(InboxMessage, inbox_id)
            return Incoming.from_dict(row.payload["incoming"]) if row is not None else None

    def file_sent(self, material_id: int, platform: str, file_id: str) -> None:
        try:
            with self.db.session() as s:
                cache_file_id(s, material_id, platform, file_id)
        except Exception:  # a lost cache entry only costs one more upload
            log.exception("could not cache file id for material %s", material_id)

    # ------------------------------------------------------------ running one message
    def _run(self, s, inbox_id: int, incoming: Incoming) -> tuple[list[Reply], str | None]:
        ctx = Context(s=s, incoming=incoming, now=self.now(), inbox_id=inbox_id)
        error = None
        try:
            user = identity_user(s, incoming.platform, incoming.sender_id)
            if user is not None:
                ctx.user = user
                ctx.locale = user.locale or DEFAULT_LOCALE
            # The handler's work is a savepoint: a failure undoes it but the inbox row is still
            # marked, so a message that fails is answered once and never retried in a loop.
            with s.begin_nested():
                replies = self._dispatch(ctx)
                s.flush()
        except DomainError as exc:
            from bot.handlers.errors import error_replies
            replies = error_replies(ctx, exc)
        except Exception as exc:
            error_id = uuid.uuid4().hex[:8]
            log.exception("error %s while handling %s message %s from %s", error_id, incoming.platform,
                          incoming.message_id, incoming.sender_id)
            error = f"{error_id} {type(exc).__name__}: {exc}"[:2000]
            replies = [Reply(t(ctx.locale, "error.unexpected", id=error_id))]
        return finish_replies(replies, incoming), error

    def _dispatch(self, ctx: Context) -> list[Reply]:
        incoming = ctx.incoming
        name, rest = parse_command(incoming.text) if not incoming.payload else (None, "")
        parts = incoming.payload.split(":") if incoming.payload else []
        key = ":".join(parts[:2])
        if name:
            ctx.arg_text = rest
            ctx.args = rest.split()
        else:
            ctx.args = parts[2:]
        if ctx.user is None:
            if name in OPEN_COMMANDS:
                return COMMANDS[name](ctx)
            if key == "lang:set":
                return BUTTONS[key](ctx)
            return COMMANDS["_unbound"](ctx)
        conversation = ctx.load_conversation()
        if incoming.is_group and not name and not incoming.payload and conversation is None:
            return []  # in a group the bot answers commands, buttons and its own questions only
        notices = []
        if ctx.expired_conversation:
            notices.append(Reply(ctx.t("conv.expired", name=ctx.t(f"conv.name.{ctx.expired_conversation}"))))
        if name:
            handler = COMMANDS.get(name) if not name.startswith("_") else None  # "_text": internal
            if handler is None:
                return [ctx.reply("unknown_command", command=name)]
            if conversation is not None and name != "cancel":
                ctx.end_conversation()  # a new command leaves the dialog the user was in
            return handler(ctx)
        if incoming.payload:
            if key in BUTTONS:
                return notices + BUTTONS[key](ctx)
            conv = conversations.CONVERSATIONS.get(conversation.name) if conversation else None
            if conv is not None and parts[0] == conv.prefix:
                ctx.args = parts[1:]
                return conv.resume(ctx)
            return notices + [ctx.reply("conv.stale_button")]
        if conversation is not None:
            conv = conversations.CONVERSATIONS.get(conversation.name)
            if conv is not None:
                return conv.resume(ctx)
            ctx.end_conversation()
        return notices + COMMANDS["_text"](ctx)
