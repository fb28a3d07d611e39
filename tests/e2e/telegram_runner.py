"""The Telegram bot as its own process, the way `mammoth run` starts it, for crash tests:

    MAMMOTH_DATABASE_URL=... MAMMOTH_TELEGRAM_TOKEN=... MAMMOTH_TELEGRAM_API_URL=... \
        python -m tests.e2e.telegram_runner [--die-after-accept]

--die-after-accept: SIGKILL this process right after the first update is stored in the inbox,
i.e. after it was fetched and before it was acknowledged, processed or answered — the worst
moment for a crash.
"""
from __future__ import annotations

import argparse
import logging
import os
import signal

from core import audit  # noqa: F401
from core.db import Database
from core.settings import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--die-after-accept", action="store_true")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    from bot.channels.telegram import run_telegram
    from bot.router import Router

    if args.die_after_accept:
        accept = Router.accept

        def accept_then_die(self, incoming):
            inbox_id = accept(self, incoming)
            if inbox_id is not None:
                logging.getLogger("runner").warning("stored inbox %s; dying now", inbox_id)
                os.kill(os.getpid(), signal.SIGKILL)
            return inbox_id

        Router.accept = accept_then_die

    settings = Settings()
    db = Database(settings.resolved_database_url())
    print("runner: ready", flush=True)
    run_telegram(db, settings)


if __name__ == "__main__":
    main()
