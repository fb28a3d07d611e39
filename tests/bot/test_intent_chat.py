"""/top and the card's intent line, from IntentScore rows as ml/ writes them."""
from datetime import datetime

from core.models import IntentScore
from tests.bot.conftest import make_chat

REASONS = [{"kind": "node", "activity": "node_done:test_drive", "node": "试乘试驾", "outcome": "done",
            "at": "2026-11-20T10:00", "delta": 0.12},
           {"kind": "type", "activity": "feedback", "type": "feedback", "at": "2026-11-25T15:00", "delta": -0.08}]


def _scores(db, customers):
    with db.session() as s:
        s.add_all([
            IntentScore(customer_id=customers["huawei"], score=0.41, model_version="v1", computed_at=datetime(2026, 11, 1)),
            IntentScore(customer_id=customers["huawei"], score=0.62, model_version="v1", computed_at=datetime(2026, 11, 2),
                        reasons=REASONS),
            IntentScore(customer_id=customers["huaxia"], score=0.83, model_version="v1", computed_at=datetime(2026, 11, 2)),
            IntentScore(customer_id=customers["zte"], score=0.99, model_version="v1", computed_at=datetime(2026, 11, 2)),
        ])


def test_top_lists_my_prospects_by_latest_score(db, router, rep_a, customers):
    _scores(db, customers)
    text = rep_a.send("/top")[0].text
    lines = text.splitlines()
    assert "华夏银行" in lines[1] and "83%" in lines[1]
    assert "华为技术" in lines[2] and "62%" in lines[2] and "↑" in lines[2]
    assert "中兴通讯" not in text  # rep_c's customer
    assert rep_a.payloads() == [f"c:view:{customers['huaxia']}", f"c:view:{customers['huawei']}"]


def test_card_shows_score_trend_and_reasons_in_both_languages(db, router, bound, customers):
    _scores(db, customers)
    zh = make_chat(router, "rep_a", "zh", db)
    card = zh.send("/c 华为技术")[0].text
    assert "62%" in card and "试乘试驾完成 (11-20) +12%" in card and "反馈 (11-25) -8%" in card
    en = make_chat(router, "rep_a", "en", db)
    card = en.send("/c 华为技术")[0].text
    assert "试乘试驾 done (11-20) +12%" in card


def test_top_without_scores_explains(db, router, rep_a, customers):
    assert "mammoth model score" in rep_a.send("/top")[0].text
