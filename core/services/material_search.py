"""武器云 search that understands Chinese: "试驾的检查表", "报价单", "baojia", "bjd", "price list"
all find what a rep means.

Each material is a small document of fields — title, tags, category, and the titles (and keys)
of the nodes it is linked to — segmented with jieba (search mode: 试乘试驾检查表 → 试乘 / 试乘试驾
/ 检查 / 检查表) plus English words, each token also in full pinyin and initials. The query is
segmented the same way (precise mode), filler words dropped (的, 有没有, 资料, please...). A query
token matches a field exactly, as a prefix, as a substring, or through pinyin; a material's
score adds up each query token's best match weighted by field (title > tags, node > category).
Ranking: the current node's material first, then more query tokens matched, then score.

Same call shape as core.services.materials.search_materials, so callers can switch.
"""
from __future__ import annotations

import logging
import re
import threading
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.models import Material, Node, Playbook, User
from core.search import normalise, pinyin_forms

FIELD_WEIGHTS = {"title": 3.0, "tags": 2.0, "node": 2.0, "category": 1.5, "node_key": 1.0}
EXACT, PREFIX, SUBSTRING, PINYIN, PINYIN_PART, INITIALS = 1.0, 0.8, 0.6, 0.8, 0.5, 0.4
# Words that say "material, please" rather than what it is about.
STOPWORDS = {
    "的", "了", "和", "与", "及", "或", "吗", "呢", "吧", "啊", "呀", "给", "我", "我们", "要", "想", "找", "查", "一下",
    "有没有", "有", "没有", "资料", "材料", "文件", "文档", "发", "发送", "发给", "发个", "发份", "请", "请发", "帮", "帮我",
    "给我", "个", "份", "张",
    "一个", "一份", "一些", "些", "那个", "这个", "关于", "相关", "用", "客户",
    "the", "a", "an", "of", "for", "and", "or", "to", "me", "my", "some", "please", "about", "send", "find",
    "material", "materials", "file", "files", "any",
}
_LATIN = re.compile(r"[a-z0-9]+")
_HAN = re.compile(r"[\u3400-\u9fff]")
_PUNCT = re.compile(r"^[\W_]+$")

_jieba_lock = threading.Lock()
_jieba = None


