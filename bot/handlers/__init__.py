"""Handlers, one module per feature. Each turns an incoming message into one service call and
a list of replies. They register here by command name or by button payload ("prefix:action").

Button payloads (all ≤ 64 bytes; ids are database ids):
  lang:set:zh|en            help:show              x:cancel             undo:last
  c:view:CID                c:tl:CID:PAGE          c:tlp:CID:PAGE (edit in place)
  log:start[:CID]           log:txt:INBOX_ID       node:show|done|skip|fail:CID
  m:cat:CATEGORY            m:node:CID             m:send:MID[:CID]
  o:list:CID                o:new:CID              o:sub:MASTER_ID
  f:done:FID:PAGE           f:snz:FID:DAYS:PAGE    f:page:PAGE
  n:done:FID                n:snz:FID:DAYS         n:date:FID           n:mute:CID   n:unmute:CID
  funnel:stuck:r|t|o:REF:PLAYBOOK_ID:NODE_POSITION
Payloads of an open dialog (bot/conversations): log:type|cust|fu|save|edit|chg:…, new:skip,
node:note:-."""
from __future__ import annotations

import importlib
from typing import Callable

from bot.context import Context
from bot.messages import Reply

Handler = Callable[[Context], list[Reply]]

COMMANDS: dict[str, Handler] = {}
BUTTONS: dict[str, Handler] = {}
# Commands a user may send before their chat account is bound.
OPEN_COMMANDS = {"start", "help", "lang"}

MODULES = ("binding", "customers", "activities", "nodes", "materials", "orders", "followups", "team",
           "undo", "export", "nudges", "intent", "funnel", "freetext")


def command(*names: str):
    def register(fn: Handler) -> Handler:
        for name in names:
            COMMANDS[name] = fn
        return fn
    return register


def button(*keys: str):
    """Payload "prefix:action[:args...]"; the handler finds the args in ctx.args."""
    def register(fn: Handler) -> Handler:
        for key in keys:
            BUTTONS[key] = fn
        return fn
    return register


def load_all() -> None:
    for name in MODULES:
        importlib.import_module(f"bot.handlers.{name}")
