"""总单-分单: master orders and the sub-orders drawn from them."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.errors import ExceedsRemaining, Invalid, NotFound
from core.models import MasterOrder, SubOrder, User
from core.services.access import acting, get_customer

CURRENCIES = ("CNY", "USD", "EUR", "HKD", "JPY", "GBP")


def _positive(value, field: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise Invalid(f"{field} is not a number: {value}", field=field, value=value) from None
    if number <= 0:
        raise Invalid(f"{field} must be positive", field=field, value=value)
    return number


def create_master_order(s: Session, actor: User, customer_id: int, product: str, total_quantity,
                        unit_price, currency: str = "CNY", note: str = "") -> MasterOrder:
    acting(s, actor)
    customer = get_customer(s, actor, customer_id)
    if not (product or "").strip():
        raise Invalid("product is empty", field="product")
    currency = (currency or "CNY").upper()
    if currency not in CURRENCIES:
        raise Invalid(f"unknown currency {currency}", field="currency", value=currency, allowed=CURRENCIES)
    price = Decimal(str(unit_price)) if unit_price not in (None, "") else None
    if price is None or price < 0:
        raise Invalid("unit price must be zero or more", field="unit_price", value=unit_price)
    order = MasterOrder(customer_id=customer.id, product=product.strip(),
                        total_quantity=_positive(total_quantity, "total_quantity"),
                        allocated_quantity=Decimal(0), unit_price=price, currency=currency,
                        note=note, created_by=actor.id)
    s.add(order)
    s.flush()
    return order


def get_master_order(s: Session, actor: User, master_id: int) -> MasterOrder:
    order = s.get(MasterOrder, master_id)
    if order is None:
        raise NotFound("order not found", entity="order", ref=master_id)
    get_customer(s, actor, order.customer_id)
    return order


def create_sub_order(s: Session, actor: User, master_id: int, quantity,
                     delivery_date: date | None = None) -> SubOrder:
    """Draw a batch from the master. One conditional UPDATE both checks and reserves the
    quantity, so two concurrent sub-orders can never over-draw it (on any database)."""
    acting(s, actor)
    master = get_master_order(s, actor, master_id)
    qty = _positive(quantity, "quantity")
    if master.status != "open":
        raise Invalid("this master order is closed", field="status", value=master.status)
    result = s.execute(
        update(MasterOrder)
        .where(MasterOrder.id == master.id,
               MasterOrder.allocated_quantity + qty <= MasterOrder.total_quantity)
        .values(allocated_quantity=MasterOrder.allocated_quantity + qty)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        s.refresh(master)
        raise ExceedsRemaining(
            f"only {master.remaining_quantity} left of {master.total_quantity}",
            requested=str(qty), remaining=str(master.remaining_quantity),
            total=str(master.total_quantity), product=master.product)
    sub = SubOrder(master_id=master.id, quantity=qty, delivery_date=delivery_date, created_by=actor.id)
    s.add(sub)
    s.flush()
    s.refresh(master)
    if master.remaining_quantity == 0:
        master.status = "fulfilled"
        s.flush()
    return sub


def cancel_sub_order(s: Session, actor: User, sub_id: int) -> SubOrder:
    acting(s, actor)
    sub = s.get(SubOrder, sub_id)
    if sub is None:
        raise NotFound("sub-order not found", entity="sub_order", ref=sub_id)
    master = get_master_order(s, actor, sub.master_id)
    if sub.status == "cancelled":
        return sub
    if sub.status == "delivered":
        raise Invalid("a delivered sub-order cannot be cancelled", field="status", value=sub.status)
    release_sub_order(s, sub)
    s.refresh(master)
    return sub


def release_sub_order(s: Session, sub: SubOrder) -> None:
    """Cancel a sub-order and give its quantity back to the master (also used by undo)."""
    sub.status = "cancelled"
    s.execute(update(MasterOrder).where(MasterOrder.id == sub.master_id)
              .values(allocated_quantity=MasterOrder.allocated_quantity - sub.quantity)
              .execution_options(synchronize_session=False))
    master = s.get(MasterOrder, sub.master_id)
    s.flush()
    s.refresh(master)
    if master.status == "fulfilled" and master.remaining_quantity > 0:
        master.status = "open"
    s.flush()


def mark_delivered(s: Session, actor: User, sub_id: int) -> SubOrder:
    acting(s, actor)
    sub = s.get(SubOrder, sub_id)
    if sub is None:
        raise NotFound("sub-order not found", entity="sub_order", ref=sub_id)
    get_master_order(s, actor, sub.master_id)
    if sub.status == "cancelled":
        raise Invalid("a cancelled sub-order cannot be delivered", field="status", value=sub.status)
    sub.status = "delivered"
    s.flush()
    return sub


def list_orders(s: Session, actor: User, customer_id: int) -> list[tuple[MasterOrder, list[SubOrder]]]:
    get_customer(s, actor, customer_id)
    masters = list(s.scalars(select(MasterOrder).where(MasterOrder.customer_id == customer_id)
                             .order_by(MasterOrder.id)))
    subs: dict[int, list[SubOrder]] = {m.id: [] for m in masters}
    if masters:
        for sub in s.scalars(select(SubOrder).where(SubOrder.master_id.in_(subs)).order_by(SubOrder.id)):
            subs[sub.master_id].append(sub)
    return [(m, subs[m.id]) for m in masters]
