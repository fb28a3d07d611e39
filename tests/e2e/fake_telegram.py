"""A fake Telegram Bot API server (aiohttp, 127.0.0.1, random port) for e2e tests and benchmarks.

The real python-telegram-bot talks to it over HTTP (`base_url=fake.base_url`). It implements the
methods the bot uses with Telegram's semantics where they matter:

- getUpdates long-polls up to `timeout` seconds; an update is confirmed (dropped) as soon as
  getUpdates is called with an offset above its id; 409 while a webhook is set.
- setWebhook/deleteWebhook: with a webhook set, updates are POSTed to it with the
  X-Telegram-Bot-Api-Secret-Token header, and redelivered until the bot answers 200.
- sendMessage / editMessageText / sendDocument / sendPhoto keep the chat's messages, so a button
  press can refer to a real message and an edit can be checked; uploads get fresh file ids and a
  known file id is accepted in place of an upload.
- a flood knob answers a fraction of sending calls with 429 + retry_after.

Every call is recorded (`fake.calls`). Tests inject updates with `message()`, `press()` etc.
Run as a script (`python -m tests.e2e.fake_telegram`) it prints its port and also serves
/_fake/* control endpoints, so a benchmark can drive it from another process.
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import random
import sys
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import ClientSession, ClientTimeout, web

TOKEN = "123456:TEST-fake-token"
BOT_ID = 123456
SENDING = ("sendMessage", "editMessageText", "editMessageReplyMarkup", "sendDocument", "sendPhoto")
INT_FIELDS = ("chat_id", "message_id", "message_thread_id", "offset", "limit", "timeout", "max_connections")
JSON_FIELDS = ("reply_markup", "allowed_updates", "drop_pending_updates", "show_alert")


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic()
    status: int = 200
    result: Any = None


@dataclass
class Flood:
    rate: float = 0.0  # fraction of sending calls answered with 429
    retry_after: int = 1
    methods: tuple[str, ...] = SENDING
    limit: int | None = None  # at most this many 429s, then calm
    rng: random.Random = field(default_factory=lambda: random.Random(3))
    count: int = 0


class FakeTelegram:
    def __init__(self, token: str = TOKEN, *, username: str = "mammoth_test_bot", control: bool = False):
        self.token = token
        self.username = username
        self.control = control
        self.port = 0
        self.calls: list[Call] = []
        self.flood = Flood()
        self.webhook_url = ""
        self.webhook_secret = ""
        self.webhook_deliveries: list[tuple[int, int]] = []  # (update_id, http status)
        self.callbacks_answered: set[str] = set()
        self.blocked: set[int] = set()  # users who blocked the bot: sending to them is 403
        self.chats: dict[int, dict] = {}
        self.messages: dict[int, dict[int, dict]] = {}  # chat id → message id → message
        self.files: dict[str, dict] = {}  # file_id → {"data", "name", "mime"}
        self.inject_times: dict[int, float] = {}  # update id → monotonic time it was injected
        self._queue: list[dict] = []  # unconfirmed updates, in order
        self._seen: list[dict] = []  # confirmed (or delivered by webhook)
        self._update_ids = itertools.count(1000)
        self._message_ids: dict[int, itertools.count] = {}
        self._file_ids = itertools.count(1)
        self._query_ids = itertools.count(9_000)
        self._changed = asyncio.Event()
        self._sent_event = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._closing = False
        self._delivery: asyncio.Task | None = None
        self._load: asyncio.Task | None = None
        self.load_state: dict[str, Any] = {}

    # ------------------------------------------------------------ life cycle
    async def start(self, port: int = 0) -> "FakeTelegram":
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._api)
        app.router.add_get("/file/bot{token}/{path:.*}", self._file)
        if self.control:
            app.router.add_post("/_fake/{action}", self._control)
            app.router.add_get("/_fake/{action}", self._control)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def stop(self) -> None:
        self._closing = True
        self._changed.set()  # wake long polls so the server can shut down at once
        for task in (self._delivery, self._load):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.api_url}/bot"

    # ------------------------------------------------------------ injecting updates
    def _chat(self, chat_id: int, chat_type: str | None = None, title: str = "") -> dict:
        chat = self.chats.get(chat_id)
        if chat is None:
            chat_type = chat_type or ("private" if chat_id > 0 else "supergroup")
            chat = {"id": chat_id, "type": chat_type}
            if chat_type == "private":
                chat["first_name"] = f"user{chat_id}"
            else:
                chat["title"] = title or f"group{chat_id}"
                if chat_type == "supergroup":
                    chat["is_forum"] = True
            self.chats[chat_id] = chat
        return chat

    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    @staticmethod
    def _user(user_id: int, name: str = "") -> dict:
        return {"id": user_id, "is_bot": False, "first_name": name or f"user{user_id}", "language_code": "zh-hans"}

    def push(self, update: dict) -> int:
        """Queue a raw update (it gets an update_id unless it has one)."""
        update.setdefault("update_id", next(self._update_ids))
        self._queue.append(update)
        self.inject_times[update["update_id"]] = time.monotonic()
        self._changed.set()
        return update["update_id"]

    def message(self, user_id: int, text: str = "", *, chat_id: int | None = None, chat_type: str | None = None,
                thread_id: int | None = None, name: str = "", photo: bool = False,
                document: tuple[str, bytes] | None = None, voice: bool = False, caption: str = "") -> int:
        """A user sends a message (text, or a photo/document/voice with an optional caption)."""
        chat_id = chat_id if chat_id is not None else user_id
        chat = self._chat(chat_id, chat_type)
        msg: dict[str, Any] = {"message_id": self._next_message_id(chat_id), "date": int(time.time()),
                               "chat": chat, "from": self._user(user_id, name)}
        if text:
            msg["text"] = text
            if text.startswith("/"):
                msg["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        if caption:
            msg["caption"] = caption
        if thread_id is not None:
            msg["message_thread_id"] = thread_id
            msg["is_topic_message"] = True
        if photo:
            fid = self._store_file(b"\xff\xd8fake-jpeg", "photo.jpg", "image/jpeg")
            msg["photo"] = [{"file_id": fid + "_s", "file_unique_id": fid + "u_s", "width": 90, "height": 60},
                            {"file_id": fid, "file_unique_id": fid + "u", "width": 1280, "height": 853, "file_size": 11}]
        if document:
            name_, data = document
            fid = self._store_file(data, name_, "application/octet-stream")
            msg["document"] = {"file_id": fid, "file_unique_id": fid + "u", "file_name": name_,
                               "mime_type": "application/octet-stream", "file_size": len(data)}
        if voice:
            fid = self._store_file(b"OggS-fake", "voice.ogg", "audio/ogg")
            msg["voice"] = {"file_id": fid, "file_unique_id": fid + "u", "duration": 3, "mime_type": "audio/ogg"}
        self.messages.setdefault(chat_id, {})[msg["message_id"]] = msg
        return self.push({"message": msg})

    def callback(self, user_id: int, chat_id: int, message_id: int, data: str) -> int:
        """A user presses an inline button with `data` under the bot's message `message_id`."""
        msg = self.messages[chat_id][message_id]
        query = {"id": str(next(self._query_ids)), "from": self._user(user_id), "message": msg,
                 "chat_instance": f"ci{chat_id}", "data": data}
        return self.push({"callback_query": query})

    def press(self, user_id: int, label: str, *, chat_id: int | None = None, exact: bool = False) -> int:
        """Press the button whose label contains `label` on the newest bot message showing it."""
        chat_id = chat_id if chat_id is not None else user_id
        for msg in reversed(list(self.messages.get(chat_id, {}).values())):
            for row in (msg.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if (button["text"] == label) if exact else (label in button["text"]):
                        return self.callback(user_id, chat_id, msg["message_id"], button["callback_data"])
        raise LookupError(f"no button {label!r} in chat {chat_id}; buttons: {self.buttons(chat_id)}")

    def buttons(self, chat_id: int) -> list[list[str]]:
        """Labels of the buttons on the newest bot message that has any."""
        for msg in reversed(list(self.messages.get(chat_id, {}).values())):
            rows = (msg.get("reply_markup") or {}).get("inline_keyboard")
            if rows and msg.get("from", {}).get("id") == BOT_ID:
                return [[b["text"] for b in row] for row in rows]
        return []

    def redeliver(self, update_id: int, times: int = 1) -> None:
        """Telegram sends an update again (a lost acknowledgement): the very same update, same id."""
        original = next(u for u in self.all_updates() if u["update_id"] == update_id)
        for _ in range(times):
            copy = json.loads(json.dumps(original))
            copy["_redelivery"] = True  # survives the offset once
            self._queue.append(copy)
        self._changed.set()

    def all_updates(self) -> list[dict]:
        return self._seen + self._queue

    @property
    def unconfirmed(self) -> list[int]:
        return [u["update_id"] for u in self._queue]

    # ------------------------------------------------------------ looking at what the bot did
    def sent(self, chat_id: int | None = None, methods: tuple[str, ...] = SENDING) -> list[Call]:
        return [c for c in self.calls if c.method in methods and c.status == 200
                and (chat_id is None or int(c.params.get("chat_id", 0)) == chat_id)]

    def texts(self, chat_id: int | None = None) -> list[str]:
        """Texts (and captions) of everything successfully sent or edited, in order."""
        out = []
        for c in self.sent(chat_id):
            if c.params.get("text"):
                out.append(c.params["text"])
            elif c.params.get("caption"):
                out.append(c.params["caption"])
        return out

    def count(self, method: str) -> int:
        return sum(1 for c in self.calls if c.method == method and c.status == 200)

    async def wait_for(self, predicate, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("fake telegram: condition not met in time")
            self._sent_event.clear()
            try:
                await asyncio.wait_for(self._sent_event.wait(), min(remaining, 0.25))
            except asyncio.TimeoutError:
                pass

    async def wait_sent(self, n: int, chat_id: int | None = None, timeout: float = 10.0,
                        methods: tuple[str, ...] = SENDING) -> list[Call]:
        """Wait until at least n sending calls (in total, for chat_id) succeeded."""
        await self.wait_for(lambda: len(self.sent(chat_id, methods)) >= n, timeout)
        return self.sent(chat_id, methods)

    async def wait_idle(self, quiet: float = 0.3, timeout: float = 10.0) -> None:
        """Wait until the bot has fetched everything and not called for `quiet` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            last = self.calls[-1].at if self.calls else 0
            busy = [u for u in self._queue if not u.get("_fetched")]
            if not busy and time.monotonic() - last >= quiet:
                return
            await asyncio.sleep(0.05)
        raise TimeoutError("fake telegram: bot not idle")

    # ------------------------------------------------------------ files
    def _store_file(self, data: bytes, name: str, mime: str) -> str:
        fid = f"FILE{next(self._file_ids):05d}"
        self.files[fid] = {"data": data, "name": name, "mime": mime}
        return fid

    async def _file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.Response(status=401)
        fid = request.match_info["path"].split("/")[-1]
        f = self.files.get(fid)
        return web.Response(body=f["data"]) if f else web.Response(status=404)

    # ------------------------------------------------------------ the API
    @staticmethod
    def _ok(result: Any) -> web.Response:
        return web.json_response({"ok": True, "result": result})

    @staticmethod
    def _error(status: int, description: str, **parameters) -> web.Response:
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if parameters:
            body["parameters"] = parameters
        return web.json_response(body, status=status)

    async def _params(self, request: web.Request) -> dict[str, Any]:
        params: dict[str, Any] = dict(request.query)
        ctype = request.content_type
        if ctype == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            form = await request.post()
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    params[key] = {"upload": value.file.read(), "filename": value.filename,
                                   "mime": value.content_type}
                else:
                    params[key] = value
        for key in INT_FIELDS:
            if isinstance(params.get(key), str) and params[key].lstrip("-").isdigit():
                params[key] = int(params[key])
        for key in JSON_FIELDS:
            if isinstance(params.get(key), str):
                try:
                    params[key] = json.loads(params[key])
                except ValueError:
                    pass
        for key, value in list(params.items()):  # attach://name points at another multipart part
            if isinstance(value, str) and value.startswith("attach://"):
                params[key] = params.pop(value[len("attach://"):], value)
        return params

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = await self._params(request)
        call = Call(method, {k: v for k, v in params.items() if not isinstance(v, dict) or "upload" not in v},
                    time.monotonic())
        if request.match_info["token"] != self.token:
            call.status = 401
            self.calls.append(call)
            return self._error(401, "Unauthorized")
        flood = self.flood
        if (method in flood.methods and flood.rate > 0 and (flood.limit is None or flood.count < flood.limit)
                and flood.rng.random() < flood.rate):
            flood.count += 1
            call.status = 429
            self.calls.append(call)
            return self._error(429, f"Too Many Requests: retry after {flood.retry_after}",
                               retry_after=flood.retry_after)
        if method in SENDING and params.get("chat_id") in self.blocked:
            call.status = 403
            self.calls.append(call)
            return self._error(403, "Forbidden: bot was blocked by the user")
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            call.status = 404
            self.calls.append(call)
            return self._error(404, "Not Found")
        if method != "getUpdates":
            self.calls.append(call)
        try:
            result = await handler(params) if asyncio.iscoroutinefunction(handler) else handler(params)
        except ApiError as exc:
            call.status = exc.status
            response = self._error(exc.status, exc.description)
        else:
            call.result = result
            response = self._ok(result)
        if method == "getUpdates" and (result or call.status != 200):
            self.calls.append(call)
        if method in SENDING:
            self._sent_event.set()
        return response

    def api_getMe(self, p):
        return {"id": BOT_ID, "is_bot": True, "first_name": "猛犸微助", "username": self.username,
                "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False}

    def api_logOut(self, p):
        return True

    def api_getWebhookInfo(self, p):
        return {"url": self.webhook_url, "has_custom_certificate": False,
                "pending_update_count": len(self._queue)}

    def api_deleteWebhook(self, p):
        self.webhook_url = ""
        if p.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def api_setWebhook(self, p):
        self.webhook_url = p["url"]
        self.webhook_secret = p.get("secret_token", "")
        if p.get("drop_pending_updates"):
            self._queue.clear()
        if self._delivery is None or self._delivery.done():
            self._delivery = asyncio.create_task(self._deliver_webhook())
        self._changed.set()
        return True

    async def api_getUpdates(self, p):
        if self.webhook_url:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active; "
                                "use deleteWebhook to delete the webhook first")
        offset = p.get("offset")
        limit = min(int(p.get("limit") or 100), 100)
        timeout = float(p.get("timeout") or 0)
        if offset is not None:
            self._confirm(int(offset))
        deadline = time.monotonic() + timeout
        while not self._queue and time.monotonic() < deadline and not self._closing:
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
            except asyncio.TimeoutError:
                break
        batch = self._queue[:limit]
        for u in batch:
            u["_fetched"] = True
            u.pop("_redelivery", None)
        return [{k: v for k, v in u.items() if not k.startswith("_")} for u in batch]

    def _confirm(self, offset: int) -> None:
        if offset < 0:  # the last -offset updates only
            keep = self._queue[offset:] if -offset < len(self._queue) else self._queue
            dropped = self._queue[: len(self._queue) - len(keep)]
        else:
            dropped = [u for u in self._queue if u["update_id"] < offset and not u.get("_redelivery")]
            keep = [u for u in self._queue if not (u["update_id"] < offset and not u.get("_redelivery"))]
        self._seen.extend(dropped)
        self._queue = keep

    def _bot_message(self, chat_id: int, extra: dict) -> dict:
        chat = self._chat(chat_id)
        msg = {"message_id": self._next_message_id(chat_id), "date": int(time.time()), "chat": chat,
               "from": {"id": BOT_ID, "is_bot": True, "first_name": "猛犸微助", "username": self.username}}
        msg.update({k: v for k, v in extra.items() if v is not None})
        self.messages.setdefault(chat_id, {})[msg["message_id"]] = msg
        return msg

    def _check_chat(self, p) -> int:
        chat_id = p.get("chat_id")
        if not isinstance(chat_id, int):
            raise ApiError(400, "Bad Request: chat not found")
        return chat_id

    @staticmethod
    def _markup(p) -> dict | None:
        markup = p.get("reply_markup")
        if markup is None:
            return None
        for row in markup.get("inline_keyboard", []):
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= 64:
                    raise ApiError(400, "Bad Request: BUTTON_DATA_INVALID")
        return markup

    def api_sendMessage(self, p):
        chat_id = self._check_chat(p)
        text = p.get("text", "")
        if not text.strip():
            raise ApiError(400, "Bad Request: message text is empty")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._bot_message(chat_id, {"text": text, "reply_markup": self._markup(p),
                                           "message_thread_id": p.get("message_thread_id")})

    def _editable(self, p) -> dict:
        chat_id = self._check_chat(p)
        msg = self.messages.get(chat_id, {}).get(p.get("message_id"))
        if msg is None:
            raise ApiError(400, "Bad Request: message to edit not found")
        if msg.get("from", {}).get("id") != BOT_ID:
            raise ApiError(400, "Bad Request: message can't be edited")
        return msg

    def api_editMessageText(self, p):
        msg = self._editable(p)
        if "text" not in msg:
            raise ApiError(400, "Bad Request: there is no text in the message to edit")
        text = p.get("text", "")
        if len(text.encode("utf-16-le")) // 2 > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        markup = self._markup(p)
        if text == msg["text"] and markup == msg.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified: specified new message content and "
                                "reply markup are exactly the same as a current content and reply markup of the message")
        msg["text"] = text
        msg["edit_date"] = int(time.time())
        if markup is None:
            msg.pop("reply_markup", None)
        else:
            msg["reply_markup"] = markup
        return msg

    def api_editMessageReplyMarkup(self, p):
        msg = self._editable(p)
        markup = self._markup(p)
        if markup == msg.get("reply_markup"):
            raise ApiError(400, "Bad Request: message is not modified")
        if markup is None:
            msg.pop("reply_markup", None)
        else:
            msg["reply_markup"] = markup
        return msg

    def api_answerCallbackQuery(self, p):
        qid = str(p.get("callback_query_id", ""))
        known = {u["callback_query"]["id"] for u in self.all_updates() if "callback_query" in u}
        if qid not in known:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self.callbacks_answered.add(qid)
        return True

    def _file_param(self, p, field_name: str, default_name: str) -> tuple[str, dict]:
        value = p.get(field_name)
        if isinstance(value, dict) and "upload" in value:
            fid = self._store_file(value["upload"], value["filename"] or default_name, value["mime"])
            return fid, self.files[fid]
        if isinstance(value, str) and value in self.files:
            return value, self.files[value]
        raise ApiError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def api_sendDocument(self, p):
        chat_id = self._check_chat(p)
        fid, f = self._file_param(p, "document", "document")
        return self._bot_message(chat_id, {
            "document": {"file_id": fid, "file_unique_id": fid + "u", "file_name": f["name"],
                         "mime_type": f["mime"], "file_size": len(f["data"])},
            "caption": p.get("caption"), "reply_markup": self._markup(p),
            "message_thread_id": p.get("message_thread_id")})

    def api_sendPhoto(self, p):
        chat_id = self._check_chat(p)
        fid, f = self._file_param(p, "photo", "photo.jpg")
        return self._bot_message(chat_id, {
            "photo": [{"file_id": fid, "file_unique_id": fid + "u", "width": 800, "height": 600,
                       "file_size": len(f["data"])}],
            "caption": p.get("caption"), "reply_markup": self._markup(p),
            "message_thread_id": p.get("message_thread_id")})

    def api_getFile(self, p):
        fid = p.get("file_id", "")
        if fid not in self.files:
            raise ApiError(400, "Bad Request: invalid file_id")
        return {"file_id": fid, "file_unique_id": fid + "u", "file_size": len(self.files[fid]["data"]),
                "file_path": f"documents/{fid}"}

    # ------------------------------------------------------------ webhook delivery
    async def _deliver_webhook(self, retry_delay: float = 0.2) -> None:
        async with ClientSession(timeout=ClientTimeout(total=10)) as http:
            while True:
                if not self.webhook_url or not self._queue:
                    self._changed.clear()
                    await self._changed.wait()
                    continue
                update = self._queue[0]
                headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook_secret} if self.webhook_secret else {}
                body = {k: v for k, v in update.items() if not k.startswith("_")}
                try:
                    async with http.post(self.webhook_url, json=body, headers=headers) as resp:
                        status = resp.status
                except Exception:
                    status = 0
                self.webhook_deliveries.append((update["update_id"], status))
                if status == 200:
                    self._queue.pop(0)
                    self._seen.append(update)
                else:  # Telegram keeps trying
                    await asyncio.sleep(retry_delay)

    # ------------------------------------------------------------ control endpoints (script mode)
    async def _control(self, request: web.Request) -> web.Response:
        action = request.match_info["action"]
        body = await request.json() if request.can_read_body else {}
        if action == "reset":
            self.calls.clear()
            self.inject_times.clear()
            self.load_state = {}
            return web.json_response({"ok": True})
        if action == "load":
            self._load = asyncio.create_task(self._run_load(**body))
            return web.json_response({"ok": True})
        if action == "stats":
            return web.json_response(self.load_state)
        return web.json_response({"ok": False}, status=404)

    async def _run_load(self, users: list[int], texts: dict[str, list[str]], count: int, rate: float = 0.0,
                        timeout: float = 300.0) -> None:
        """Inject `count` text updates round-robin over `users` (user i sends texts[str(i)] in
        turn), at `rate` per second or all at once when 0; then wait for the replies. Reply k
        to a chat answers update k of that chat, so every text must get exactly one message."""
        state = self.load_state = {"count": count, "injected": 0, "replied": 0, "done": False}
        per_chat: dict[int, list[int]] = {}
        replies: dict[int, list[float]] = {}
        first_call = scanned = len(self.calls)
        start = time.monotonic()
        for i in range(count):
            if rate:
                delay = start + i / rate - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
            user = users[i % len(users)]
            own = texts[str(user)]
            uid = self.message(user, own[(i // len(users)) % len(own)])
            per_chat.setdefault(user, []).append(uid)
            state["injected"] = i + 1
        deadline = time.monotonic() + timeout
        while state["replied"] < count and time.monotonic() < deadline:
            for c in self.calls[scanned:]:
                if c.method == "sendMessage" and c.status == 200:
                    replies.setdefault(int(c.params["chat_id"]), []).append(c.at)
                    state["replied"] += 1
            scanned = len(self.calls)
            await asyncio.sleep(0.01)
        latencies = [at - self.inject_times[uid] for chat, uids in per_chat.items()
                     for uid, at in zip(uids, replies.get(chat, []))]
        last = max((at for v in replies.values() for at in v), default=time.monotonic())
        state.update(done=True, seconds=last - start, latencies=latencies,
                     calls=len(self.calls) - first_call, timed_out=state["replied"] < count)


class ApiError(Exception):
    def __init__(self, status: int, description: str):
        super().__init__(description)
        self.status = status
        self.description = description


async def _main() -> None:
    parser = argparse.ArgumentParser(description="fake Telegram Bot API on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=TOKEN)
    args = parser.parse_args()
    fake = await FakeTelegram(args.token, control=True).start(args.port)
    sys.stdout.write(f"{fake.port}\n")
    sys.stdout.flush()
    try:
        await asyncio.Event().wait()
    finally:
        await fake.stop()


if __name__ == "__main__":
    try:
        asyncio.run(_main())
    except KeyboardInterrupt:
        pass
