"""Telegram channel on python-telegram-bot 22 (the default Telegram driver).

PTB's own Updater acknowledges early: the polling offset moves on with the next getUpdates no
matter whether the previous batch was handled, and its webhook answers 200 before handling. So
this adapter uses PTB's `Bot` for the HTTP calls but drives the loop itself:

polling   getUpdates(offset) → router.accept(each update) → only then getUpdates(offset=last+1),
          which is what confirms the batch to Telegram → process → send the replies.
webhook   check the secret token (constant time, 403 otherwise), refuse bodies over 1 MiB,
          router.accept → 200 → process → send. A failed accept answers 500: Telegram retries.
start-up  updates accepted but never processed (the process died) are processed first.

A redelivered update is a duplicate in the inbox (`accept` returns None) and is dropped, so a
crash loses nothing and a retry does nothing twice. Processing is serial per chat (a dialog's
steps stay in order) and concurrent across chats; database work runs on one worker thread so
the event loop keeps serving HTTP. Sends are paced (`bot.channels.pacing`) and honour 429.
"""
from __future__ import annotations

import asyncio
import hmac
import json
import logging
import os
import secrets
import signal
import sys
import warnings
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterable
from urllib.parse import urlparse

# PTB 22 warns that time periods (retry_after...) become timedelta in v23; this module already
# handles both, so opt in and keep the logs free of that warning.
os.environ.setdefault("PTB_TIMEDELTA", "true")

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update  # noqa: E402
from telegram.error import (  # noqa: E402
    BadRequest, ChatMigrated, Conflict, Forbidden, InvalidToken, NetworkError, RetryAfter, TelegramError,
)
from telegram.request import HTTPXRequest  # noqa: E402

from bot.channels.pacing import Pacer, Pacing  # noqa: E402
from bot.messages import MAX_TEXT, Attachment, Button, FileOut, Incoming, Reply  # noqa: E402

log = logging.getLogger(__name__)

PLATFORM = "telegram"
ALLOWED_UPDATES = ["message", "callback_query"]
MAX_WEBHOOK_BODY = 1024 * 1024
MAX_CAPTION = 1024
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"


# ---------------------------------------------------------------- the Bot
def api_urls(api_url: str) -> tuple[str, str]:
    """MAMMOTH_TELEGRAM_API_URL → PTB's (base_url, base_file_url). Accepts a server root
    ("http://host:8081") or PTB's own form ending in /bot."""
    root = api_url.rstrip("/")
    if root.endswith("/bot"):
        root = root[: -len("/bot")]
    return f"{root}/bot", f"{root}/file/bot"


def make_bot(token: str, api_url: str = "", *, pool_size: int = 64, read_timeout: float = 15.0) -> Bot:
    kwargs: dict[str, Any] = {}
    if api_url:
        kwargs["base_url"], kwargs["base_file_url"] = api_urls(api_url)
    return Bot(
        token,
        request=HTTPXRequest(connection_pool_size=pool_size, read_timeout=read_timeout,
                             media_write_timeout=60.0),
        # Long polling holds its connection for `timeout` seconds; PTB adds that to read_timeout.
        get_updates_request=HTTPXRequest(connection_pool_size=1, read_timeout=5.0),
        **kwargs,
    )


# ---------------------------------------------------------------- Update → Incoming
def _thread_of(message) -> str:
    if isinstance(message, Message) and message.is_topic_message and message.message_thread_id:
        return str(message.message_thread_id)
    return ""


def _attachments(message: Message) -> list[Attachment]:
    out: list[Attachment] = []
    if message.photo:
        biggest = message.photo[-1]
        out.append(Attachment("photo", biggest.file_id, mime_type="image/jpeg", size=biggest.file_size))
    if message.document:
        d = message.document
        out.append(Attachment("file", d.file_id, name=d.file_name or "", mime_type=d.mime_type or "",
                              size=d.file_size))
    if message.voice:
        v = message.voice
        out.append(Attachment("voice", v.file_id, mime_type=v.mime_type or "audio/ogg", size=v.file_size))
    if message.video:
        v = message.video
        out.append(Attachment("video", v.file_id, name=v.file_name or "", mime_type=v.mime_type or "",
                              size=v.file_size))
    return out


