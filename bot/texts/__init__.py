"""All user-facing text, one module per language (zh default, en). `t(locale, key, **params)`."""
from __future__ import annotations

import re
from decimal import Decimal

from bot.texts import en, zh

LANGUAGES = {"zh": zh.TEXTS, "en": en.TEXTS}
DEFAULT_LOCALE = "zh"


def t(locale: str | None, key: str, **params) -> str:
    table = LANGUAGES.get(locale or DEFAULT_LOCALE, zh.TEXTS)
    template = table.get(key) or zh.TEXTS.get(key) or key
    try:
        return template.format(**params)
    except (KeyError, IndexError, ValueError):
        return template


_DECIMAL = re.compile(r"^-?\d+\.\d+$")


def _plain_number(value):
    """Quantities arrive as Decimal strings ("100.000"); show them as people write them."""
    if isinstance(value, str) and _DECIMAL.match(value):
        value = Decimal(value)
    if isinstance(value, Decimal):
        value = value.normalize()
        return f"{value:,f}" if value == value.to_integral() else f"{value:,}"
    return value


def describe_error(exc, locale: str | None) -> str:
    """A core.errors.DomainError in the user's language: the most specific text that exists
    (code.entity, code.reason, code.field, code), then where it happened (line, node)."""
    params = {k: _plain_number(v) for k, v in exc.params.items()}
    if params.get("entity"):
        params["entity_name"] = t(locale, f"entity.{params['entity']}")
    table = LANGUAGES.get(locale or DEFAULT_LOCALE, zh.TEXTS)
    candidates = [f"error.{exc.code}.{params[k]}" for k in ("entity", "reason", "field") if params.get(k)]
    key = next((k for k in [*candidates, f"error.{exc.code}"] if k in table), None)
    text = t(locale, key, **params) if key else t(locale, "error.generic", detail=str(exc))
    if params.get("node") is not None:
        text = t(locale, "error.at_node", node=params["node"], text=text)
    if params.get("line") is not None:
        text = t(locale, "error.at_line", line=params["line"], text=text)
    return text
