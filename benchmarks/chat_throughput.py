"""Chat throughput: the full Mammoth stack behind Telegram versus a bare python-telegram-bot echo
bot, both polling the same fake Bot API server (tests/e2e/fake_telegram.py, a separate process on
127.0.0.1 — no other traffic).

    .venv/bin/python benchmarks/chat_throughput.py [--updates 5000] [--users 50] [--customers 300]

Mammoth: real PTB `Bot` + bot.channels.telegram (inbox first, then process, then send) +
bot.router + handlers + services on SQLite with the demo data; 50 Telegram users bound with
/start through the bot, each owning a share of the demo customers. Every user sends, in turn,
"/c <own customer>", "/find <2 chars of it>", "/today", "<own customer name>" (free text →
search) and "/help": one reply each. The echo bot is PTB's Application + MessageHandler that
answers every text with the same text, with PTB's defaults.

Two phases per bot, in the same run:
  flood    all N updates injected at once; updates/s = N / (first injection → last reply)
  paced    --paced-updates injected at a steady --rate per second (spread over the users);
           latency = injection into the fake server → the reply's sendMessage arriving there.
           The default 30/s is Telegram's overall send limit: a real bot cannot answer faster.
Outgoing pacing is off for Mammoth here (the echo bot has none; on real Telegram the 30/s
send limit, not the bot, would bound both). 429 handling stays on but the fake sends none.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("PTB_TIMEDELTA", "true")

from tests.e2e.fake_telegram import TOKEN  # noqa: E402

FIRST_USER = 500_001


# ---------------------------------------------------------------- the fake server process
class FakeServer:
    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "tests.e2e.fake_telegram"], cwd=ROOT,
                                     stdout=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONPATH": str(ROOT)})
        self.port = int(self.proc.stdout.readline())
        self.api_url = f"http://127.0.0.1:{self.port}"

    def control(self, action: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.api_url}/_fake/{action}", data=data, method="POST" if data else "GET",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as resp:
            return json.loads(resp.read())

    async def load(self, users: list[int], texts: dict[int, list[str]], count: int, rate: float,
                   timeout: float = 600.0) -> dict:
        self.control("reset", {})
        self.control("load", {"users": users, "texts": {str(k): v for k, v in texts.items()}, "count": count,
                              "rate": rate, "timeout": timeout})
        deadline = time.monotonic() + timeout + 10
        while True:
            await asyncio.sleep(0.2)
            state = await asyncio.to_thread(self.control, "stats")
            if state.get("done"):
                return state
            if time.monotonic() > deadline:
                raise TimeoutError(f"load did not finish: {state}")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


# ---------------------------------------------------------------- the two bots
class MammothBot:
    name = "mammoth (full stack)"

    def __init__(self, api_url: str, db):
        from bot.channels.pacing import Pacing
        from bot.channels.telegram import TelegramChannel, make_bot
        from bot.router import Router

        self.channel = TelegramChannel(make_bot(TOKEN, api_url), Router(db), pacing=Pacing.unlimited(),
                                       poll_timeout=5)
        self.stop_event = asyncio.Event()
        self.task: asyncio.Task | None = None

    async def start(self) -> None:
        await self.channel.start()
        self.task = asyncio.create_task(self.channel.poll(self.stop_event))

    async def stop(self) -> None:
        self.stop_event.set()
        await asyncio.wait_for(self.task, 30)
        await self.channel.stop()


class EchoBot:
    name = "bare PTB echo bot"

    def __init__(self, api_url: str):
        from telegram.ext import ApplicationBuilder, MessageHandler, filters

        async def echo(update, context):
            await update.message.reply_text(update.message.text)

        self.app = (ApplicationBuilder().token(TOKEN).base_url(f"{api_url}/bot")
                    .base_file_url(f"{api_url}/file/bot").build())
        self.app.add_handler(MessageHandler(filters.TEXT, echo))

    async def start(self) -> None:
        await self.app.initialize()
        await self.app.updater.start_polling(poll_interval=0.0, timeout=5)
        await self.app.start()

    async def stop(self) -> None:
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()


# ---------------------------------------------------------------- the full stack's data
def build_database(folder: Path, customers: int):
    from bot.runtime import open_database
    from core.demo import create_demo
    from core.settings import get_settings

    db = open_database(f"sqlite:///{folder / 'mammoth.db'}")
    with db.session() as s:
        create_demo(s, customers=customers, seed=7, materials_dir=get_settings().materials_dir)
    return db


def invite_codes(db, n: int) -> list[str]:
    """The demo's 9 people first, then new reps: one invite per Telegram user."""
    from sqlalchemy import select

    from core.models import Team, User
    from core.services.users import create_invite

    with db.session() as s:
        people = list(s.scalars(select(User).order_by(User.id)))
        teams = list(s.scalars(select(Team).order_by(Team.id)))
        codes = []
        for i in range(n):
            if i < len(people):
                codes.append(create_invite(s, None, people[i].org_id, user=people[i]).code)
            else:
                codes.append(create_invite(s, None, people[0].org_id, role="rep",
                                           team=teams[i % len(teams)].name).code)
        return codes


def share_customers(db, users: list[int]) -> dict[int, list[str]]:
    """Give every bound user a share of the customers; return each user's message script."""
    from sqlalchemy import select

    from core.models import ChatIdentity, Customer

    with db.session() as s:
        ids = {int(ci.external_id): ci.user_id for ci in s.scalars(select(ChatIdentity))}
        assert set(users) <= set(ids), f"bound: {len(ids)} of {len(users)}"
        customers = list(s.scalars(select(Customer).order_by(Customer.id)))
        scripts: dict[int, list[str]] = {}
        for i, c in enumerate(customers):
            tg_user = users[i % len(users)]
            c.owner_id = ids[tg_user]
            if tg_user not in scripts:
                scripts[tg_user] = [f"/c {c.name}", f"/find {c.name[:2]}", "/today", c.name, "/help"]
        return scripts


