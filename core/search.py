"""Search keys for Chinese names: lower-case text, full pinyin and pinyin initials, so that
"华为", "huawei", "hw" and "HuaWei" all find 华为技术."""
from __future__ import annotations

import re
import unicodedata

from pypinyin import Style, lazy_pinyin

_SPACES = re.compile(r"[\s\u3000·\-_.()（）]+")


def normalise(text: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", text or "")).lower()


def pinyin_forms(text: str) -> tuple[str, str]:
    """(full pinyin, initials) of the text; non-Chinese characters pass through."""
    norm = normalise(text)
    syllables = lazy_pinyin(norm, errors="default")
    full = "".join(syllables)
    initials = "".join(s[0] for s in lazy_pinyin(norm, style=Style.FIRST_LETTER) if s)
    return full, initials


def search_key(name: str, aliases: list[str] | None = None) -> str:
    parts: list[str] = []
    for text in [name, *(aliases or [])]:
        norm = normalise(text)
        if not norm:
            continue
        full, initials = pinyin_forms(norm)
        parts.extend([norm, full, initials])
    # '|' separates forms so a match never spans two of them
    return "|" + "|".join(dict.fromkeys(parts)) + "|"


def match_rank(query: str, name: str, aliases: list[str] | None = None) -> int | None:
    """Lower is better; None means no match. Exact name < prefix < substring < alias <
    pinyin < initials."""
    q = normalise(query)
    if not q:
        return None
    n = normalise(name)
    if q == n:
        return 0
    if n.startswith(q):
        return 1
    if q in n:
        return 2
    for alias in aliases or []:
        if q in normalise(alias):
            return 3
    full, initials = pinyin_forms(n)
    if full.startswith(q):
        return 4
    if q in full:
        return 5
    if initials.startswith(q):
        return 6
    if q in initials:
        return 7
    for alias in aliases or []:
        afull, ainit = pinyin_forms(alias)
        if q in afull or q in ainit:
            return 8
    return None
