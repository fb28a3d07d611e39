"""武器云 intelligence: effectiveness per material and node (with counts, no claim on small
counts), best-first ordering for /m, the suggestion for the stuck node, and Chinese / pinyin /
English search with the current node's material first."""
from __future__ import annotations

from datetime import datetime, timedelta
from types import SimpleNamespace

import pytest

from core.models import CustomerProgress, Material, MaterialUse, NodeEvent
from core.services.visits import sync_visits  # the tests backdate events in bulk
from core.services import playbooks as pb_svc
from core.services.customers import create_customer
from core.services.material_search import query_tokens, search_hits, search_materials
from core.services.material_stats import (
    MaterialEffect, material_effectiveness, materials_for_node, rank_for_node, suggest_for_stuck,
)
from core.services.materials import sync_materials
from core.settings import get_settings
from tests.conftest import reload

T0 = datetime(2026, 3, 2, 9, 0)


def _material(s, org_id, key, title, node_keys, tags=()):
    m = Material(org_id=org_id, key=key, title=title, kind="pdf", category="测试", tags=list(tags),
                 node_keys=list(node_keys), file_ids={})
    s.add(m)
    s.flush()
    return m


@pytest.fixture
def sent(db, world):
    """12 of rep_a's customers at 来电接听. 报价单 went to c0-c5, of whom c0-c4 moved on; of the
    other six only c6 did. 案例 went to c6-c8 only (too few). 价格表 is linked to the node but
    was never sent; 无关 was sent with no customer, and at a node nobody reached."""
    with db.session() as s:
        a = reload(s, world.rep_a)
        org = world.org.id
        ids = []
        for i in range(12):
            c = create_customer(s, a, f"c{i}", playbook_key="car_dealer")
            s.query(NodeEvent).filter_by(customer_id=c.id).update({"occurred_at": T0})
            s.query(CustomerProgress).filter_by(customer_id=c.id).update({"entered_at": T0, "started_at": T0})
            sync_visits(s, c.id, s.query(CustomerProgress).filter_by(customer_id=c.id).one().playbook_id)
            ids.append(c.id)
        quote = _material(s, org, "q", "报价单", ["answer_call"])
        case = _material(s, org, "c", "案例", [])
        price = _material(s, org, "p", "价格表", ["answer_call"])
        other = _material(s, org, "o", "无关", [])
        for i in range(6):
            s.add(MaterialUse(material_id=quote.id, user_id=a.id, customer_id=ids[i], node_key="answer_call"))
        s.add(MaterialUse(material_id=quote.id, user_id=a.id, customer_id=ids[0], node_key="answer_call"))  # again
        for i in (6, 7, 8):
            s.add(MaterialUse(material_id=case.id, user_id=a.id, customer_id=ids[i], node_key="answer_call"))
        s.add(MaterialUse(material_id=other.id, user_id=a.id, customer_id=None, node_key="answer_call"))
        s.add(MaterialUse(material_id=other.id, user_id=a.id, customer_id=ids[9], node_key="quote"))
        s.flush()
        for i in (0, 1, 2, 3, 4, 6):
            pb_svc.finish_node(s, a, ids[i], "done", at=T0 + timedelta(days=1))
        return {"customers": ids, "quote": quote.id, "case": case.id, "price": price.id, "other": other.id}


def test_effectiveness_with_counts_and_no_claim_on_small_ones(db, world, sent):
    with db.reader() as s:
        effects = {e.material_id: e for e in material_effectiveness(s, reload(s, world.manager_1), "car_dealer")}
    quote, case = effects[sent["quote"]], effects[sent["case"]]
    assert (quote.node_key, quote.with_n, quote.with_moved, quote.without_n, quote.without_moved) == \
        ("answer_call", 6, 5, 6, 1)
    assert quote.enough and quote.verdict == "better" and quote.lift == pytest.approx(4 / 6)
    assert (case.with_n, case.with_moved, case.without_n, case.without_moved) == (3, 1, 9, 5)
    assert case.verdict == "insufficient" and case.lift is None and case.z is None
    assert case.as_dict()["lift_pct_points"] is None and case.as_dict()["with"]["conversion_pct"] == 33.3
    # never sent to a customer at a node they reached: no row, no claim
    assert sent["price"] not in effects and sent["other"] not in effects
    with db.reader() as s:
        strict = material_effectiveness(s, reload(s, world.rep_a), "car_dealer", node_key="answer_call", min_count=7)
    assert {e.material_id: e.verdict for e in strict} == {sent["quote"]: "insufficient", sent["case"]: "insufficient"}


