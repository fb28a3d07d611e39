"""The shipped 武器云 demo library in materials/: catalogue, files and generator."""
from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
MATERIALS = ROOT / "materials"
PLAYBOOKS = ROOT / "core" / "playbooks"
NOT_MATERIAL = {"make_samples.py", "catalog.yaml", "README.md"}
MAX_BYTES = 200 * 1024
CJK = re.compile(r"[\u4e00-\u9fff]")


def _catalog() -> list[dict]:
    doc = yaml.safe_load((MATERIALS / "catalog.yaml").read_text(encoding="utf-8"))
    return doc["materials"]


CATALOG = _catalog()
FILES = [item["file"] for item in CATALOG]


def _by_suffix(suffix: str) -> list[str]:
    return [f for f in FILES if f.endswith(suffix)]


def _playbook_node_keys() -> set[str]:
    keys = set()
    for path in PLAYBOOKS.glob("*.yaml"):
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
        keys |= {node["key"] for node in doc.get("nodes", [])}
    return keys


def _load_generator():
    spec = importlib.util.spec_from_file_location("make_samples", MATERIALS / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- catalogue ------------------------------------------------------------------------

def test_catalog_entries_are_complete_and_unique():
    assert len(CATALOG) >= 4
    assert len(set(FILES)) == len(FILES), "a file is catalogued twice"
    for item in CATALOG:
        assert item.get("title"), item
        assert CJK.search(item.get("category", "")), f"{item['file']}: category should be Chinese"
        tags = item.get("tags") or []
        assert any(CJK.search(t) for t in tags), f"{item['file']}: needs Chinese tags"
        assert any(re.fullmatch(r"[A-Za-z][A-Za-z ]*", t) for t in tags), f"{item['file']}: needs an English tag"
        assert item.get("nodes"), f"{item['file']}: linked to no playbook node"


def test_catalog_node_keys_exist_in_playbooks():
    known = _playbook_node_keys()
    assert known, "no playbooks found"
    for item in CATALOG:
        unknown = set(item["nodes"]) - known
        assert not unknown, f"{item['file']}: unknown node keys {sorted(unknown)}"


def test_every_file_in_folder_is_catalogued():
    on_disk = {p.relative_to(MATERIALS).as_posix() for p in MATERIALS.rglob("*")
               if p.is_file() and not p.name.startswith(".") and "__pycache__" not in p.parts}
    assert on_disk - NOT_MATERIAL - set(FILES) == set()


@pytest.mark.parametrize("name", FILES)
def test_catalogued_file_exists_and_is_small(name):
    path = MATERIALS / name
    assert path.is_file(), f"missing {name}; run .venv/bin/python materials/make_samples.py"
    assert 0 < path.stat().st_size < MAX_BYTES


# --- files open with their libraries --------------------------------------------------

@pytest.mark.parametrize("name", _by_suffix(".pdf"))
def test_pdf_is_valid(name):
    data = (MATERIALS / name).read_bytes()
    assert data.startswith(b"%PDF-")
    assert data.rstrip().endswith(b"%%EOF")
    pages = re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data)
    assert len(pages) >= 1
    assert b"STSong-Light" in data, "Chinese text should use the built-in CID font"


def test_price_sheet_has_one_or_two_pages():
    data = (MATERIALS / "price_sheet.pdf").read_bytes()
    assert 1 <= len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data)) <= 2


@pytest.mark.parametrize("name", _by_suffix(".png"))
def test_png_opens_with_expected_size(name):
    from PIL import Image

    with Image.open(MATERIALS / name) as im:
        im.verify()
    with Image.open(MATERIALS / name) as im:
        assert im.format == "PNG"
        assert im.size == (800, 500)


@pytest.mark.parametrize("name", _by_suffix(".xlsx"))
def test_xlsx_has_amount_and_total_formulas(name):
    import openpyxl

    ws = openpyxl.load_workbook(MATERIALS / name).active
    header = next(c for row in ws.iter_rows() for c in row if isinstance(c.value, str) and c.value.startswith("金额"))
    headers = {c.value for c in ws[header.row] if c.value}
    assert {"产品", "数量"} <= headers and any(h.startswith("单价") for h in headers)
    labels = {c.value for row in ws.iter_rows(max_row=header.row - 1) for c in row if isinstance(c.value, str)}
    assert {"客户", "联系人", "日期", "报价有效期"} <= labels

    below = [ws.cell(row=r, column=header.column).value for r in range(header.row + 1, ws.max_row + 1)]
    amount_formulas = [v for v in below if isinstance(v, str) and re.fullmatch(r"=D\d+\*E\d+", v)]
    assert len(amount_formulas) >= 5
    assert any(isinstance(v, str) and v.startswith("=SUM(") for v in below)
    total_label = next(c for row in ws.iter_rows() for c in row if c.value and str(c.value).startswith("合计"))
    total = ws.cell(row=total_label.row, column=header.column).value
    assert isinstance(total, str) and total.startswith("=")


def test_xlsx_cached_results_match_the_example_rows():
    import openpyxl

    values = openpyxl.load_workbook(MATERIALS / "quote_template.xlsx", data_only=True).active
    formulas = openpyxl.load_workbook(MATERIALS / "quote_template.xlsx").active
    for row in formulas.iter_rows():
        for c in row:
            if isinstance(c.value, str) and re.fullmatch(r"=D(\d+)\*E\1", c.value):
                qty = values.cell(row=c.row, column=4).value or 0
                price = values.cell(row=c.row, column=5).value or 0
                assert values[c.coordinate].value == qty * price


@pytest.mark.parametrize("name", _by_suffix(".pptx"))
def test_pptx_has_chinese_slides(name):
    from pptx import Presentation

    prs = Presentation(str(MATERIALS / name))
    assert len(prs.slides) >= 4
    for slide in prs.slides:
        text = " ".join(sh.text_frame.text for sh in slide.shapes if sh.has_text_frame)
        assert CJK.search(text), "every slide should carry Chinese text"
    all_text = " ".join(sh.text_frame.text for s in prs.slides for sh in s.shapes if sh.has_text_frame)
    for topic in ("公司介绍", "产品亮点", "客户案例", "服务承诺", "联系我们"):
        assert topic in all_text


# --- generator ------------------------------------------------------------------------

def test_generator_is_deterministic_and_covers_the_catalog(tmp_path):
    gen = _load_generator()
    first = {p.name: p.read_bytes() for p in gen.generate(tmp_path / "a")}
    second = {p.name: p.read_bytes() for p in gen.generate(tmp_path / "b")}
    assert set(first) == set(FILES)
    for name in first:
        assert first[name] == second[name], f"{name} is not byte-stable"
        assert len(first[name]) < MAX_BYTES
