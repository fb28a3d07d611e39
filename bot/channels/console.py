"""The console channel: a chat in the terminal. Buttons are numbered choices ([1] [2] …) and
typing the number presses one (only the buttons of the latest answer are live); files are shown
as paths. `file: PATH [caption]` / `photo: PATH` sends an attachment, a leading backslash sends
the rest literally (\\3 is the text "3"). Reading from a pipe, it handles one message per line
and prints the replies, so a conversation can be scripted.

Like every channel it only converts: lines → Incoming, Reply → text. It never touches the
database; the router does."""
from __future__ import annotations

import sys
import uuid
from itertools import count
from pathlib import Path
from typing import Iterable, TextIO

from bot.messages import Attachment, Incoming, Reply
from bot.texts import t

PLATFORM = "console"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".gif", ".webp"}


class ConsoleChannel:
    def __init__(self, router, login: str, *, locale: str = "zh", out: TextIO | None = None,
                 sender_name: str = ""):
        self.router = router
        self.login = login
        self.locale = locale
        self.out = out or sys.stdout
        self.sender_name = sender_name or login
        self.buttons: dict[str, str] = {}
        # unique across runs: the inbox dedupes on (platform, message id)
        self._session = uuid.uuid4().hex[:12]
        self._counter = count(1)

    # ------------------------------------------------------------ lines → Incoming
    def _attachment(self, kind: str, rest: str) -> tuple[Attachment, str]:
        path_text, _, caption = rest.strip().partition(" ")
        path = Path(path_text).expanduser()
        if kind == "file" and path.suffix.lower() in IMAGE_SUFFIXES:
            kind = "photo"
        size = path.stat().st_size if path.is_file() else None
        return Attachment(kind=kind, name=path.name, local_path=str(path.resolve()), size=size), caption.strip()

    def incoming_for(self, line: str) -> Incoming | None:
        text = line.rstrip("\r\n").strip()
        if not text:
            return None
        base = dict(platform=PLATFORM, chat_id=self.login, sender_id=self.login, sender_name=self.sender_name,
                    message_id=f"{self._session}-{next(self._counter)}")
        if text in self.buttons:
            return Incoming(**base, payload=self.buttons[text])
        if text.startswith("\\"):
            return Incoming(**base, text=text[1:])
        head, sep, rest = text.partition(":")
        if sep and head.strip().lower() in ("file", "photo", "文件", "图片") and rest.strip():
            kind = "photo" if head.strip().lower() in ("photo", "图片") else "file"
            attachment, caption = self._attachment(kind, rest)
            return Incoming(**base, text=caption, attachments=[attachment])
        return Incoming(**base, text=text)

    # ------------------------------------------------------------ Reply → text
    def render(self, replies: list[Reply]) -> str:
        numbered: dict[str, str] = {}
        blocks = []
        for reply in replies:
            if reply.chat_id and reply.chat_id != self.login:
                continue  # meant for someone else's chat
            lines = []
            if reply.text:
                marker = "↻ " if reply.edit else ""
                lines.append(marker + reply.text)
            for item, icon in ((reply.image, "🖼"), (reply.file, "📎")):
                if item is not None:
                    lines.append(f"{icon} {item.path}")
            for row in reply.buttons:
                cells = []
                for button in row:
                    number = str(len(numbered) + 1)
                    numbered[number] = button.payload
                    cells.append(f"[{number}] {button.label}")
                lines.append("   " + "   ".join(cells))
            blocks.append("\n".join(lines))
        # only the latest answer's buttons are live, so a typed number is never a stale press
        self.buttons = numbered
        return "\n".join(b for b in blocks if b)

    def send(self, line: str) -> str | None:
        incoming = self.incoming_for(line)
        if incoming is None:
            return None
        return self.render(self.router.handle(incoming))

    def recover(self) -> None:
        """Messages received but never answered (the process died mid-way) are handled now."""
        for inbox_id in self.router.pending(PLATFORM):
            text = self.render(self.router.process(inbox_id))
            if text:
                self._print(t(self.locale, "console.recovered") + "\n" + text)

    def _print(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    # ------------------------------------------------------------ the loops
    def run_script(self, lines: Iterable[str]) -> None:
        for line in lines:
            if not line.strip():
                continue
            self._print(f"» {line.strip()}")
            text = self.send(line)
            if text:
                self._print(text)
            self._print("")

    def run_interactive(self, name: str) -> None:
        try:
            import readline  # noqa: F401  (line editing and history for input())
        except ImportError:
            pass
        self._print(t(self.locale, "console.banner", name=name, login=self.login))
        prompt = t(self.locale, "console.prompt", login=self.login)
        while True:
            try:
                line = input(prompt)
            except (EOFError, KeyboardInterrupt):
                self._print("\n" + t(self.locale, "console.bye"))
                return
            if line.strip() in ("/quit", "/exit"):
                self._print(t(self.locale, "console.bye"))
                return
            text = self.send(line)
            if text:
                self._print(text)