# ---------------------------------------------------------------- running
def summary(state: dict) -> dict:
    lat = sorted(state["latencies"])
    q = statistics.quantiles(lat, n=100, method="inclusive") if len(lat) >= 2 else lat * 99
    return {"updates": state["count"], "replies": state["replied"], "seconds": state["seconds"],
            "rate": state["count"] / state["seconds"], "p50_ms": q[49] * 1000, "p99_ms": q[98] * 1000,
            "timed_out": state.get("timed_out", False)}


async def measure(bot, fake: FakeServer, users, scripts, args) -> dict:
    await bot.start()
    try:
        warm = await fake.load(users, scripts, len(users) * 2, 0)  # first searches load dictionaries
        assert not warm.get("timed_out"), "warm-up did not finish"
        flood = summary(await fake.load(users, scripts, args.updates, 0))
        paced = {rate: summary(await fake.load(users, scripts, args.paced_updates, rate)) for rate in args.rates}
    finally:
        await bot.stop()
    return {"flood": flood, "paced": paced}


async def main_async(args) -> None:
    fake = FakeServer()
    tmp = tempfile.TemporaryDirectory(prefix="mammoth-bench-")
    try:
        users = [FIRST_USER + i for i in range(args.users)]
        t0 = time.perf_counter()
        db = build_database(Path(tmp.name), args.customers)
        codes = invite_codes(db, args.users)
        print(f"demo database: {args.customers} customers in {time.perf_counter() - t0:.1f}s; "
              f"binding {args.users} Telegram users with /start through the bot", flush=True)

        mammoth = MammothBot(fake.api_url, db)
        await mammoth.start()
        try:
            bind = await fake.load(users, {u: [f"/start {code}"] for u, code in zip(users, codes)}, len(users), 0)
            # /start answers with two messages (welcome + help): wait for the second half too
            await asyncio.sleep(0.5)
        finally:
            await mammoth.stop()
        scripts = share_customers(db, users)
        assert len(scripts) == len(users), "not every user got bound"

        results = {}
        for make in (lambda: MammothBot(fake.api_url, db), lambda: EchoBot(fake.api_url)):
            bot = make()
            print(f"running {bot.name}: {args.updates} updates flood, then {args.paced_updates} at "
                  f"{' and '.join(f'{r:g}/s' for r in args.rates)} ...", flush=True)
            results[bot.name] = await measure(bot, fake, users, scripts, args)
        router_costs = router_cost(db, scripts)
        db.dispose()
    finally:
        fake.close()
        tmp.cleanup()

    full, echo = results[MammothBot.name], results[EchoBot.name]
    print()
    print(f"{'':22} {'flood updates/s':>16} {'flood seconds':>14}"
          + "".join(f" {f'p50/p99 ms @{r:g}/s':>20}" for r in args.rates))
    for name, r in results.items():
        print(f"{name:22} {r['flood']['rate']:16.0f} {r['flood']['seconds']:14.2f}"
              + "".join(f" {r['paced'][rate]['p50_ms']:9.1f}/{r['paced'][rate]['p99_ms']:<10.1f}"
                        for rate in args.rates))
    ratio = full["flood"]["rate"] / echo["flood"]["rate"]
    print()
    print(f"flood: {args.updates} text updates from {args.users} users injected at once; paced: "
          f"{args.paced_updates} updates at a steady rate; latency = injection → sendMessage at the fake")
    print(f"throughput ratio mammoth/echo: {ratio:.2f}  (aim >= 0.5)")
    for rate in args.rates:
        p = full["paced"][rate]
        print(f"mammoth reply latency at {rate:g} updates/s: p50 {p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms"
              f"  (aim p99 <= 150 ms)")
    print("router alone (no Telegram, same database), ms per update: "
          + ", ".join(f"{k} {v:.1f}" for k, v in router_costs.items()))
    if any(r["flood"]["timed_out"] or any(p["timed_out"] for p in r["paced"].values()) for r in results.values()):
        print("WARNING: some replies never arrived (timed out)")


def router_cost(db, scripts: dict[int, list[str]], rounds: int = 10) -> dict[str, float]:
    """What the handlers cost without any Telegram in front: Router.handle per message kind."""
    from bot.messages import Incoming
    from bot.router import Router

    router = Router(db)
    user, script = next(iter(scripts.items()))
    kinds = ["/c", "/find", "/today", "text", "/help"]
    costs = {}
    for kind, text in zip(kinds, script):
        start = time.perf_counter()
        for i in range(rounds):
            router.handle(Incoming("telegram", str(user), str(user), f"cost-{kind}-{i}", text=text))
        costs[kind] = (time.perf_counter() - start) / rounds * 1000
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--updates", type=int, default=5000, help="updates in the flood phase")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--customers", type=int, default=300, help="demo customers")
    parser.add_argument("--paced-updates", type=int, default=900, help="updates in each paced phase")
    parser.add_argument("--rate", type=float, action="append", dest="rates",
                        help="updates/s of a paced phase (repeatable; default 30, Telegram's overall send cap)")
    args = parser.parse_args()
    args.rates = args.rates or [30.0]
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(main_async(args))


if __name__ == "__main__":
    main()