def test_materials_for_node_best_first_and_the_stuck_nodes_suggestion(db, world, sent):
    with db.reader() as s:
        rep = reload(s, world.rep_a)
        ranked = materials_for_node(s, rep, "answer_call", "car_dealer")
        suggested = suggest_for_stuck(s, rep, SimpleNamespace(
            stuck=SimpleNamespace(key="answer_call"), playbook_key="car_dealer", since=None, until=None))
        nothing = suggest_for_stuck(s, rep, SimpleNamespace(stuck=None))
    # proven better, then the catalogue's own pick without data, then too little data
    assert [r.material.title for r in ranked] == ["报价单", "价格表", "案例"]
    assert ranked[0].effect.verdict == "better" and ranked[1].effect is None and ranked[1].linked
    assert [r.material.title for r in suggested] == ["报价单", "价格表"] and nothing == []


def _effect(mid, with_n, with_moved, without_n, without_moved):
    return MaterialEffect(mid, "n", with_n, with_moved, without_n, without_moved)


def test_rank_tiers():
    ms = [SimpleNamespace(id=i, node_keys=["n"] if i in (3, 4) else []) for i in range(1, 7)]
    effects = [_effect(1, 40, 10, 40, 30),  # proven worse
               _effect(2, 40, 35, 40, 10),  # proven better
               _effect(5, 10, 6, 10, 5),    # a little better, not proven
               _effect(6, 10, 4, 10, 5),    # a little worse, not proven
               _effect(4, 2, 2, 20, 1)]     # too few: no claim
    order = [r.material.id for r in rank_for_node(ms, effects, "n")]
    assert order == [2, 5, 4, 3, 6, 1]  # 4 and 3: no claim yet, both linked: the more sent first


# ---------------------------------------------------------------- search
@pytest.fixture
def library(db, world):
    with db.session() as s:
        sync_materials(s, world.org.id, get_settings().materials_dir)


@pytest.mark.parametrize("query,first", [
    ("试驾的检查表", "试乘试驾检查表"),  # segmented, filler 的 dropped
    ("试驾", "试乘试驾检查表"),
    ("报价单", "报价单模板"),
    ("baojiadan", "报价单模板"),  # pinyin of the title
    ("bjd", "报价单模板"),  # initials
    ("jiage", "2026款车型价格表"),
    ("price list", "2026款车型价格表"),
    ("Test Drive", "试乘试驾检查表"),
    ("有没有客户案例的资料", "客户案例"),
    ("M5 图片", "猛犸 M5 产品图"),
    ("回访促签", "客户案例"),  # a node title: the material linked to that node
])
def test_search_chinese_pinyin_english_and_node_titles(db, world, library, query, first):
    with db.reader() as s:
        found = search_materials(s, reload(s, world.rep_a), query)
    assert found and found[0].title == first


def test_search_puts_the_current_nodes_material_first(db, world, library):
    with db.reader() as s:
        rep = reload(s, world.rep_a)
        plain = [h.material.title for h in search_hits(s, rep, "报价")]
        at_recommend = [h.material.title for h in search_hits(s, rep, "报价", node_key="recommend")]
        node_only = search_materials(s, rep, node_key="test_drive")
        by_category = search_materials(s, rep, category="价格")
        filler = search_materials(s, rep, "资料")
    assert plain[0] == "报价单模板"
    assert at_recommend[0] == "2026款车型价格表"  # linked to 推荐产品; the template is not
    assert "报价单模板" in at_recommend
    assert [m.title for m in node_only] == ["试乘试驾检查表"]
    assert [m.title for m in by_category] == ["2026款车型价格表"]
    assert filler == []
    assert query_tokens("请发一下 pricing 的资料") == ["pricing"]