def _segmenter():
    """jieba, loaded once per process on first use (its dictionary takes ~0.5 s)."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.initialize()
                _jieba = jieba
    return _jieba


def _clean(text: str) -> str:
    """NFKC and lower case, spaces kept (they separate English words)."""
    return unicodedata.normalize("NFKC", text or "").lower().replace("_", " ")


def _stem(word: str) -> str:
    """prices → price, quotes → quote: enough English folding for titles and tags."""
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def query_tokens(query: str) -> list[str]:
    out: list[str] = []
    for piece in _segmenter().lcut(_clean(query)):
        piece = piece.strip()
        if not piece or _PUNCT.match(piece):
            continue
        words = [piece] if _HAN.search(piece) else _LATIN.findall(piece)
        for word in words:
            word = _stem(word)
            if word and word not in STOPWORDS and word not in out:
                out.append(word)
    return out


@dataclass
class _Field:
    weight: float
    text: str  # normalised, no spaces
    tokens: set[str]
    pinyin: dict[str, tuple[str, str]]  # token -> (full, initials), Chinese tokens only
    full: str  # the whole text in pinyin
    initials: str


def _field(text: str, weight: float) -> _Field:
    raw = _clean(text)
    norm = normalise(raw)
    tokens: set[str] = set()
    for piece in _segmenter().lcut_for_search(raw):
        piece = normalise(piece)
        if not piece or _PUNCT.match(piece):
            continue
        if _HAN.search(piece):
            tokens.add(piece)
        tokens.update(_stem(w) for w in _LATIN.findall(piece))
    tokens.update(_stem(w) for w in _LATIN.findall(raw))
    pinyin = {t: pinyin_forms(t) for t in tokens if _HAN.search(t)}
    full, initials = pinyin_forms(norm) if _HAN.search(norm) else ("", "")
    return _Field(weight, norm, tokens, pinyin, full, initials)


def _match(token: str, f: _Field) -> float:
    """How well one query token matches one field (0: not at all)."""
    if token in f.tokens:
        return EXACT
    if len(token) >= 2 and any(t.startswith(token) for t in f.tokens):
        return PREFIX
    latin = not _HAN.search(token)
    if token in f.text and (not latin or len(token) >= 3):
        return SUBSTRING
    if latin and token.isalpha() and f.pinyin:
        if any(token == full for full, _ in f.pinyin.values()):
            return PINYIN
        if len(token) >= 2 and any(full.startswith(token) for full, _ in f.pinyin.values()):
            return PINYIN_PART
        if len(token) >= 3 and token in f.full:
            return PINYIN_PART
        if len(token) >= 2 and (token in f.initials or any(token == ini for _, ini in f.pinyin.values())):
            return INITIALS
    return 0.0


_cache: dict[tuple, list[_Field]] = {}
_CACHE_MAX = 5000


def _document(m: Material, node_titles: dict[str, list[str]]) -> list[_Field]:
    titles = tuple(t for key in (m.node_keys or []) for t in node_titles.get(key, []))
    cache_key = (m.id, m.updated_at, m.title, m.category, tuple(m.tags or []), tuple(m.node_keys or []), titles)
    doc = _cache.get(cache_key)
    if doc is None:
        doc = [_field(m.title, FIELD_WEIGHTS["title"]), _field(" ".join(m.tags or []), FIELD_WEIGHTS["tags"]),
               _field(m.category, FIELD_WEIGHTS["category"]), _field(" ".join(titles), FIELD_WEIGHTS["node"]),
               _field(" ".join(m.node_keys or []), FIELD_WEIGHTS["node_key"])]
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[cache_key] = doc
    return doc


@dataclass(frozen=True)
class Hit:
    material: Material
    matched: int  # query tokens that matched somewhere
    score: float
    at_node: bool  # linked to the current node


def _node_titles(s: Session, org_id: int) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for key, title in s.execute(select(Node.key, Node.title).join(Playbook, Playbook.id == Node.playbook_id)
                                .where(Playbook.org_id == org_id, Playbook.active.is_(True))):
        if title not in out.setdefault(key, []):
            out[key].append(title)
    return out


def search_hits(s: Session, actor: User, query: str = "", *, category: str | None = None,
                node_key: str | None = None, limit: int = 10) -> list[Hit]:
    materials = list(s.scalars(select(Material).where(Material.org_id == actor.org_id, Material.active.is_(True))
                               .order_by(Material.id)))
    if category:
        materials = [m for m in materials if normalise(m.category) == normalise(category)]
    tokens = query_tokens(query)
    if not tokens:
        if query.strip() and not category:
            return []  # only filler words: nothing to look for
        hits = [Hit(m, 0, 0.0, bool(node_key and node_key in (m.node_keys or []))) for m in materials]
        if node_key and not category:
            hits = [h for h in hits if h.at_node]
        return sorted(hits, key=lambda h: (not h.at_node, h.material.id))[:limit]
    node_titles = _node_titles(s, actor.org_id)
    hits = []
    for m in materials:
        doc = _document(m, node_titles)
        matched, score = 0, 0.0
        for token in tokens:
            best = max(_match(token, f) * f.weight for f in doc)
            if best > 0:
                matched += 1
                score += best
        if matched:
            hits.append(Hit(m, matched, score, bool(node_key and node_key in (m.node_keys or []))))
    hits.sort(key=lambda h: (not h.at_node, -h.matched, -h.score, h.material.id))
    return hits[:limit]


def search_materials(s: Session, actor: User, query: str = "", *, category: str | None = None,
                     node_key: str | None = None, limit: int = 10) -> list[Material]:
    """Keyword (Chinese words, pinyin, initials or English), category and/or node; the
    current node's material first."""
    return [h.material for h in search_hits(s, actor, query, category=category, node_key=node_key, limit=limit)]


__all__ = ["Hit", "query_tokens", "search_hits", "search_materials"]
