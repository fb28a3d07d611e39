"""Scripted conversations through Telegram: the real python-telegram-bot polls the fake Bot API,
the full stack (router, handlers, services, SQLite with demo data) answers. One long script per
language, so each covers every handler with its buttons the way a rep would use them."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.texts import LANGUAGES, t
from core.db import utcnow
from core.models import Activity, Customer, CustomerProgress, FollowUp, MasterOrder, SubOrder, User
from core.services.activities import add_follow_up
from core.services.users import get_user
from tests.e2e.conftest import activity_count


def head(locale: str, key: str) -> str:
    """The fixed start of a text template (before its first placeholder)."""
    return LANGUAGES[locale][key].split("{")[0].strip()


def said(replies: list[str], locale: str, key: str) -> bool:
    return any(head(locale, key) in r for r in replies)


def busiest_active_customer(db, login: str) -> tuple[int, str]:
    """The user's active customer with the longest timeline (so the timeline has pages)."""
    with db.reader() as s:
        owner = s.scalar(select(User.id).where(User.login == login))
        row = s.execute(
            select(Customer.id, Customer.name).join(Activity, Activity.customer_id == Customer.id)
            .join(CustomerProgress, CustomerProgress.customer_id == Customer.id)
            .where(Customer.owner_id == owner, Customer.active.is_(True), CustomerProgress.current_node_key.is_not(None))
            .group_by(Customer.id).order_by(func.count(Activity.id).desc())).first()
        return row.id, row.name


def overdue_follow_ups(db, login: str, customer_id: int, n: int) -> None:
    with db.session() as s:
        user = get_user(s, login)
        for i in range(n):
            add_follow_up(s, user, customer_id, utcnow() - timedelta(hours=2 + i), note=f"回访{i + 1}")


def last_call(fake, chat: int, method: str):
    return [c for c in fake.sent(chat) if c.method == method][-1]


def uploaded(fake, chat: int) -> bytes:
    """The bytes of the last document the bot uploaded to this chat."""
    doc = last_call(fake, chat, "sendDocument").result["document"]
    return fake.files[doc["file_id"]]["data"]


