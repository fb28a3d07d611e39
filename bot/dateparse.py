"""Simple follow-up dates as reps type them: 明天, 后天, 下周三, 3天后, 12月10日, 2026-12-10,
tomorrow, in 3 days, next wed, none — with an optional time (15:00, 下午3点, 3pm).
Everything is relative to the user's own wall clock; the caller converts to UTC."""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime, time, timedelta

from dateutil.relativedelta import relativedelta

DEFAULT_TIME = time(9, 0)
NO_DATE = "none"  # the user said there is no next follow-up

NONE_WORDS = {"无", "不用", "不需要", "没有", "不", "否", "暂无", "不跟进", "none", "no", "n", "-", "skip",
              "nope", "never", "n/a", "na"}
ZH_DIGITS = {"一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}
ZH_WEEKDAY = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
EN_WEEKDAY = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
EN_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "a": 1, "an": 1}

_N = r"(\d{1,3}|[一二两三四五六七八九十]|one|two|three|four|five|six|seven|an?)"
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("iso", re.compile(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})[日号]?")),
    ("md", re.compile(r"(?<!\d)(\d{1,2})(?:月(\d{1,2})[日号]?|[-/](\d{1,2})(?![\d:]))")),
    ("rel_zh", re.compile(_N + r"\s*(天|日|周|星期|个星期|个月|月)(?:以后|之后|后)")),
    ("rel_en", re.compile(r"(?<![a-z])(?:in\s+)?" + _N + r"\s*(days?|weeks?|months?|d|w)\b(?:\s+later)?")),
    ("next_weekday_zh", re.compile(r"下(?:个)?(?:周|星期|礼拜)([一二三四五六日天])")),
    ("weekday_zh", re.compile(r"(本|这|这个)?(?:周|星期|礼拜)([一二三四五六日天])")),
    ("next_weekday_en", re.compile(r"(?:\b(next|this)\s+)?\b(mon|tue|wed|thu|fri|sat|sun)(?:day|s|sday|nesday|rs|rsday|urday)?\b")),
    ("words", re.compile(r"大后天|后天|明天|明日|今天|今日|今晚|下(?:个)?(?:周|星期|礼拜)|下(?:个)?月|"
                         r"day after tomorrow|tomorrow|today|tonight|next week|next month")),
]
_TIME_PATTERNS = [
    re.compile(r"(?<![\d-])(\d{1,2})[:：](\d{2})(?![\d-])"),
    re.compile(r"(上午|早上|中午|下午|晚上|傍晚)?\s*(\d{1,2}|[一二两三四五六七八九十]|十[一二])\s*点\s*(半|(\d{1,2})\s*分?)?"),
    re.compile(r"(?<![\d:])(\d{1,2})\s*(am|pm)\b"),
]


def _clean(text: str) -> str:
    return unicodedata.normalize("NFKC", text or "").strip().lower()


def _number(token: str) -> int:
    if token.isdigit():
        return int(token)
    if token in EN_NUMBERS:
        return EN_NUMBERS[token]
    if token.startswith("十") and len(token) == 2:
        return 10 + ZH_DIGITS[token[1]]
    return ZH_DIGITS[token]


def _upcoming(today: date, weekday: int, *, strictly_after: bool = True) -> date:
    ahead = (weekday - today.weekday()) % 7
    if ahead == 0 and strictly_after:
        ahead = 7
    return today + timedelta(days=ahead)


def _date_part(text: str, today: date) -> tuple[date, bool] | None:
    """(the date, whether the expression implies a time of day, e.g. 今晚)."""
    for kind, pattern in _PATTERNS:
        m = pattern.search(text)
        if not m:
            continue
        try:
            if kind == "iso":
                return date(int(m[1]), int(m[2]), int(m[3])), False
            if kind == "md":
                month, day = int(m[1]), int(m[2] or m[3])
                d = date(today.year, month, day)
                return (d if d >= today else date(today.year + 1, month, day)), False
        except ValueError:
            return None
        if kind in ("rel_zh", "rel_en"):
            n = _number(m[1])
            unit = m[2]
            if unit in ("天", "日") or unit.startswith("d"):
                return today + timedelta(days=n), False
            if unit in ("周", "星期", "个星期") or unit.startswith("w"):
                return today + timedelta(weeks=n), False
            return today + relativedelta(months=n), False
        if kind == "next_weekday_zh":
            monday_next = today - timedelta(days=today.weekday()) + timedelta(days=7)
            return monday_next + timedelta(days=ZH_WEEKDAY[m[1]]), False
        if kind == "weekday_zh":
            if m[1]:  # 本周三 / 这周三: this week's, even if already past
                return today - timedelta(days=today.weekday()) + timedelta(days=ZH_WEEKDAY[m[2]]), False
            return _upcoming(today, ZH_WEEKDAY[m[2]]), False
        if kind == "next_weekday_en":
            weekday = EN_WEEKDAY[m[2]]
            if m[1] == "this":
                return today - timedelta(days=today.weekday()) + timedelta(days=weekday), False
            return _upcoming(today, weekday), False
        word = m[0]
        if word in ("今天", "今日", "today"):
            return today, False
        if word in ("今晚", "tonight"):
            return today, True
        if word in ("明天", "明日", "tomorrow"):
            return today + timedelta(days=1), False
        if word in ("后天", "day after tomorrow"):
            return today + timedelta(days=2), False
        if word == "大后天":
            return today + timedelta(days=3), False
        if "月" in word or "month" in word:
            return today + relativedelta(months=1), False
        return today + timedelta(days=7), False  # 下周 / next week
    return None


def _time_part(text: str) -> time | None:
    for i, pattern in enumerate(_TIME_PATTERNS):
        m = pattern.search(text)
        if not m:
            continue
        if i == 0:
            hour, minute = int(m[1]), int(m[2])
        elif i == 1:
            hour = _number(m[2])
            minute = 30 if m[3] == "半" else int(m[4] or 0)
            if m[1] in ("下午", "晚上", "傍晚") and hour < 12:
                hour += 12
            elif m[1] == "中午" and hour < 6:
                hour += 12
        else:
            hour, minute = int(m[1]) % 12, 0
            if m[2] == "pm":
                hour += 12
        if 0 <= hour < 24 and 0 <= minute < 60:
            return time(hour, minute)
    return None


def parse_when(text: str, now_local: datetime) -> datetime | str | None:
    """A local datetime, NO_DATE when the user declines a follow-up, None when not understood."""
    cleaned = _clean(text)
    if not cleaned:
        return None
    if cleaned.rstrip("。.!！") in NONE_WORDS:
        return NO_DATE
    today = now_local.date()
    found = _date_part(cleaned, today)
    clock = _time_part(cleaned)
    if found is None:
        if clock is None:
            return None
        found = (today, False)
    day, evening = found
    if clock is None:
        clock = time(20, 0) if evening else DEFAULT_TIME
        if day == today:
            # "today" without a time: later today, never in the past
            later = (now_local + timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
            candidate = datetime.combine(day, clock, tzinfo=now_local.tzinfo)
            return candidate if candidate > now_local else later
    return datetime.combine(day, clock, tzinfo=now_local.tzinfo)


def find_when(text: str, now_local: datetime) -> datetime | None:
    """A follow-up date mentioned inside a longer note ("…下周三再跟进"), or None."""
    result = parse_when(text, now_local)
    return result if isinstance(result, datetime) else None
