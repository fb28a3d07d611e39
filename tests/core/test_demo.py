from datetime import datetime
from statistics import mean

import pytest

from core.db import Database
from core.demo import create_demo
from core.models import Activity, Customer, User
from core.services.export import export_data

ANCHOR = datetime(2026, 6, 1)


def _demo_export(url, seed):
    db = Database(url)
    db.create_all()
    with db.session() as s:
        result = create_demo(s, customers=60, seed=seed, anchor=ANCHOR)
    with db.reader() as s:
        admin = s.query(User).filter_by(role="admin").one()
        text = export_data(s, admin, "json")
    db.dispose()
    return result, text


@pytest.mark.sqlite_only
def test_same_seed_same_data_other_seed_other_data(tmp_path):
    r1, a = _demo_export(f"sqlite:///{tmp_path / 'a.db'}", 5)
    _, b = _demo_export(f"sqlite:///{tmp_path / 'b.db'}", 5)
    _, c = _demo_export(f"sqlite:///{tmp_path / 'c.db'}", 6)
    assert a == b and a != c
    assert r1.customers == 60 and r1.activities > 300


def test_demo_shape_and_hidden_intent_drives_outcomes(db):
    with db.session() as s:
        result = create_demo(s, customers=300, seed=11, anchor=ANCHOR)
    with db.reader() as s:
        users = s.query(User).filter(User.org_id == result.org.id).all()
        assert sorted(u.role for u in users).count("rep") == 6
        assert all(u.timezone == "Asia/Shanghai" and u.locale == "zh" for u in users)
        statuses = {c.id: c.status for c in s.query(Customer).filter_by(org_id=result.org.id)}
        assert {"won", "lost", "active"} <= set(statuses.values())
        assert s.query(Activity).filter(Activity.occurred_at >= ANCHOR).count() == 0
    won = [result.journeys[cid].intent for cid, st in statuses.items() if st == "won"]
    lost = [result.journeys[cid].intent for cid, st in statuses.items() if st == "lost"]
    assert mean(won) > mean(lost) + 0.2
