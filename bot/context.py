"""What a handler gets: the incoming message, the resolved user, the open unit of work, the
clock, the user's language and time zone, and the conversation (if one is open)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import format as fmt
from bot.messages import Incoming, Reply
from bot.texts import DEFAULT_LOCALE, t
from core.models import ConversationState, User

CONVERSATION_TTL = timedelta(minutes=30)


@dataclass
class Context:
    s: Session
    incoming: Incoming
    now: datetime  # naive UTC
    user: User | None = None
    inbox_id: int | None = None
    locale: str = DEFAULT_LOCALE
    conversation: ConversationState | None = None
    # set when the conversation the user was in timed out, so the reply can say so
    expired_conversation: str | None = None
    args: list[str] = field(default_factory=list)  # payload parts after "prefix:action", or the command words
    arg_text: str = ""  # everything after the command word

    # ------------------------------------------------------------ text and formatting
    def t(self, key: str, **params) -> str:
        return t(self.locale, key, **params)

    @property
    def tz(self) -> ZoneInfo:
        return fmt.zone(self.user.timezone if self.user else None)

    @property
    def now_local(self) -> datetime:
        return fmt.to_local(self.now, self.tz)

    def when(self, utc_naive: datetime | None, *, with_time: bool = True) -> str:
        return fmt.fmt_datetime(utc_naive, self.tz, self.locale, now=self.now, with_time=with_time)

    def money(self, amount, currency: str | None = "CNY") -> str:
        return fmt.fmt_money(amount, currency, self.locale)

    def number(self, value) -> str:
        return fmt.fmt_number(value, self.locale)

    def reply(self, key: str, *, buttons=None, edit: bool = False, **params) -> Reply:
        return Reply(text=self.t(key, **params), buttons=buttons or [], edit=edit)

    @property
    def source(self) -> tuple[str, str]:
        """The idempotency key of whatever this message causes."""
        return self.incoming.platform, str(self.incoming.message_id)

    @property
    def is_button(self) -> bool:
        return bool(self.incoming.payload)

    # ------------------------------------------------------------ conversation state
    def _conversation_row(self) -> ConversationState | None:
        if self.user is None:
            return None
        return self.s.scalar(select(ConversationState).where(
            ConversationState.platform == self.incoming.platform,
            ConversationState.chat_id == str(self.incoming.chat_id),
            ConversationState.user_id == self.user.id))

    def load_conversation(self) -> ConversationState | None:
        row = self._conversation_row()
        if row is not None and row.expires_at <= self.now:
            self.expired_conversation = row.name
            self.s.delete(row)
            self.s.flush()
            row = None
        self.conversation = row
        return row

    def start_conversation(self, name: str, step: str, data: dict | None = None) -> ConversationState:
        row = self.conversation or self._conversation_row()
        if row is None:
            row = ConversationState(platform=self.incoming.platform, chat_id=str(self.incoming.chat_id),
                                    user_id=self.user.id)
            self.s.add(row)
        row.name = name
        row.step = step
        row.data = dict(data or {})
        row.updated_at = self.now
        row.expires_at = self.now + CONVERSATION_TTL
        self.s.flush()
        self.conversation = row
        return row

    def save_conversation(self, step: str, data: dict) -> None:
        row = self.conversation
        row.step = step
        row.data = dict(data)  # a new object, so the JSON column sees the change
        row.updated_at = self.now
        row.expires_at = self.now + CONVERSATION_TTL
        self.s.flush()

    def end_conversation(self) -> None:
        row = self.conversation or self._conversation_row()
        if row is not None:
            self.s.delete(row)
            self.s.flush()
        self.conversation = None
