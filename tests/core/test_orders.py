import threading
from datetime import date
from decimal import Decimal

import pytest

from core.db import Database
from core.errors import ExceedsRemaining, Invalid
from core.models import MasterOrder, SubOrder
from core.services import orders as svc
from core.services.customers import create_customer
from tests.conftest import ON_POSTGRES, reload


@pytest.fixture
def master_id(db, world):
    with db.session() as s:
        a = reload(s, world.rep_a)
        c = create_customer(s, a, "框架客户")
        return svc.create_master_order(s, a, c.id, "智能终端", 100, "1200.50").id


def test_sub_orders_draw_down_and_refuse_overdraw(db, world, master_id):
    with db.session() as s:
        a = reload(s, world.rep_a)
        svc.create_sub_order(s, a, master_id, 30, date(2030, 1, 1))
        svc.create_sub_order(s, a, master_id, "45.5")
        with pytest.raises(ExceedsRemaining) as exc:
            svc.create_sub_order(s, a, master_id, 25)
        assert exc.value.params["remaining"] == "24.500"
        master = svc.get_master_order(s, a, master_id)
        assert master.remaining_quantity == Decimal("24.5") and master.status == "open"
        svc.create_sub_order(s, a, master_id, "24.5")
        assert svc.get_master_order(s, a, master_id).status == "fulfilled"


def test_cancel_sub_order_gives_quantity_back(db, world, master_id):
    with db.session() as s:
        a = reload(s, world.rep_a)
        sub = svc.create_sub_order(s, a, master_id, 100)
        assert svc.get_master_order(s, a, master_id).status == "fulfilled"
        svc.cancel_sub_order(s, a, sub.id)
        master = svc.get_master_order(s, a, master_id)
        assert master.remaining_quantity == 100 and master.status == "open"
        delivered = svc.create_sub_order(s, a, master_id, 10)
        svc.mark_delivered(s, a, delivered.id)
        with pytest.raises(Invalid):
            svc.cancel_sub_order(s, a, delivered.id)


@pytest.mark.parametrize("kwargs,field", [
    ({"product": "", "total_quantity": 1, "unit_price": 1}, "product"),
    ({"product": "x", "total_quantity": 0, "unit_price": 1}, "total_quantity"),
    ({"product": "x", "total_quantity": "abc", "unit_price": 1}, "total_quantity"),
    ({"product": "x", "total_quantity": 1, "unit_price": -5}, "unit_price"),
    ({"product": "x", "total_quantity": 1, "unit_price": 1, "currency": "XYZ"}, "currency"),
])
def test_master_order_validation(db, world, master_id, kwargs, field):
    with pytest.raises(Invalid) as exc, db.session() as s:
        svc.create_master_order(s, reload(s, world.rep_a), 1, **kwargs)
    assert exc.value.params["field"] == field


def test_list_orders_groups_subs(db, world, master_id):
    with db.session() as s:
        a = reload(s, world.rep_a)
        svc.create_sub_order(s, a, master_id, 10)
        svc.create_sub_order(s, a, master_id, 20)
        [(master, subs)] = svc.list_orders(s, a, svc.get_master_order(s, a, master_id).customer_id)
        assert [x.quantity for x in subs] == [10, 20]


def test_concurrent_sub_orders_never_overdraw(db, world, master_id):
    """Eight workers, each on its own connection, race to draw 30 of 100: exactly three win.
    On PostgreSQL this is real row-level concurrency; on SQLite the write lock serialises."""
    barrier = threading.Barrier(8)
    results: list[str] = []

    def worker():
        database = Database(db.url)
        try:
            barrier.wait()
            with database.session() as s:
                svc.create_sub_order(s, reload(s, world.rep_a), master_id, 30)
            results.append("ok")
        except ExceedsRemaining:
            results.append("refused")
        finally:
            database.dispose()

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] * 3 + ["refused"] * 5
    with db.reader() as s:
        master = s.get(MasterOrder, master_id)
        drawn = sum(x.quantity for x in s.query(SubOrder).filter_by(master_id=master_id))
        assert drawn == master.allocated_quantity == 90 <= master.total_quantity