async def test_rep_in_chinese_every_handler(tg, demo_db):
    fake = tg.fake
    cid, name = busiest_active_customer(demo_db, "zhangwei")
    me = await tg.bind(7101, "zhangwei")
    assert said(fake.texts(7101), "zh", "bind.done") and any("张伟" in x for x in fake.texts(7101))

    assert said(await me.say("/help"), "zh", "help.head")

    # /find → tap a result → the customer card
    found = await me.say(f"/find {name[:2]}")
    assert said(found, "zh", "find.head") and any(name in r for r in found)
    card = await me.press(name)
    assert any(name in r and f"#{cid}" in r for r in card)

    # /c → card buttons: timeline (new message), next page (edited in place), back to the card
    card = await me.say(f"/c {name}")
    assert t("zh", "btn.timeline") in me.buttons()
    timeline = await me.press(t("zh", "btn.timeline"), exact=True)
    assert said(timeline, "zh", "timeline.head")
    timeline_msg = last_call(fake, 7101, "sendMessage").result["message_id"]
    assert t("zh", "btn.next") in me.buttons()  # the busiest customer has more than one page
    page2 = await me.press(t("zh", "btn.next"), exact=True)
    edit = last_call(fake, 7101, "editMessageText")
    assert edit.params["message_id"] == timeline_msg and "2/" in page2[0]
    await me.press(t("zh", "btn.prev"), exact=True)
    assert last_call(fake, 7101, "editMessageText").params["message_id"] == timeline_msg
    messages_before = len(fake.sent(7101, ("sendMessage",)))
    await me.press(t("zh", "btn.next"), exact=True)
    assert len(fake.sent(7101, ("sendMessage",))) == messages_before  # paging adds no message

    # /log with buttons, a photo on the way, then save; /undo takes it back
    before = activity_count(demo_db, customer_id=cid)
    assert said(await me.say("/log"), "zh", "log.ask_type")
    assert said(await me.press(t("zh", "type.visit"), exact=True), "zh", "log.ask_customer")
    assert said(await me.say(name), "zh", "log.ask_content")
    photo = await me.say(photo=True, caption="")
    assert said(photo, "zh", "log.attachment_added")
    await me.say("到店看了 M5,对价格比较满意,约了周末试驾")
    assert said(await me.press(t("zh", "btn.fu_3days"), exact=True), "zh", "log.draft_head")
    saved = await me.press(t("zh", "btn.save"), exact=True)
    assert said(saved, "zh", "log.saved") and said(saved, "zh", "log.saved_follow")
    assert activity_count(demo_db, customer_id=cid) == before + 1
    with demo_db.reader() as s:
        activity = s.scalars(select(Activity).where(Activity.customer_id == cid).order_by(Activity.id.desc())).first()
        assert activity.type == "visit" and "试驾" in activity.content
        assert activity.attachments and activity.attachments[0]["kind"] == "photo"
        assert activity.attachments[0]["file_id"].startswith("FILE")
    assert said(await me.say("/undo"), "zh", "undo.done")
    assert activity_count(demo_db, customer_id=cid) == before

    # a one-message note → offered as a log → the dialog asks only for what is missing
    note = await me.say(f"今天给{name}打了电话,聊了报价,下周三再跟进")
    if t("zh", "btn.log_this") in me.buttons():  # offered first, or straight to the draft
        note = await me.press(t("zh", "btn.log_this"), exact=True)
    assert said(note, "zh", "log.draft_head") and any(name in r and "报价" in r for r in note)
    assert said(await me.press(t("zh", "btn.cancel"), exact=True), "zh", "cancel.done")

    # /node: done with an outcome note → the next node, its 话术 and material offers
    with demo_db.reader() as s:
        node_before = s.scalar(select(CustomerProgress.current_node_key).where(CustomerProgress.customer_id == cid))
    board = await me.say(f"/node {name}")
    assert any("▶" in r for r in board)
    assert said(await me.press(t("zh", "btn.node_done"), exact=True), "zh", "node.ask_note.done")
    finished = await me.say("客户认可,进入下一步")
    assert said(finished, "zh", "node.finished.done")
    with demo_db.reader() as s:
        assert s.scalar(select(CustomerProgress.current_node_key)
                        .where(CustomerProgress.customer_id == cid)) != node_before

    # /m → tap → the file is uploaded once; the second tap re-sends it by its Telegram file id
    listing = await me.say("/m 价格")
    assert said(listing, "zh", "m.head")
    uploads_before = fake.count("sendDocument")
    await me.press("价格表")
    first = last_call(fake, 7101, "sendDocument")
    assert fake.count("sendDocument") == uploads_before + 1
    assert "document" not in first.params  # a multipart upload, not an id
    file_id = first.result["document"]["file_id"]
    await me.say("/m 价格")
    await me.press("价格表")
    second = last_call(fake, 7101, "sendDocument")
    assert second is not first and second.params["document"] == file_id

    # /order: new master (product → quantity → price), then a sub-order showing what remains
    orders = await me.say(f"/order {name}")
    assert said(orders, "zh", "order.head")
    assert said(await me.press(t("zh", "btn.new_master"), exact=True), "zh", "order.ask_product")
    await me.say("猛犸 M5 团购")
    await me.say("10")
    created = await me.say("189000")
    assert said(created, "zh", "order.master_created")
    sub = await me.press(head("zh", "btn.new_sub"))
    assert said(sub, "zh", "order.ask_sub_quantity")
    assert said(await me.say("4"), "zh", "order.sub_created")
    with demo_db.reader() as s:
        master = s.scalars(select(MasterOrder).where(MasterOrder.customer_id == cid)
                           .order_by(MasterOrder.id.desc())).first()
        assert master.product == "猛犸 M5 团购" and int(master.allocated_quantity) == 4
        assert s.scalar(select(func.count(SubOrder.id)).where(SubOrder.master_id == master.id)) == 1
    too_many = await me.press(head("zh", "btn.new_sub"))
    assert too_many
    over = await me.say("7")
    assert said(over, "zh", "error.exceeds_remaining")
    await me.say("/cancel")

    # /today: done and snooze edit the list in place
    overdue_follow_ups(demo_db, "zhangwei", cid, 2)
    today = await me.say("/today")
    assert said(today, "zh", "today.head")
    today_msg = last_call(fake, 7101, "sendMessage").result["message_id"]
    done = await me.press("✔ 1", exact=True)
    assert said(done, "zh", "today.done")
    assert last_call(fake, 7101, "editMessageText").params["message_id"] == today_msg
    snoozed = await me.press(t("zh", "btn.snooze", days=1, i=1), exact=True)
    assert said(snoozed, "zh", "today.snoozed")
    with demo_db.reader() as s:
        assert s.scalar(select(func.count(FollowUp.id)).where(FollowUp.customer_id == cid,
                                                             FollowUp.status == "done")) >= 1

    # /export → a CSV file, /export json → JSON
    assert said(await me.say("/export"), "zh", "export.done.csv")
    assert name.encode() in uploaded(fake, 7101)
    assert last_call(fake, 7101, "sendDocument").result["document"]["file_name"].endswith(".csv")
    await me.say("/export json")
    assert last_call(fake, 7101, "sendDocument").result["document"]["file_name"].endswith(".json")

    # every button press was answered (the spinner stops)
    presses = [u["callback_query"]["id"] for u in fake.all_updates() if "callback_query" in u]
    assert presses and set(presses) <= fake.callbacks_answered