def _strip_bot_mention(text: str, bot_username: str) -> str:
    """'/find@mammoth_bot 华为' → '/find 华为' (how commands look in groups)."""
    if not text.startswith("/") or not bot_username:
        return text
    head, sep, rest = text.partition(" ")
    command, at, name = head.partition("@")
    if at and name.lower() == bot_username.lower():
        return command + sep + rest
    return text


def update_to_incoming(update: Update, bot_username: str = "") -> Incoming | None:
    """None for updates the bot does not act on (service messages, stickers, other bots)."""
    if update.callback_query is not None:
        q = update.callback_query
        if q.data is None or q.message is None:
            return None
        chat = q.message.chat
        return Incoming(
            platform=PLATFORM, chat_id=str(chat.id), sender_id=str(q.from_user.id),
            # A callback query id is unique for good; update ids may be reused after a quiet week.
            message_id=f"q{q.id}", payload=q.data, thread_id=_thread_of(q.message),
            is_group=chat.type in ("group", "supergroup"), sender_name=q.from_user.full_name or "",
            source_message_id=str(q.message.message_id),
        )
    message = update.message
    if message is None:
        return None
    sender = message.from_user
    if sender is not None and sender.is_bot:
        return None
    text = message.text or message.caption or ""
    attachments = _attachments(message)
    if not text and not attachments:
        return None
    if sender is not None:
        sender_id, sender_name = str(sender.id), sender.full_name or ""
    elif message.sender_chat is not None:  # an anonymous group admin speaks as the group
        sender_id, sender_name = str(message.sender_chat.id), message.sender_chat.title or ""
    else:
        return None
    return Incoming(
        platform=PLATFORM, chat_id=str(message.chat.id), sender_id=sender_id,
        message_id=f"m{message.chat.id}:{message.message_id}",
        text=_strip_bot_mention(text, bot_username), thread_id=_thread_of(message),
        is_group=message.chat.type in ("group", "supergroup"), sender_name=sender_name,
        attachments=attachments,
    )


