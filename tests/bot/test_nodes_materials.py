"""三一客 (/node: board, done / skip / failed with a note, the next node's script and material)
and 武器云 (/m by keyword, category and node; the file itself; the platform file-id cache)."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from core.models import Material, MaterialUse, NodeEvent
from tests.bot.conftest import Chat

T = {
    "zh": {"done": "已完成", "skipped": "已跳过", "failed": "记为未成功", "next": "进入下一个节点", "script": "话术",
           "note_q": "结果如何", "offer": "可用的资料", "still": "仍停留在", "all_done": "所有节点都已完成",
           "materials": "的资料", "none": "没有找到"},
    "en": {"done": "done.", "skipped": "skipped.", "failed": "marked as failed", "next": "Next step", "script": "Script",
           "note_q": "how did it go", "offer": "Material for this step", "still": "Still at", "all_done": "All key steps",
           "materials": "Material for", "none": "No material found"},
}


def test_board_marks_and_script(rep, locale, customers):
    rep.send("/node 华为技术")
    lines = rep.text.splitlines()
    assert any(line.startswith("▶ 1. 来电接听") for line in lines)
    assert any(line.startswith("○ 2. 预约来电") for line in lines)
    assert T[locale]["script"] in rep.text and "4S店" in rep.text
    cid = customers["huawei"]
    assert {f"node:done:{cid}", f"node:skip:{cid}", f"node:fail:{cid}", f"m:node:{cid}"} <= set(rep.payloads())


def test_done_with_note_moves_on_and_offers_material(rep, locale, db, customers, materials):
    cid = customers["huawei"]
    rep.send("/node 华为技术")
    rep.press(f"node:done:{cid}")
    assert T[locale]["note_q"] in rep.text
    rep.send("约好周六到店")
    t = T[locale]
    assert t["done"] in rep.text and t["next"] in rep.text and "预约来电" in rep.text
    assert t["script"] in rep.text and "试驾名额" in rep.text  # the appointment_call 话术
    assert t["offer"] in rep.text
    offers = [p for p in rep.payloads() if p.startswith("m:send:")]
    assert offers and all(p.endswith(f":{cid}") for p in offers)
    with db.reader() as s:
        event = s.scalar(select(NodeEvent).where(NodeEvent.customer_id == cid, NodeEvent.outcome == "done"))
        assert (event.node_key, event.note) == ("answer_call", "约好周六到店")
    rep.send("/node 华为技术")
    assert any(line.startswith("✔ 1. 来电接听") for line in rep.text.splitlines())
    assert any(line.startswith("▶ 2. 预约来电") for line in rep.text.splitlines())


def test_skip_without_note_and_failed_stays(rep, locale, db, customers):
    cid = customers["huawei"]
    rep.send(payload=f"node:skip:{cid}")
    rep.press("node:note:-")
    assert T[locale]["skipped"] in rep.text and "预约来电" in rep.text
    rep.send(payload=f"node:fail:{cid}")
    rep.send("客户没接电话")
    assert T[locale]["failed"] in rep.text and T[locale]["still"] in rep.text
    rep.send(f"/node #{cid}")
    assert any(line.startswith("▶ 2. 预约来电") for line in rep.text.splitlines())
    assert any(line.startswith("⏭ 1. 来电接听") for line in rep.text.splitlines())


def test_walking_every_node_ends_all_done(rep, locale, db, customers):
    cid = customers["huaxia"]
    for _ in range(8):  # the car playbook has eight nodes
        rep.send(payload=f"node:done:{cid}")
        rep.press("node:note:-")
    assert T[locale]["all_done"] in rep.text
    rep.send(payload=f"node:done:{cid}")
    assert T[locale]["all_done"] in rep.text


def test_the_same_node_button_pressed_twice_finishes_one_node(rep, db, customers):
    cid = customers["huawei"]
    rep.send(payload=f"node:done:{cid}")
    rep.send(payload=f"node:done:{cid}")  # a second tap restarts the note question, no harm
    rep.send("好")
    with db.reader() as s:
        done = s.scalars(select(NodeEvent).where(NodeEvent.customer_id == cid, NodeEvent.outcome == "done")).all()
    assert len(done) == 1


def test_node_changed_by_a_colleague_while_typing(router, rep, db, customers, bound):
    cid = customers["huawei"]
    rep.send(payload=f"node:done:{cid}")
    manager = Chat(router, "manager_1")
    manager.send(payload=f"node:skip:{cid}")
    manager.press("node:note:-")
    rep.send("我这边也完成了")
    assert "来电接听" in rep.text
    with db.reader() as s:
        assert len(s.scalars(select(NodeEvent).where(NodeEvent.customer_id == cid,
                                                     NodeEvent.outcome.in_(("done", "skipped")))).all()) == 1


def test_material_by_keyword_category_and_node(rep, locale, materials):
    t = T[locale]
    rep.send("/m 试驾")
    assert t["materials"] in rep.text and "试乘试驾检查表" in rep.text
    rep.send("/m 价格")  # a category
    assert "2026款车型价格表" in rep.text
    rep.send("/m 报价沟通")  # a node title
    assert "报价单模板" in rep.text or "价格表" in rep.text
    rep.send("/m 火星资料")
    assert t["none"] in rep.text
    rep.send("/m")
    assert any(p.startswith("m:cat:") for p in rep.payloads())
    rep.press("m:cat:案例")
    assert "客户案例" in rep.text


def test_tap_sends_the_file_with_cached_id_and_records_the_use(router, rep, db, materials, customers):
    rep.send("/m 价格表")
    payload = next(p for p in rep.payloads() if p.startswith("m:send:"))
    material_id = int(payload.split(":")[2])
    router.file_sent(material_id, "telegram", "BQAC-cached")
    rep.press(payload)
    out = rep.last[0].file
    assert out is not None and Path(out.path).is_file()
    assert out.material_id == material_id and out.cached_ids == {"telegram": "BQAC-cached"}
    assert out.filename == "price_sheet.pdf"
    with db.reader() as s:
        assert s.scalar(select(MaterialUse).where(MaterialUse.material_id == material_id)).platform == "telegram"


def test_material_for_the_customers_node_records_customer_and_node(rep, db, materials, customers):
    cid = customers["huawei"]
    with db.session() as s:  # move the deal to the test-drive node
        from core.models import User
        from core.services.playbooks import move_to_node
        move_to_node(s, s.scalar(select(User).where(User.login == "rep_a")), cid, "test_drive")
    rep.send(payload=f"m:node:{cid}")
    assert "试乘试驾检查表" in rep.text
    payload = next(p for p in rep.payloads() if p.startswith("m:send:"))
    rep.press(payload)
    with db.reader() as s:
        use = s.scalars(select(MaterialUse)).one()
    assert (use.customer_id, use.node_key) == (cid, "test_drive")


def test_image_material_is_marked_as_image(rep, db, materials):
    with db.reader() as s:
        image = s.scalar(select(Material).where(Material.kind == "image"))
    rep.send(payload=f"m:send:{image.id}")
    assert rep.last[0].file.is_image
