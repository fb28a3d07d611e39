"""Multi-step dialogs as small state machines. The state (name, step, data as JSON) lives in
the conversations table, so a restart, or another worker, continues where the user left off.
A conversation's buttons carry its payload prefix; typed text goes to the open conversation."""
from __future__ import annotations

import importlib
from dataclasses import dataclass

from bot.handlers import Handler


@dataclass
class Conversation:
    name: str
    prefix: str  # payloads "prefix:..." that are not global buttons belong to this dialog
    resume: Handler


CONVERSATIONS: dict[str, Conversation] = {}
MODULES = ("log_activity", "new_customer", "node_outcome", "orders", "snooze_date")


def conversation(name: str, prefix: str):
    def register(fn: Handler) -> Handler:
        CONVERSATIONS[name] = Conversation(name, prefix, fn)
        return fn
    return register


def load_all() -> None:
    for module in MODULES:
        importlib.import_module(f"bot.conversations.{module}")