# ---------------------------------------------------------------- Reply → Telegram
def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most `limit` UTF-16 units (how Telegram counts), cut at a line break when
    there is one in the second half of the chunk."""
    if _utf16_len(text) <= limit:
        return [text]
    chunks: list[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        # The longest prefix within the limit (characters outside the BMP count twice).
        lo, hi = 0, min(len(rest), limit)
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if _utf16_len(rest[:mid]) <= limit:
                lo = mid
            else:
                hi = mid - 1
        cut = lo
        newline = rest.rfind("\n", 0, cut)
        if newline > cut // 2:
            chunks.append(rest[:newline])
            rest = rest[newline + 1:]
        else:
            chunks.append(rest[:cut])
            rest = rest[cut:]
    if rest:
        chunks.append(rest)
    return chunks


def keyboard(rows: list[list[Button]]) -> InlineKeyboardMarkup | None:
    if not rows:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton(b.label, callback_data=b.payload) for b in row]
                                 for row in rows if row])


def retry_seconds(exc: RetryAfter) -> float:
    value = getattr(exc, "_retry_after", None)
    if value is None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass
class Target:
    chat_id: str
    thread_id: str = ""
    is_group: bool = False
    edit_message_id: str = ""  # the message whose button was pressed


class TelegramSender:
    """Renders `Reply` objects with PTB calls: pacing, 429 retry_after, a few network retries,
    edit-in-place with a fallback to a new message, cached file ids."""

    def __init__(self, bot: Bot, *, pacer: Pacer | None = None,
                 file_sent: Callable[[int, str, str], Awaitable[None]] | None = None,
                 max_attempts: int = 6):
        self.bot = bot
        self.pacer = pacer or Pacer(Pacing.telegram())
        self.file_sent = file_sent
        self.max_attempts = max_attempts

    async def call(self, target: Target, fn: Callable[..., Awaitable[Any]], /, *, paced: bool = True, **kwargs):
        network_failures = 0
        for attempt in range(1, self.max_attempts + 1):
            if paced:  # group and supergroup ids are negative
                await self.pacer.wait(target.chat_id, target.is_group or target.chat_id.startswith("-"))
            try:
                return await fn(**kwargs)
            except RetryAfter as exc:
                seconds = retry_seconds(exc)
                log.warning("telegram 429 for chat %s: retry after %.1fs (attempt %d)", target.chat_id, seconds, attempt)
                self.pacer.pause(target.chat_id, seconds)
                if not paced:
                    await asyncio.sleep(seconds)
                if attempt == self.max_attempts:
                    raise
            except BadRequest:
                raise
            except NetworkError:  # includes TimedOut: the message may or may not have gone out
                network_failures += 1
                if network_failures >= 3 or attempt == self.max_attempts:
                    raise
                await asyncio.sleep(0.5 * 2 ** (network_failures - 1))
        raise AssertionError("unreachable")

    async def send(self, target: Target, replies: Iterable[Reply]) -> list[Message]:
        """Send the replies of one update in order. A reply that cannot be delivered (blocked
        bot, bad request) is logged and skipped; the rest still go out."""
        sent: list[Message] = []
        for reply in replies:
            to = target
            if reply.chat_id and reply.chat_id != target.chat_id:
                to = Target(reply.chat_id, reply.thread_id)
            elif reply.thread_id:
                to = Target(target.chat_id, reply.thread_id, target.is_group, target.edit_message_id)
            try:
                sent.extend(await self._send_one(to, reply))
            except ChatMigrated as exc:  # a group became a supergroup
                try:
                    sent.extend(await self._send_one(Target(str(exc.new_chat_id), to.thread_id, True), reply))
                except TelegramError:
                    log.exception("reply to migrated chat %s failed", exc.new_chat_id)
            except (Forbidden, BadRequest, InvalidToken, RetryAfter, NetworkError) as exc:
                log.error("reply to chat %s not delivered: %s", to.chat_id, exc)
            except OSError as exc:  # the file to send is missing or unreadable
                log.error("file for chat %s not sent: %s", to.chat_id, exc)
        return sent

    def _common(self, to: Target) -> dict[str, Any]:
        kw: dict[str, Any] = {"chat_id": int(to.chat_id)}
        if to.thread_id:
            kw["message_thread_id"] = int(to.thread_id)
        return kw

    async def _send_one(self, to: Target, reply: Reply) -> list[Message]:
        out: list[Message] = []
        markup = keyboard(reply.buttons)
        attachment = reply.file or reply.image
        chunks = split_text(reply.text) if reply.text else []
        # Buttons sit under the last piece of text, or under the file when there is no text.
        text_markup = markup if chunks else None
        file_markup = None if chunks else markup

        if chunks and reply.edit and to.edit_message_id:
            edited = await self._edit(to, chunks[0], markup if len(chunks) == 1 else None)
            if edited is not None:
                if isinstance(edited, Message):
                    out.append(edited)
                chunks = chunks[1:]
        elif not chunks and markup and reply.edit and to.edit_message_id and attachment is None:
            await self._edit_markup(to, markup)
            return out
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            out.append(await self.call(to, self.bot.send_message, text=chunk,
                                       reply_markup=text_markup if last else None, **self._common(to)))
        if reply.file is not None:
            out.append(await self._send_file(to, reply.file, as_photo=reply.file.is_image, markup=file_markup))
            file_markup = None
        if reply.image is not None:
            out.append(await self._send_file(to, reply.image, as_photo=True, markup=file_markup))
        return out

    async def _edit(self, to: Target, text: str, markup) -> Message | bool | None:
        """Edit the pressed message; None when it cannot be edited (then a new one is sent)."""
        try:
            return await self.call(to, self.bot.edit_message_text, chat_id=int(to.chat_id),
                                   message_id=int(to.edit_message_id), text=text, reply_markup=markup)
        except BadRequest as exc:
            if "not modified" in str(exc).lower():
                return True
            log.info("edit of %s:%s failed (%s); sending a new message", to.chat_id, to.edit_message_id, exc)
            return None

    async def _edit_markup(self, to: Target, markup) -> None:
        try:
            await self.call(to, self.bot.edit_message_reply_markup, chat_id=int(to.chat_id),
                            message_id=int(to.edit_message_id), reply_markup=markup)
        except BadRequest as exc:
            if "not modified" not in str(exc).lower():
                raise

    async def _send_file(self, to: Target, f: FileOut, *, as_photo: bool, markup) -> Message:
        method = self.bot.send_photo if as_photo else self.bot.send_document
        field = "photo" if as_photo else "document"
        caption = f.caption[:MAX_CAPTION] or None
        cached = f.cached_ids.get(PLATFORM)
        if cached:
            try:
                return await self.call(to, method, **{field: cached}, caption=caption, reply_markup=markup,
                                       **self._common(to))
            except BadRequest as exc:  # an id from another bot, or one Telegram forgot
                log.warning("cached file id for %s refused (%s); uploading again", f.filename, exc)
        data = await asyncio.to_thread(Path(f.path).read_bytes)
        extra = {} if as_photo else {"filename": f.filename}
        message = await self.call(to, method, **{field: data}, caption=caption, reply_markup=markup,
                                  **extra, **self._common(to))
        new_id = _file_id(message, as_photo)
        if f.material_id is not None and new_id and new_id != cached and self.file_sent is not None:
            try:
                await self.file_sent(f.material_id, PLATFORM, new_id)
            except Exception:  # the file went out; caching its id is only an optimisation
                log.exception("caching file id of material %s failed", f.material_id)
        return message


def _file_id(message: Message, as_photo: bool) -> str:
    if as_photo and message.photo:
        return message.photo[-1].file_id
    if message.document:
        return message.document.file_id
    if message.photo:
        return message.photo[-1].file_id
    return ""


class TelegramOutbound:
    """Proactive messages (the outbox relay's nudges, bot/relay.py) through the same rendering.
    The relay owns retries, so failures are reported instead of retried here: 429 and network
    trouble → `RetryLater` (with Telegram's retry_after), a refusal for good (bot blocked, chat
    gone) → `Undeliverable`. Pass the channel's pacer when both run in one process."""

    platform = PLATFORM

    def __init__(self, bot: Bot, *, pacer: Pacer | None = None,
                 file_sent: Callable[[int, str, str], Awaitable[None]] | None = None):
        self.sender = TelegramSender(bot, pacer=pacer or Pacer(Pacing.telegram()), file_sent=file_sent,
                                     max_attempts=1)

    async def deliver(self, chat_id: str, replies: list[Reply]) -> None:
        from bot.relay import RetryLater, Undeliverable  # the relay's contract, imported when used

        target = Target(str(chat_id))
        for reply in replies:
            to = Target(reply.chat_id, reply.thread_id) if reply.chat_id else target
            try:
                try:
                    await self.sender._send_one(to, reply)
                except ChatMigrated as exc:  # the group became a supergroup: follow it
                    await self.sender._send_one(Target(str(exc.new_chat_id), to.thread_id, True), reply)
            except RetryAfter as exc:
                raise RetryLater(f"telegram 429 for chat {to.chat_id}", retry_after=retry_seconds(exc)) from exc
            except (Forbidden, BadRequest, InvalidToken, ChatMigrated) as exc:
                raise Undeliverable(f"telegram refused chat {to.chat_id}: {exc}") from exc
            except NetworkError as exc:
                raise RetryLater(f"telegram unreachable: {exc}") from exc
            except OSError as exc:  # a file to send is missing: retrying will not bring it back
                raise Undeliverable(f"file not sent: {exc}") from exc


# ---------------------------------------------------------------- the channel
class ChatLanes:
    """Work items run one after another per key (a chat), concurrently across keys."""

    def __init__(self, run: Callable[[Any], Awaitable[None]]):
        self._run = run
        self._lanes: dict[str, deque] = {}
        self._tasks: set[asyncio.Task] = set()
        self.backlog = 0
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, key: str, item: Any) -> None:
        self.backlog += 1
        self._idle.clear()
        lane = self._lanes.get(key)
        if lane is None:
            lane = self._lanes[key] = deque()
            task = asyncio.create_task(self._drain(key, lane), name=f"telegram-chat-{key}")
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        lane.append(item)

    async def _drain(self, key: str, lane: deque) -> None:
        try:
            while lane:
                item = lane.popleft()
                try:
                    await self._run(item)
                except Exception:  # one bad update never stops the chat, let alone the bot
                    log.exception("telegram update for chat %s failed", key)
                finally:
                    self.backlog -= 1
        finally:
            del self._lanes[key]
            if not self._lanes:
                self._idle.set()

    async def wait_below(self, limit: int) -> None:
        while self.backlog >= limit:
            await asyncio.sleep(0.01)

    async def join(self) -> None:
        await self._idle.wait()


