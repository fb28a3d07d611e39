"""Texts (same keys and placeholders in zh and en, every key the code uses exists), locale
formatting, message splitting and the follow-up date parser."""
from __future__ import annotations

import re
import string
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.conversations import CONVERSATIONS
from bot.dateparse import NO_DATE, find_when, parse_when
from bot.format import fmt_datetime, fmt_money, fmt_number, split_text, to_utc
from bot.texts import describe_error, en, t, zh
from core.errors import AccessDenied, Ambiguous, Duplicate, ExceedsRemaining, Invalid, NothingToUndo, NotFound
from core.models import ACTIVITY_TYPES, CUSTOMER_STATUSES, MATERIAL_KINDS
from core.models.activities import FOLLOW_UP_STATUSES
from core.models.orders import MASTER_STATUSES, SUB_STATUSES

BOT = Path(__file__).resolve().parents[2] / "bot"
CJK = re.compile(r"[\u4e00-\u9fff]")
BILINGUAL_ON_PURPOSE = {"bind.instructions", "lang.choose"}  # shown before the language is known


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_zh_and_en_have_the_same_keys_and_placeholders():
    assert set(zh.TEXTS) == set(en.TEXTS)
    for key in zh.TEXTS:
        assert _fields(zh.TEXTS[key]) == _fields(en.TEXTS[key]), key


def test_english_text_is_english():
    for key, value in en.TEXTS.items():
        if key not in BILINGUAL_ON_PURPOSE:
            assert not CJK.search(value), key


def test_every_static_key_in_the_code_exists():
    pattern = re.compile(r"""(?:ctx\.t|ctx\.reply|\bt\((?:ctx\.locale|self\.locale|locale|DEFAULT_LOCALE|settings\.default_locale),)\(?\s*"([a-z_.]+)\"""")
    used = set()
    for path in BOT.rglob("*.py"):
        used |= set(pattern.findall(path.read_text(encoding="utf-8")))
    assert len(used) > 100
    missing = sorted(k for k in used if k not in zh.TEXTS)
    assert not missing


def test_every_dynamic_key_family_is_complete():
    # what a user's own action can create or change (and /undo then names)
    audited_tables = ("customers", "contacts", "activities", "follow_ups", "master_orders", "sub_orders",
                      "node_events", "customer_progress", "material_uses", "users", "customer_shares", "other")
    families = {
        "type": ACTIVITY_TYPES, "status": CUSTOMER_STATUSES, "m.kind": MATERIAL_KINDS,
        "follow_up.status": FOLLOW_UP_STATUSES, "order.status": MASTER_STATUSES, "order.sub_status": SUB_STATUSES,
        "conv.name": tuple(CONVERSATIONS), "node.ask_note": ("done", "skipped", "failed"),
        "node.finished": ("done", "skipped", "failed"), "export.done": ("csv", "json"),
        "undo.entity": tuple(audited_tables),
    }
    for prefix, names in families.items():
        for name in names:
            assert f"{prefix}.{name}" in zh.TEXTS, f"{prefix}.{name}"


@pytest.mark.parametrize("locale", ["zh", "en"])
@pytest.mark.parametrize("exc", [
    NotFound("x", entity="customer", ref="华为"), AccessDenied("x", entity="customer", ref=3),
    AccessDenied("x", entity="team"), Invalid("x", field="quantity", value="-1"),
    Invalid("x", field="invite", reason="expired"), Duplicate("x", entity="customer", ref="华为"),
    ExceedsRemaining("x", product="终端", remaining="5", total="10", requested="6"),
    NothingToUndo("x", minutes=10), Ambiguous("x", entity="customer", ref="华", candidates=[]),
    Invalid("x", field="format", value="xml"), Invalid("x", field="currency", value="BTC"),
])
def test_domain_errors_have_specific_text(exc, locale):
    text = describe_error(exc, locale)
    assert text != t(locale, "error.generic", detail=str(exc))
    assert "{" not in text


def test_apology_carries_the_error_id():
    assert "abcd1234" in t("zh", "error.unexpected", id="abcd1234")
    assert "abcd1234" in t("en", "error.unexpected", id="abcd1234")


