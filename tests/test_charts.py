"""The funnel chart PNG: Chinese (and English) labels drawn with the packaged CJK font, no
glyph falling back to a missing-glyph box, the stuck node highlighted."""
from __future__ import annotations

import logging
import warnings
from datetime import datetime

import pytest

from bot.charts import STUCK, cjk_family, drawable, cjk_font_path, funnel_labels, funnel_png, funnel_texts, missing_glyphs
from core.services.funnel import Funnel, NodeFunnel, Scope, StuckNode

CAR = [("answer_call", "来电接听", 1), ("appointment_call", "预约来电", 3), ("store_reception", "进店接待", 2),
       ("needs", "听取需求", 2), ("recommend", "推荐产品", 3), ("test_drive", "试乘试驾", 5), ("quote", "报价沟通", 5),
       ("close_follow_up", "回访促签", 7)]
REACHED = [120, 96, 80, 61, 55, 31, 27, 20]


def _funnel(empty: bool = False) -> Funnel:
    nodes = []
    for i, (key, title, expected) in enumerate(CAR):
        reached = 0 if empty else REACHED[i]
        moved = 0 if empty else (REACHED[i + 1] if i + 1 < len(REACHED) else 12)
        nodes.append(NodeFunnel(key, title, i, expected, reached=reached, moved_on=moved, current=0 if empty else 4 + i,
                                current_median_days=None if empty else 2.5 + i, dwell_median_days=1.5 + i,
                                left_visits=moved))
    stuck = None if empty else StuckNode("test_drive", "试乘试驾", "conversion", 1.8,
                                         {"conversion": 31 / 55, "baseline": 0.8, "baseline_kind": "org"})
    return Funnel(1, "car_dealer", "4S店销售三一客", Scope("team", 1, "汽车销售一组", team_id=1),
                  datetime(2026, 1, 1), None, datetime(2026, 2, 1), nodes, stuck)


TITLE = {"zh": "4S店销售三一客 · 汽车销售一组 · 近30天", "en": "4S店销售三一客 · 汽车销售一组 · last 30 days"}
SUBTITLE = {"zh": "卡点:试乘试驾 — 推进率 56%,公司同期 80%", "en": "Stuck at: 试乘试驾 — 56% moved on, against 80%"}


def test_the_packaged_cjk_font_is_found_by_path_and_registered():
    path = cjk_font_path()
    assert path is not None and path.is_file() and path.suffix in (".ttc", ".ttf", ".otf")
    from matplotlib import font_manager

    family = cjk_family()
    assert family == font_manager.FontProperties(fname=str(path)).get_name()
    # matplotlib resolves the family to exactly that file, not to some system font
    resolved = font_manager.findfont(font_manager.FontProperties(family=family), fallback_to_default=False)
    assert resolved == str(path)


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_every_character_the_chart_draws_is_in_the_font(locale):
    text = funnel_texts(_funnel(), SUBTITLE[locale], TITLE[locale], locale)
    assert "试乘试驾" in text and ("卡点" in text or "stuck" in text)
    assert missing_glyphs(text) == set()
    assert missing_glyphs("🦣") == {"🦣"}  # the check does notice a character the font lacks


def _render(tmp_path, caplog, funnel, locale, name, *, subtitle=""):
    caplog.set_level(logging.DEBUG, logger="matplotlib")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        path = funnel_png(funnel, tmp_path / name, title=TITLE[locale], subtitle=subtitle, locale=locale)
    complaints = [str(w.message) for w in caught] + [r.getMessage() for r in caplog.records
                                                     if r.levelno >= logging.WARNING or "findfont" in r.getMessage()
                                                     and "Failed" in r.getMessage()]
    return path, complaints


@pytest.mark.parametrize("locale", ["zh", "en"])
def test_png_renders_chinese_without_a_missing_glyph(tmp_path, caplog, locale):
    path, complaints = _render(tmp_path, caplog, _funnel(), locale, f"funnel-{locale}.png", subtitle=SUBTITLE[locale])
    assert not [c for c in complaints if "Glyph" in c or "missing" in c or "findfont" in c], complaints
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


def test_a_missing_glyph_would_be_caught(tmp_path):
    """Negative control: drawing a character the font lacks does raise matplotlib's warning,
    so the test above would have seen a box."""
    from matplotlib import rc_context
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with warnings.catch_warnings(record=True) as caught, rc_context({"font.family": [cjk_family()]}):
        warnings.simplefilter("always")
        fig = Figure()
        FigureCanvasAgg(fig)
        fig.text(0.5, 0.5, "来电🦣")
        fig.savefig(tmp_path / "box.png")
    assert any("Glyph" in str(w.message) and "missing" in str(w.message) for w in caught)


def test_characters_no_font_has_are_left_out_rather_than_boxed(tmp_path, caplog):
    funnel = _funnel()
    funnel.nodes[0] = NodeFunnel("x", "来电🦣接听", 0, 1, reached=5)
    assert drawable("🚧 卡点:来电🦣") == "卡点:来电"
    path, complaints = _render(tmp_path, caplog, funnel, "zh", "emoji.png", subtitle="🚧 卡点")
    assert path.is_file() and not [c for c in complaints if "Glyph" in c], complaints
    assert funnel_labels(funnel, "zh")["nodes"][0]["name"] == "1. 来电接听"


def test_labels_name_each_node_with_counts_and_conversions():
    labels = funnel_labels(_funnel(), "zh")
    assert [n["name"] for n in labels["nodes"]][:2] == ["1. 来电接听", "2. 预约来电"]
    assert labels["nodes"][0]["count"] == "120 人" and labels["nodes"][0]["conversion"] == "↓ 推进 80%"
    assert labels["nodes"][0]["sitting"] == "现停留 4 人 · 中位 2.5 天" and labels["stuck"] == "← 卡点"
    assert funnel_labels(_funnel(), "en")["nodes"][0]["conversion"] == "↓ 80% moved on"


def test_the_stuck_node_is_drawn_in_its_own_colour(tmp_path, caplog):
    import numpy as np
    from PIL import Image

    path, _ = _render(tmp_path, caplog, _funnel(), "zh", "stuck.png")
    rgb = np.array([int(STUCK[i:i + 2], 16) for i in (1, 3, 5)])
    pixels = np.asarray(Image.open(path).convert("RGB"))
    assert int((pixels == rgb).all(axis=-1).sum()) > 2000  # the stuck node's bar


def test_empty_funnel_still_draws(tmp_path, caplog):
    path, complaints = _render(tmp_path, caplog, _funnel(empty=True), "zh", "empty.png")
    assert path.is_file() and not [c for c in complaints if "Glyph" in c]
