"""Pictures for chat: the 节点漏斗 funnel chart as a PNG.

matplotlib is imported inside the functions (Agg canvas, no pyplot, no global state), so a
chat reply that draws nothing never pays for it. Chinese needs a real CJK font, which no fresh
machine is guaranteed to have: the font ships as a Python dependency (paperang-p2-fonts-cjk,
WenQuanYi Micro Hei, Apache-2.0) and is registered with matplotlib by its path, never looked
up among system fonts. MAMMOTH_CJK_FONT may point to another font file.
"""
from __future__ import annotations

import logging
import os
import threading
from importlib import resources
from pathlib import Path

from bot.texts import t

log = logging.getLogger("mammoth.charts")

FALLBACK_FONT_FILES = (  # by path too, only if the packaged font is missing
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
BAR = "#4C78A8"
STUCK = "#E4572E"
MUTED = "#666666"


class FontMissing(RuntimeError):
    """No CJK font file: a chart would show boxes instead of Chinese."""


def cjk_font_path() -> Path | None:
    override = os.environ.get("MAMMOTH_CJK_FONT")
    if override and Path(override).is_file():
        return Path(override)
    try:
        packaged = resources.files("paperang_p2_fonts_cjk") / "fonts" / "wqy-microhei.ttc"
        if packaged.is_file():
            return Path(str(packaged))
    except ModuleNotFoundError:
        pass
    return next((Path(p) for p in FALLBACK_FONT_FILES if Path(p).is_file()), None)


_registered: dict[str, str] = {}
_lock = threading.Lock()


def cjk_family() -> str:
    """Register the CJK font file with matplotlib (once) and return its family name."""
    path = cjk_font_path()
    if path is None:
        raise FontMissing("no CJK font: pip install paperang-p2-fonts-cjk or set MAMMOTH_CJK_FONT")
    with _lock:
        if str(path) not in _registered:
            from matplotlib import font_manager

            font_manager.fontManager.addfont(str(path))
            _registered[str(path)] = font_manager.FontProperties(fname=str(path)).get_name()
        return _registered[str(path)]


def missing_glyphs(text: str, path: Path | None = None) -> set[str]:
    """Characters of `text` the CJK font has no glyph for (whitespace aside)."""
    from fontTools.ttLib import TTFont

    path = path or cjk_font_path()
    font = TTFont(str(path), fontNumber=0, lazy=True) if str(path).lower().endswith(".ttc") else TTFont(str(path), lazy=True)
    cmap = font.getBestCmap()
    return {ch for ch in text if not ch.isspace() and ord(ch) not in cmap}


_cmaps: dict[str, set[int]] = {}


def _cmap(path: str) -> set[int]:
    if path not in _cmaps:
        from fontTools.ttLib import TTFont

        font = TTFont(path, fontNumber=0, lazy=True) if path.lower().endswith(".ttc") else TTFont(path, lazy=True)
        _cmaps[path] = set(font.getBestCmap())
    return _cmaps[path]


def drawable(text: str) -> str:
    """`text` without the characters neither the CJK font nor matplotlib's DejaVu Sans has
    (an emoji in a team name, say), which would otherwise be drawn as a box."""
    import matplotlib

    cjk = _cmap(str(cjk_font_path()))
    dejavu = _cmap(str(Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"))
    kept = "".join(ch for ch in text if ch.isspace() or ord(ch) in cjk or ord(ch) in dejavu)
    return " ".join(kept.split()) if kept != text else text


def _fmt_days(days: float | None) -> str:
    if days is None:
        return "—"
    return f"{days:.1f}" if days < 10 else f"{days:.0f}"


def funnel_labels(funnel, locale: str) -> dict:
    """Every piece of text the chart draws, in the reader's language (tests check the font has
    a glyph for each character)."""
    nodes = []
    for i, n in enumerate(funnel.nodes, start=1):
        conv = n.conversion
        nodes.append({
            "name": f"{i}. {n.title if len(n.title) <= 12 else n.title[:11] + '…'}",
            "count": t(locale, "funnel.chart.reached", n=n.reached),
            "conversion": "" if conv is None else t(locale, "funnel.chart.conversion", pct=f"{100 * conv:.0f}%"),
            "sitting": (t(locale, "funnel.chart.sitting", n=n.current, days=_fmt_days(n.current_median_days))
                        if n.current else ""),
        })
    nodes = [{k: drawable(v) for k, v in node.items()} for node in nodes]
    return {"nodes": nodes, "stuck": drawable(t(locale, "funnel.chart.stuck")),
            "empty": drawable(t(locale, "funnel.chart.empty"))}


def funnel_png(funnel, path: str | Path, *, title: str, subtitle: str = "", locale: str = "zh",
               dpi: int = 110) -> Path:
    """Horizontal bars per node (customers who reached it, centred like a funnel), the
    conversion to the next node between the bars, who sits at each node now on the right, the
    stuck node in orange. `funnel` is a core.services.funnel.Funnel; `subtitle` e.g. the reason
    the stuck node is stuck."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    family = cjk_family()
    labels = funnel_labels(funnel, locale)
    title, subtitle = drawable(title), drawable(subtitle)
    stuck_key = funnel.stuck.key if funnel.stuck else None
    n = max(len(funnel.nodes), 1)
    widest = max([node.reached for node in funnel.nodes] + [1])
    top_in, row_in, bottom_in = 0.75 + (0.3 if subtitle else 0.0), 0.62, 0.2
    height = top_in + row_in * n + bottom_in
    # WenQuanYi Micro Hei has no bold face: emphasis is colour and size, so matplotlib never
    # has to substitute a weight.
    with rc_context({"font.family": "sans-serif", "font.sans-serif": [family, "DejaVu Sans"],
                     "axes.unicode_minus": False}):
        fig = Figure(figsize=(10, height), dpi=dpi)
        FigureCanvasAgg(fig)
        ax = fig.add_axes([0.16, bottom_in / height, 0.52, row_in * n / height])
        for i, (node, text) in enumerate(zip(funnel.nodes, labels["nodes"])):
            stuck = node.key == stuck_key
            colour = STUCK if stuck else BAR
            width = node.reached
            ax.barh(i, width, left=(widest - width) / 2, height=0.58, color=colour)
            inside = width >= widest * 0.25
            ax.text(widest / 2 if inside else (widest + width) / 2 + widest * 0.02, i, text["count"],
                    ha="center" if inside else "left", va="center", fontsize=10.5,
                    color="white" if inside else "#222222")
            if text["conversion"]:
                ax.text(widest / 2, i + 0.5, text["conversion"], ha="center", va="center", fontsize=8.5,
                        color=colour if stuck else MUTED)
            if stuck:
                ax.text(widest * 1.04, i - (0.17 if text["sitting"] else 0), labels["stuck"], ha="left",
                        va="center", fontsize=10, color=STUCK)
            if text["sitting"]:
                ax.text(widest * 1.04, i + (0.17 if stuck else 0), text["sitting"], ha="left", va="center",
                        fontsize=9, color=STUCK if stuck else MUTED)
        ax.set_yticks(range(len(funnel.nodes)), [text["name"] for text in labels["nodes"]], fontsize=10.5)
        for tick, node in zip(ax.get_yticklabels(), funnel.nodes):
            if node.key == stuck_key:
                tick.set_color(STUCK)
        ax.set_ylim(n - 0.4, -0.45)
        ax.set_xlim(0, widest)
        ax.set_xticks([])
        for side in ("top", "right", "bottom", "left"):
            ax.spines[side].set_visible(False)
        ax.tick_params(axis="y", length=0)
        if not any(node.reached for node in funnel.nodes):
            ax.text(widest / 2, (n - 1) / 2, labels["empty"], ha="center", va="center", fontsize=11, color=MUTED)
        fig.text(0.5, 1 - 0.3 / height, title, ha="center", va="center", fontsize=14)
        if subtitle:
            fig.text(0.5, 1 - 0.62 / height, subtitle, ha="center", va="center", fontsize=10,
                     color=STUCK if stuck_key else MUTED)
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, format="png", dpi=dpi)
    return path


def funnel_texts(funnel, subtitle: str, title: str, locale: str) -> str:
    """All the text a funnel chart draws, joined (for the glyph check)."""
    labels = funnel_labels(funnel, locale)
    parts = [drawable(title), drawable(subtitle), labels["stuck"], labels["empty"]]
    for node in labels["nodes"]:
        parts.extend(node.values())
    return "".join(parts)


__all__ = ["FontMissing", "cjk_family", "cjk_font_path", "drawable", "funnel_labels", "funnel_png", "funnel_texts",
           "missing_glyphs"]
