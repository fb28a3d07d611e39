"""Formatting for the reader: dates in the user's time zone, money with its currency, numbers
for the locale, and long text split so that no chat message exceeds the platform limit."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.messages import MAX_TEXT

WEEKDAYS = {
    "zh": ("周一", "周二", "周三", "周四", "周五", "周六", "周日"),
    "en": ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
}
MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
SYMBOLS = {"CNY": "¥", "USD": "US$", "EUR": "€", "HKD": "HK$", "JPY": "JP¥", "GBP": "£"}


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Asia/Shanghai")


def to_local(utc_naive: datetime, tz: ZoneInfo) -> datetime:
    """The database stores naive UTC; the reader sees their own wall clock."""
    if utc_naive.tzinfo is None:
        utc_naive = utc_naive.replace(tzinfo=timezone.utc)
    return utc_naive.astimezone(tz)


def to_utc(local: datetime, tz: ZoneInfo | None = None) -> datetime:
    """A wall-clock time (aware, or naive in `tz`) as naive UTC for storage."""
    if local.tzinfo is None:
        local = local.replace(tzinfo=tz or timezone.utc)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def fmt_date(d: date, locale: str, *, today: date | None = None, weekday: bool = True) -> str:
    wd = WEEKDAYS.get(locale, WEEKDAYS["zh"])[d.weekday()]
    same_year = today is None or today.year == d.year
    if locale == "en":
        text = f"{d.day} {MONTHS_EN[d.month - 1]}" + ("" if same_year else f" {d.year}")
        return f"{wd} {text}" if weekday else text
    text = ("" if same_year else f"{d.year}年") + f"{d.month}月{d.day}日"
    return f"{text}({wd})" if weekday else text


def fmt_datetime(utc_naive: datetime | None, tz: ZoneInfo, locale: str, *, now: datetime | None = None,
                 with_time: bool = True) -> str:
    """'今天 15:00', '明天 09:00', '12月10日(周三) 09:00' / 'today 15:00', 'Wed 10 Dec 09:00'."""
    if utc_naive is None:
        return "—"
    local = to_local(utc_naive, tz)
    today = to_local(now, tz).date() if now is not None else None
    clock = f" {local:%H:%M}" if with_time else ""
    if today is not None:
        delta = (local.date() - today).days
        words = {"zh": {0: "今天", 1: "明天", -1: "昨天"}, "en": {0: "today", 1: "tomorrow", -1: "yesterday"}}
        word = words.get(locale, words["zh"]).get(delta)
        if word:
            return word + clock
    return fmt_date(local.date(), locale, today=today) + clock


def fmt_number(value, locale: str = "zh", *, places: int | None = None) -> str:
    """Grouped digits; trailing zeros of a quantity dropped (500.000 → 500)."""
    if value is None:
        return "—"
    number = Decimal(str(value))
    if places is None:
        places = max(0, -number.normalize().as_tuple().exponent)
    return f"{number:,.{places}f}"


def fmt_money(amount, currency: str | None, locale: str) -> str:
    if amount is None:
        return "—"
    currency = (currency or "CNY").upper()
    digits = fmt_number(amount, locale, places=0 if currency == "JPY" else 2)
    if locale == "en":
        return f"{currency} {digits}"
    return f"{SYMBOLS.get(currency, currency + ' ')}{digits}"


def fmt_percent(fraction: float | None, *, signed: bool = False) -> str:
    if fraction is None:
        return "—"
    pct = round(fraction * 100)
    return f"{pct:+d}%" if signed else f"{pct}%"


def truncate(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: max(1, limit - 1)] + "…"


def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Chunks of at most `limit` characters, cut at line breaks where possible."""
    if len(text) <= limit:
        return [text]
    chunks: list[str] = []
    current = ""
    for line in text.split("\n"):
        while len(line) > limit:  # a single line longer than a message
            if current:
                chunks.append(current)
                current = ""
            chunks.append(line[:limit])
            line = line[limit:]
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current:
        chunks.append(current)
    return chunks


def days_between(earlier: datetime, later: datetime) -> int:
    return (later - earlier) // timedelta(days=1)