async def test_manager_in_english(tg, demo_db):
    fake = tg.fake
    boss = await tg.bind(7201, "wangqiang")  # manager of the car team
    choose = await boss.say("/lang")
    assert said(choose, "zh", "lang.choose")
    assert said(await boss.press("English", exact=True), "en", "lang.set")
    assert said(await boss.say("/help"), "en", "help.head")
    assert said(await boss.say("/lang zh"), "zh", "lang.set")
    assert said(await boss.say("/lang en"), "en", "lang.set")

    team = await boss.say("/team")
    assert said(team, "en", "team.head") and any("张伟" in r for r in team)

    # a rep's customer, seen by the manager; timeline; key steps
    cid, name = busiest_active_customer(demo_db, "zhangwei")
    card = await boss.say(f"/c {name}")
    assert any(f"#{cid}" in r for r in card)
    assert said(await boss.press(t("en", "btn.timeline"), exact=True), "en", "timeline.head")
    await boss.press(t("en", "btn.back_to_card"), exact=True)
    board = await boss.press(t("en", "btn.node"), exact=True)
    assert any("▶" in r for r in board) and t("en", "btn.node_skip") in boss.buttons()
    assert said(await boss.press(t("en", "btn.node_skip"), exact=True), "en", "node.ask_note.skipped")
    assert said(await boss.press(t("en", "btn.no_note"), exact=True), "en", "node.finished.skipped")

    # /new: the dialog asks for the contact; skip it
    assert said(await boss.say("/new Globex Trading"), "en", "new.ask_contact")
    created = await boss.press(t("en", "btn.skip"), exact=True)
    assert said(created, "en", "new.created")
    with demo_db.reader() as s:
        new_id = s.scalar(select(Customer.id).where(Customer.name == "Globex Trading"))
    assert new_id

    # /log from the new customer's card, typed answers in English
    await boss.press(t("en", "btn.log"), exact=True)
    assert said(await boss.press(t("en", "type.call"), exact=True), "en", "log.ask_content")
    await boss.say("Called the buyer, they want a quote for 20 units")
    await boss.press(t("en", "btn.fu_none"), exact=True)
    with_file = await boss.say(document=("requirements.docx", b"PK fake docx"), caption="")
    assert said(with_file, "en", "log.attachment_added") and said(with_file, "en", "log.draft_head")
    saved = await boss.press(t("en", "btn.save"), exact=True)
    assert said(saved, "en", "log.saved")
    assert activity_count(demo_db, customer_id=new_id) == 1
    with demo_db.reader() as s:
        [attachment] = s.scalar(select(Activity.attachments).where(Activity.customer_id == new_id))
        assert attachment["kind"] == "file" and attachment["name"] == "requirements.docx"
    # pressing Save again on the same card does not log twice
    again = await boss.press(t("en", "btn.save"), exact=True)
    assert again and activity_count(demo_db, customer_id=new_id) == 1

    # material by category with a file; /m without words shows category buttons
    assert said(await boss.say("/m"), "en", "m.usage")
    assert said(await boss.press("价格", exact=True), "en", "m.head")
    await boss.press("价格表")
    assert last_call(fake, 7201, "sendDocument").result["document"]["file_name"].endswith(".pdf")

    # an image material goes out as a photo, the second time by its cached id
    assert said(await boss.say("/m photo"), "en", "m.head")
    await boss.press("M5")
    first = last_call(fake, 7201, "sendPhoto")
    assert "photo" not in first.params  # uploaded
    await boss.say("/m photo")
    await boss.press("M5")
    assert last_call(fake, 7201, "sendPhoto").params["photo"] == first.result["photo"][-1]["file_id"]

    # orders list in English, /today (nothing due), /undo, /export json
    assert said(await boss.say(f"/order {name}"), "en", "order.head")
    today = await boss.say("/today")
    assert said(today, "en", "today.none") or said(today, "en", "today.head")
    assert said(await boss.say("/undo"), "en", "undo.done")
    assert said(await boss.say("/export json"), "en", "export.done.json")
    assert b"Globex Trading" in uploaded(fake, 7201) or b"customers" in uploaded(fake, 7201)
    assert said(await boss.say("/nonsense"), "en", "unknown_command")
