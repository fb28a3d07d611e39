from datetime import datetime, timedelta

import pytest

from core.errors import AccessDenied, Invalid, NotFound
from core.models import Activity, Customer, FollowUp
from core.services import activities as svc
from core.services.customers import create_customer
from tests.conftest import reload


@pytest.fixture
def customer_id(db, world):
    with db.session() as s:
        return create_customer(s, reload(s, world.rep_a), "华为").id


def test_log_activity_defaults_node_and_activates_lead(db, world, customer_id):
    with db.session() as s:
        act, created = svc.log_activity(s, reload(s, world.rep_a), customer_id, "visit", " 拜访张总 ",
                                        amount="12.5", direction="out")
    assert created
    with db.reader() as s:
        act = s.get(Activity, act.id)
        assert (act.content, act.node_key, str(act.amount)) == ("拜访张总", "answer_call", "12.50")
        assert s.get(Customer, customer_id).status == "active"


def test_same_source_message_logs_once(db, world, customer_id):
    ids = set()
    for _ in range(3):
        with db.session() as s:
            act, _created = svc.log_activity(s, reload(s, world.rep_a), customer_id, "call", "电话",
                                             source=("telegram", "42"),
                                             follow_up_at=datetime(2030, 1, 1), follow_up_note="再联系")
            ids.add(act.id)
    with db.reader() as s:
        assert len(ids) == 1
        assert s.query(Activity).filter_by(customer_id=customer_id, type="call").count() == 1
        assert s.query(FollowUp).filter_by(customer_id=customer_id).count() == 1


def test_concurrent_duplicate_insert_returns_existing(db, world, customer_id, monkeypatch):
    """Two workers both miss the pre-check; the unique constraint decides and the loser gets
    the winner's row instead of an error."""
    with db.session() as s:
        s.add(Activity(customer_id=customer_id, author_id=world.rep_a.id, type="call",
                       source_platform="wecom", source_message_id="m1"))
    monkeypatch.setattr(svc, "find_by_source", lambda *a: None)  # the pre-check sees nothing
    with db.session() as s:
        act, created = svc.log_activity(s, reload(s, world.rep_a), customer_id, "call", "x",
                                        source=("wecom", "m1"))
    assert created is False
    with db.reader() as s:
        assert s.query(Activity).filter_by(source_message_id="m1").count() == 1


@pytest.mark.parametrize("kwargs,field", [
    ({"type": "dance"}, "type"),
    ({"type": "call", "amount": "abc"}, "amount"),
    ({"type": "call", "amount": -1}, "amount"),
    ({"type": "call", "direction": "sideways"}, "direction"),
    ({"type": "node_change"}, "type"),
])
def test_log_activity_validation(db, world, customer_id, kwargs, field):
    with pytest.raises(Invalid) as exc, db.session() as s:
        svc.log_activity(s, reload(s, world.rep_a), customer_id, **kwargs)
    assert exc.value.params["field"] == field


def test_contact_must_belong_to_customer(db, world, customer_id):
    from core.services.customers import add_contact

    with db.session() as s:
        other = create_customer(s, reload(s, world.rep_a), "别家")
        contact = add_contact(s, reload(s, world.rep_a), other.id, "王总")
    with pytest.raises(NotFound), db.session() as s:
        svc.log_activity(s, reload(s, world.rep_a), customer_id, "call", contact_id=contact.id)


def test_attachment_lands_on_activity(db, world, customer_id):
    with db.session() as s:
        act, _ = svc.log_activity(s, reload(s, world.rep_a), customer_id, "visit", "拍了照片")
        svc.attach_to_activity(s, reload(s, world.rep_a), act.id, {"kind": "photo", "file_id": "F1"})
    with db.reader() as s:
        assert s.get(Activity, act.id).attachments == [{"kind": "photo", "file_id": "F1"}]


def test_follow_up_lifecycle_and_listing(db, world, customer_id):
    now = datetime(2030, 1, 10, 9)
    with db.session() as s:
        a = reload(s, world.rep_a)
        due = svc.add_follow_up(s, a, customer_id, now - timedelta(hours=1), "逾期的")
        later = svc.add_follow_up(s, a, customer_id, now + timedelta(days=2), "以后的")
        done = svc.add_follow_up(s, a, customer_id, now - timedelta(days=1), "做完的")
        svc.complete_follow_up(s, a, done.id)
    with db.session() as s:
        a = reload(s, world.rep_a)
        assert [f.note for f in svc.open_follow_ups(s, a, due_before=now)] == ["逾期的"]
        svc.snooze_follow_up(s, a, due.id, now + timedelta(days=1))
        assert [f.note for f in svc.open_follow_ups(s, a, due_before=now)] == []
        assert [f.note for f in svc.open_follow_ups(s, a)] == ["逾期的", "以后的"]
        with pytest.raises(Invalid):
            svc.snooze_follow_up(s, a, done.id, now)
        with pytest.raises(AccessDenied):
            svc.complete_follow_up(s, reload(s, world.rep_b), later.id)


def test_follow_ups_of_deleted_customers_disappear(db, world, customer_id):
    from core.services.customers import delete_customer

    with db.session() as s:
        svc.add_follow_up(s, reload(s, world.rep_a), customer_id, datetime(2030, 1, 1), "x")
        delete_customer(s, reload(s, world.rep_a), customer_id)
    with db.reader() as s:
        assert svc.open_follow_ups(s, reload(s, world.rep_a)) == []