# ---------------------------------------------------------------- formatting
def test_money_and_numbers_per_locale():
    assert fmt_money(Decimal("600250.5"), "CNY", "zh") == "¥600,250.50"
    assert fmt_money(Decimal("600250.5"), "CNY", "en") == "CNY 600,250.50"
    assert fmt_money(Decimal("99"), "USD", "zh") == "US$99.00"
    assert fmt_money(Decimal("1000"), "JPY", "en") == "JPY 1,000"
    assert fmt_number(Decimal("500.000")) == "500"
    assert fmt_number(Decimal("1234.500")) == "1,234.5"


def test_dates_in_the_users_time_zone():
    now = datetime(2026, 3, 5, 20, 0)  # UTC; Shanghai is already the 6th, 04:00
    shanghai, london = ZoneInfo("Asia/Shanghai"), ZoneInfo("Europe/London")
    assert fmt_datetime(datetime(2026, 3, 6, 1, 0), shanghai, "zh", now=now) == "今天 09:00"
    assert fmt_datetime(datetime(2026, 3, 6, 1, 0), london, "en", now=now) == "tomorrow 01:00"
    assert fmt_datetime(datetime(2026, 3, 10, 1, 0), shanghai, "zh", now=now) == "3月10日(周二) 09:00"
    assert fmt_datetime(datetime(2026, 3, 10, 1, 0), shanghai, "en", now=now) == "Tue 10 Mar 09:00"
    assert fmt_datetime(datetime(2027, 1, 2, 1, 0), shanghai, "zh", now=now) == "2027年1月2日(周六) 09:00"


def test_split_text_respects_the_limit_and_keeps_everything():
    text = "\n".join(f"line {i} " + "x" * 90 for i in range(200))
    parts = split_text(text, 4096)
    assert len(parts) > 1 and all(len(p) <= 4096 for p in parts)
    assert "\n".join(parts) == text
    one_long_line = "字" * 10000
    parts = split_text(one_long_line, 4096)
    assert all(len(p) <= 4096 for p in parts) and "".join(parts) == one_long_line


# ---------------------------------------------------------------- dates people type
NOW = datetime(2026, 3, 5, 14, 30, tzinfo=ZoneInfo("Asia/Shanghai"))  # a Thursday


@pytest.mark.parametrize("text,expected", [
    ("明天", "2026-03-06 09:00"), ("后天", "2026-03-07 09:00"), ("大后天", "2026-03-08 09:00"),
    ("下周三", "2026-03-11 09:00"), ("周三", "2026-03-11 09:00"), ("3天后", "2026-03-08 09:00"),
    ("两周后", "2026-03-19 09:00"), ("2026-12-10", "2026-12-10 09:00"), ("12月10日", "2026-12-10 09:00"),
    ("1月3号", "2027-01-03 09:00"), ("明天下午3点", "2026-03-06 15:00"), ("下周一 10:30", "2026-03-09 10:30"),
    ("tomorrow", "2026-03-06 09:00"), ("in 3 days", "2026-03-08 09:00"), ("next wed", "2026-03-11 09:00"),
    ("friday 3pm", "2026-03-06 15:00"), ("next week", "2026-03-12 09:00"), ("2026/12/10", "2026-12-10 09:00"),
    ("今天", "2026-03-05 15:00"),  # later today, never in the past
])
def test_parse_when(text, expected):
    assert parse_when(text, NOW).strftime("%Y-%m-%d %H:%M") == expected


@pytest.mark.parametrize("text", ["不用", "无", "none", "no", "-", "不需要。"])
def test_parse_when_none(text):
    assert parse_when(text, NOW) == NO_DATE


@pytest.mark.parametrize("text", ["随便", "whenever", "data was ok", "monthly report", ""])
def test_parse_when_not_understood(text):
    assert parse_when(text, NOW) is None


def test_find_when_in_a_note_and_utc_conversion():
    when = find_when("今天拜访了华为张总,聊了报价,下周三再跟进", NOW)
    assert when.strftime("%Y-%m-%d %H:%M") == "2026-03-11 09:00"
    assert to_utc(when) == datetime(2026, 3, 11, 1, 0)
    assert to_utc(datetime(2026, 3, 11, 1, 0, tzinfo=timezone.utc)) == datetime(2026, 3, 11, 1, 0)
