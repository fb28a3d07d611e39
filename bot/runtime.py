"""Opening the database the way every entry point does: settings → URL → migrated schema."""
from __future__ import annotations

from core import audit  # noqa: F401  (installs the audit hook on every session)
from core.db import Database
from core.migrate import upgrade
from core.settings import get_settings


def open_database(url: str | None = None, *, migrate: bool = True) -> Database:
    url = url or get_settings().resolved_database_url()
    if migrate:
        upgrade(url)
    return Database(url)
