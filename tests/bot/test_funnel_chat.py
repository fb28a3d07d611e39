"""/funnel in chat: the picture plus the short text (stuck node, why, suggested material), the
managers' drill-down button, the period and scope words, refusals in the user's language."""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from core.db import utcnow
from core.models import CustomerProgress, NodeEvent, User
from core.services.visits import sync_visits  # the tests backdate events in bulk
from core.services import playbooks as pb_svc
from core.services.customers import create_customer
from tests.bot.conftest import Chat

T = {
    "zh": {"head": "节点漏斗", "stuck": "卡点:预约来电", "why": "公司同期 50%", "sitting": "现在有 8 位客户",
           "suggest": "建议资料", "drill": "停在「预约来电」的客户", "denied": "无权查看", "usage": "用法",
           "period": "近90天", "all": "全部时间", "seven": "近7天", "empty": "还没有客户"},
    "en": {"head": "Node funnel", "stuck": "Stuck at: 预约来电", "why": "against 50% company-wide",
           "sitting": "8 customers are sitting here", "suggest": "Suggested material", "drill": "Customers at 预约来电",
           "denied": "may not see that funnel", "usage": "Usage", "period": "last 90 days", "all": "all time",
           "seven": "last 7 days", "empty": "No customer entered"},
}


def _user(s, login: str) -> User:
    return s.scalar(select(User).where(User.login == login))


def _history(db):
    """Team 1 (rep_a): 2 of 10 passed 预约来电; rep_c (team 2, same playbook): 8 of 10."""
    start = utcnow() - timedelta(days=20)
    with db.session() as s:
        for login, passed in (("rep_a", 2), ("rep_c", 8)):
            owner = _user(s, login)
            for i in range(10):
                c = create_customer(s, owner, f"{login}客户{i}", playbook_key="car_dealer")
                s.query(NodeEvent).filter_by(customer_id=c.id).update({"occurred_at": start})
                s.query(CustomerProgress).filter_by(customer_id=c.id).update({"entered_at": start, "started_at": start})
                sync_visits(s, c.id, s.query(CustomerProgress).filter_by(customer_id=c.id).one().playbook_id)
                pb_svc.finish_node(s, owner, c.id, "done", at=start + timedelta(hours=5))
                if i < passed:
                    pb_svc.finish_node(s, owner, c.id, "done", at=start + timedelta(hours=20))


def _chat(router, db, login, locale) -> Chat:
    with db.session() as s:
        _user(s, login).locale = locale
    return Chat(router, login)


def test_manager_gets_picture_stuck_node_reason_material_and_drill_down(router, db, bound, materials, locale):
    _history(db)
    t = T[locale]
    manager = _chat(router, db, "manager_1", locale)
    replies = manager.send("/funnel")
    assert len(replies) == 1 and replies[0].image is not None
    image = Path(replies[0].image.path)
    assert replies[0].image.is_image and image.read_bytes()[:4] == b"\x89PNG"
    text = manager.text
    for key in ("head", "stuck", "why", "sitting", "suggest", "period"):
        assert t[key] in text, key
    payloads = manager.payloads()
    assert any(p.startswith("funnel:stuck:t:") for p in payloads)
    assert sum(p.startswith("m:send:") for p in payloads) == 2  # material linked to 预约来电
    manager.press(t["drill"])
    assert t["drill"] in manager.text
    assert manager.text.count("rep_a客户") == 8 and "rep_c客户" not in manager.text
    assert all(p.startswith("c:view:") for p in manager.payloads())


def test_rep_sees_their_own_funnel_without_drill_down_and_may_not_see_the_team(router, db, bound, locale):
    _history(db)
    t = T[locale]
    rep = _chat(router, db, "rep_a", locale)
    rep.send("/funnel 30d")
    assert t["stuck"] in rep.text and t["why"] in rep.text
    rep.send("/funnel 7d")  # the customers entered 20 days ago
    assert t["seven"] in rep.text and t["empty"] in rep.text
    assert not any(p.startswith("funnel:stuck") for p in rep.payloads())
    rep.send("/funnel team")
    assert t["denied"] in rep.text
    rep.send("/funnel rep rep_b")
    assert t["denied"] in rep.text
    rep.send("/funnel whenever")
    assert t["usage"] in rep.text


def test_drill_down_button_is_checked_again(router, db, bound, locale):
    """A rep replaying a manager's button payload gets a refusal, not the team's customers."""
    _history(db)
    with db.reader() as s:
        team_id = _user(s, "rep_a").team_id
    rep = _chat(router, db, "rep_a", locale)
    rep.send(payload=f"funnel:stuck:t:{team_id}:1:1")
    assert T[locale]["denied"] in rep.text and "rep_a客户" not in rep.text


def test_admin_company_funnel_for_all_time(router, db, bound, locale):
    _history(db)
    admin = _chat(router, db, "admin", locale)
    admin.send("/funnel org all")
    assert T[locale]["all"] in admin.text and admin.last[0].image is not None
