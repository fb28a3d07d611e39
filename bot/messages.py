"""Platform-neutral chat messages. Channel adapters turn platform updates into `Incoming` and
render `Reply`; handlers see nothing else (cf. errbot's backends/base.py)."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MAX_TEXT = 4096  # Telegram's limit; WeCom text is 2048 bytes, its adapter splits further
MAX_PAYLOAD_BYTES = 64  # Telegram callback_data limit


@dataclass
class Attachment:
    kind: str  # photo | file | voice | video
    file_id: str = ""  # the platform's id, to fetch or re-send it
    name: str = ""
    mime_type: str = ""
    size: int | None = None
    local_path: str = ""  # set once downloaded (console: the path typed)


@dataclass
class Incoming:
    platform: str  # telegram | wecom | console
    chat_id: str
    sender_id: str  # the platform's user id
    message_id: str  # unique per platform: dedupe key for the inbox
    text: str = ""
    payload: str = ""  # a pressed button's payload
    thread_id: str = ""  # forum topic / group thread
    is_group: bool = False
    sender_name: str = ""
    attachments: list[Attachment] = field(default_factory=list)
    # The message a pressed button belongs to, so the reply can edit it in place.
    source_message_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Incoming":
        data = dict(data)
        data["attachments"] = [Attachment(**a) for a in data.get("attachments", [])]
        return cls(**data)


@dataclass
class Button:
    label: str
    payload: str  # ≤ 64 bytes, e.g. "node:done:123"

    def __post_init__(self):
        if len(self.payload.encode()) > MAX_PAYLOAD_BYTES:
            raise ValueError(f"button payload over {MAX_PAYLOAD_BYTES} bytes: {self.payload!r}")


@dataclass
class FileOut:
    """A file to send: a path on disk, optionally with the platform's cached id of the same
    file (then no upload is needed). `material_id` lets the channel report the new id back."""

    path: str
    name: str = ""
    caption: str = ""
    cached_ids: dict[str, str] = field(default_factory=dict)
    material_id: int | None = None
    is_image: bool = False

    @property
    def filename(self) -> str:
        return self.name or Path(self.path).name


@dataclass
class Reply:
    text: str = ""
    buttons: list[list[Button]] = field(default_factory=list)
    file: FileOut | None = None
    image: FileOut | None = None  # a picture shown inline (funnel chart, product photo)
    edit: bool = False  # replace the message whose button was pressed
    chat_id: str = ""  # default: the incoming chat; set for messages to someone else
    thread_id: str = ""