class TelegramChannel:
    """Polling or webhook front door for one bot, in front of a `bot.router.Router`."""

    def __init__(self, bot: Bot, router, *, pacing: Pacing | None = None, poll_timeout: int = 25,
                 max_backlog: int = 2000, db_threads: int = 1):
        self.bot = bot
        self.router = router
        self.poll_timeout = poll_timeout
        self.max_backlog = max_backlog
        # SQLite has one writer: one thread for router calls means no lock waits and FIFO order.
        self._db = ThreadPoolExecutor(max_workers=db_threads, thread_name_prefix="mammoth-router")
        self.sender = TelegramSender(bot, pacer=Pacer(pacing or Pacing.telegram()), file_sent=self._file_sent)
        self.lanes = ChatLanes(self._process)
        self._background: set[asyncio.Task] = set()
        self.username = ""
        self.webhook_port: int | None = None
        self.last_update_id = 0  # the newest update taken in (stored or found a duplicate)

    # -- router calls, off the event loop
    async def _router(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self._db, fn, *args)

    async def _file_sent(self, material_id: int, platform: str, file_id: str) -> None:
        await self._router(self.router.file_sent, material_id, platform, file_id)

    # -- life cycle
    async def start(self) -> None:
        await self.bot.initialize()  # getMe: checks the token
        self.username = self.bot.username or ""

    async def stop(self) -> None:
        await self.lanes.join()
        if self._background:
            await asyncio.gather(*self._background, return_exceptions=True)
        await self.bot.shutdown()
        self._db.shutdown(wait=True)

    async def recover(self) -> int:
        """Process what was stored but never processed (the last run died). Their replies carry
        their chat id; only an edit-in-place degrades to a new message. Returns the count."""
        pending = await self._router(self.router.pending, PLATFORM)  # not another channel's rows
        if pending:
            log.warning("telegram: %d updates left unprocessed by the last run; processing them now", len(pending))
        for inbox_id in pending:  # one lane, in the order they came, finished before new work
            self.lanes.submit("recovery", (inbox_id, None))
        await self.lanes.join()
        return len(pending)

    # -- the pipeline: accept (before the acknowledgement) → process → send
    async def accept(self, updates: Iterable[Update]) -> list[tuple[int, Incoming, Update]]:
        """Store each update in the inbox. Raises when the database does: then nothing may be
        acknowledged. Returns the new (not duplicate) ones."""
        wanted = []
        for update in updates:
            try:
                incoming = update_to_incoming(update, self.username)
            except Exception:  # one odd update must not block the ones behind it
                log.exception("telegram update %s could not be read; skipped", update.update_id)
                continue
            if incoming is not None:
                wanted.append((incoming, update))
        if not wanted:
            return []

        def store() -> list[tuple[int, Incoming, Update]]:
            fresh = []
            for incoming, update in wanted:
                inbox_id = self.router.accept(incoming)
                if inbox_id is not None:
                    fresh.append((inbox_id, incoming, update))
            return fresh

        return await self._router(store)

    def dispatch(self, updates: Iterable[Update], accepted: list[tuple[int, Incoming, Update]]) -> None:
        for update in updates:
            self.last_update_id = max(self.last_update_id, update.update_id)
        for inbox_id, incoming, update in accepted:
            if update.callback_query is not None:
                self._in_background(self._answer_callback(update.callback_query.id, incoming))
            self.lanes.submit(incoming.chat_id, (inbox_id, incoming))

    def _in_background(self, coro) -> None:
        task = asyncio.create_task(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _answer_callback(self, query_id: str, incoming: Incoming) -> None:
        # Answered at once so the button's spinner stops; the reply itself follows.
        try:
            await self.sender.call(Target(incoming.chat_id, is_group=incoming.is_group),
                                   self.bot.answer_callback_query, callback_query_id=query_id, paced=False)
        except TelegramError as exc:
            log.info("answerCallbackQuery failed: %s", exc)

    async def _process(self, item: tuple[int, Incoming | None]) -> None:
        inbox_id, incoming = item
        replies = await self._router(self.router.process, inbox_id)
        if incoming is None:  # recovered after a restart: each reply names its chat
            target = Target("")
            for r in replies:
                if not r.chat_id:
                    log.error("recovered inbox %s has a reply without a chat; dropped", inbox_id)
            replies = [r for r in replies if r.chat_id]
        else:
            target = Target(incoming.chat_id, incoming.thread_id, incoming.is_group, incoming.source_message_id)
        await self.sender.send(target, replies)

    # -- polling
    async def poll(self, stop: asyncio.Event) -> None:
        """Long polling until `stop` is set. The offset (Telegram's acknowledgement) only moves
        past a batch after the whole batch is in the inbox."""
        await self.sender.call(Target("0"), self.bot.delete_webhook, drop_pending_updates=False, paced=False)
        await self.recover()
        log.info("telegram: polling as @%s", self.username)
        offset: int | None = None
        stopping = asyncio.create_task(stop.wait())
        failures = 0
        try:
            while not stop.is_set():
                await self.lanes.wait_below(self.max_backlog)
                fetch = asyncio.create_task(self.bot.get_updates(
                    offset=offset, limit=100, timeout=self.poll_timeout, allowed_updates=ALLOWED_UPDATES))
                done, _ = await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                if fetch not in done:
                    fetch.cancel()
                    await asyncio.gather(fetch, return_exceptions=True)
                    break
                try:
                    updates = fetch.result()
                except RetryAfter as exc:
                    await asyncio.sleep(retry_seconds(exc))
                    continue
                except (Conflict, InvalidToken):
                    raise  # another instance polls with this token, or the token is wrong
                except Exception as exc:  # network trouble, Telegram 5xx, an unreadable batch
                    failures += 1
                    delay = min(30.0, 0.5 * 2 ** min(failures, 6))
                    log.warning("getUpdates failed (%s); retrying in %.1fs", exc, delay)
                    await asyncio.sleep(delay)
                    continue
                failures = 0
                if not updates:
                    continue
                try:
                    accepted = await self.accept(updates)
                except Exception:
                    # Not stored, so not acknowledged: the same batch comes again.
                    log.exception("telegram: storing %d updates failed; fetching them again", len(updates))
                    await asyncio.sleep(1.0)
                    continue
                offset = updates[-1].update_id + 1
                self.dispatch(updates, accepted)
        finally:
            stopping.cancel()
            if offset is not None:  # confirm the last batch, as PTB's Updater does on stop
                try:
                    await self.bot.get_updates(offset=offset, limit=1, timeout=0)
                except TelegramError:
                    pass

    # -- webhook
    async def serve_webhook(self, stop: asyncio.Event, *, url: str, secret: str = "",
                            listen: str = "127.0.0.1", port: int = 8443) -> None:
        from aiohttp import web

        secret = secret or secrets.token_urlsafe(32)
        path = urlparse(url).path or "/"

        async def receive(request: web.Request) -> web.Response:
            given = request.headers.get(SECRET_HEADER, "")
            if not hmac.compare_digest(given.encode(), secret.encode()):
                return web.Response(status=403)
            if request.content_length is not None and request.content_length > MAX_WEBHOOK_BODY:
                return web.Response(status=413)
            try:
                body = await request.read()
                update = Update.de_json(json.loads(body), self.bot)
            except web.HTTPRequestEntityTooLarge:
                return web.Response(status=413)
            except Exception:
                return web.Response(status=400)
            try:
                accepted = await self.accept([update])
            except Exception:
                log.exception("telegram webhook: storing update %s failed", update.update_id)
                return web.Response(status=500)  # Telegram delivers it again
            self.dispatch([update], accepted)
            return web.Response(status=200)

        app = web.Application(client_max_size=MAX_WEBHOOK_BODY)
        app.router.add_post(path, receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, listen, port)
        await site.start()
        self.webhook_port = runner.addresses[0][1] if runner.addresses else port
        try:
            await self.recover()
            await self.sender.call(Target("0"), self.bot.set_webhook, url=url, secret_token=secret,
                                   allowed_updates=ALLOWED_UPDATES, paced=False)
            log.info("telegram: webhook %s as @%s, listening on %s:%s", url, self.username, listen, self.webhook_port)
            await stop.wait()
        finally:
            await runner.cleanup()


# ---------------------------------------------------------------- entry point
async def serve(router, settings, stop: asyncio.Event, *, pacing: Pacing | None = None,
                ready: Callable[[TelegramChannel], None] | None = None) -> None:
    """Run the Telegram channel for `settings` until `stop` is set."""
    channel = TelegramChannel(make_bot(settings.telegram_token, settings.telegram_api_url), router, pacing=pacing)
    await channel.start()
    mode = f"webhook {settings.telegram_webhook_url}" if settings.telegram_webhook_url else "polling"
    print(f"telegram: @{channel.username} ({mode}); Ctrl+C stops", file=sys.stderr, flush=True)
    if ready is not None:
        ready(channel)
    try:
        if settings.telegram_webhook_url:
            await channel.serve_webhook(stop, url=settings.telegram_webhook_url,
                                        secret=settings.telegram_webhook_secret,
                                        listen=settings.telegram_webhook_listen,
                                        port=settings.telegram_webhook_port)
        else:
            await channel.poll(stop)
    finally:
        await channel.stop()


def run_telegram(db, settings, *, router=None) -> None:
    """`mammoth run` with MAMMOTH_TELEGRAM_TOKEN set: serve until SIGINT/SIGTERM."""
    if router is None:
        from bot.router import Router

        router = Router(db)

    scheduler = None

    def start_scheduler(channel: TelegramChannel) -> None:
        # Nudges go out through the same bot and the same pacer as replies: one set of limits.
        nonlocal scheduler
        if not settings.scheduler:
            return
        from bot.scheduler import NudgeScheduler

        scheduler = NudgeScheduler(db, [TelegramOutbound(channel.bot, pacer=channel.sender.pacer,
                                                         file_sent=channel._file_sent)])
        scheduler.start()

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):  # not the main thread / Windows
                pass
        try:
            await serve(router, settings, stop, ready=start_scheduler)
        finally:
            if scheduler is not None:
                scheduler.shutdown()

    try:
        asyncio.run(main())
    except Conflict as exc:
        raise SystemExit(f"telegram: another process is receiving updates for this bot ({exc})") from None
    except InvalidToken:  # PTB's message would print the token itself
        raise SystemExit("telegram: the Bot API server refused MAMMOTH_TELEGRAM_TOKEN") from None
