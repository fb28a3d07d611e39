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


MAX_TERM = 24
MAX_STARTS = 12


# How good a match on a term of each form is; lower is better.
NAME_START, NAME_MID, ALIAS_START, ALIAS_MID, PINYIN_START, PINYIN_MID, INITIALS_START, INITIALS_MID = WEIGHTS = range(8)


def search_terms(name: str, aliases: list[str] | None = None) -> dict[str, int]:
    """Suffixes of every searchable form with their weight, so that a substring query becomes
    an indexed prefix range scan (term >= q AND term < q + U+10FFFF) and ranking needs no
    pinyin at query time. Forms: the normalised text (a suffix at every character), full pinyin
    (at every syllable) and pinyin initials (at every letter). A query starting in the middle
    of a syllable ("uawei") is the only thing this does not find."""
    terms: dict[str, int] = {}

    def add(term: str, weight: int) -> None:
        if term and weight < terms.get(term, 99):
            terms[term] = weight

    for index, text in enumerate([name, *(aliases or [])]):
        norm = normalise(text)
        if not norm:
            continue
        syllables = lazy_pinyin(norm)
        initials = "".join(s[0] for s in lazy_pinyin(norm, style=Style.FIRST_LETTER) if s)
        start, mid = (NAME_START, NAME_MID) if index == 0 else (ALIAS_START, ALIAS_MID)
        for i in range(min(len(norm), MAX_STARTS)):
            add(norm[i:i + MAX_TERM], start if i == 0 else mid)
        for i in range(min(len(syllables), MAX_STARTS)):
            add("".join(syllables[i:])[:MAX_TERM], PINYIN_START if i == 0 else PINYIN_MID)
        for i in range(min(len(initials), MAX_STARTS)):
            add(initials[i:i + MAX_TERM], INITIALS_START if i == 0 else INITIALS_MID)
    return terms


def prefix_upper_bound(prefix: str) -> str:
    return prefix + "\U0010ffff"
