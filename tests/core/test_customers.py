import pytest

from core.errors import AccessDenied, Ambiguous, Duplicate, Invalid, NotFound
from core.models import AuditLog, Customer, CustomerProgress
from core.services import customers as svc
from tests.conftest import reload


def test_create_customer_starts_team_playbook_and_audits(db, world):
    with db.session() as s:
        a = reload(s, world.rep_a)
        c = svc.create_customer(s, a, "华为技术", aliases="华为,HW", industry="IT",
                                contact={"name": "张总", "title": "CTO"})
        cid = c.id
    with db.reader() as s:
        c = s.get(Customer, cid)
        assert c.owner_id == world.rep_a.id and c.status == "lead" and c.aliases == ["华为", "HW"]
        assert [k.name for k in c.contacts] == ["张总"]
        progress = s.query(CustomerProgress).filter_by(customer_id=cid).one()
        assert progress.current_node_key == "answer_call"  # team 一组 runs the car dealer playbook
        audit = s.query(AuditLog).filter_by(entity="customers", entity_id=cid).one()
        assert audit.action == "create" and audit.actor_id == world.rep_a.id


def test_duplicate_name_refused_even_with_spaces_and_case(db, world):
    with db.session() as s:
        svc.create_customer(s, reload(s, world.rep_a), "Acme Trading")
    with pytest.raises(Duplicate) as exc, db.session() as s:
        svc.create_customer(s, reload(s, world.rep_b), " acme  trading ")
    assert exc.value.params["existing_id"] == 1


def test_empty_name_and_bad_status_refused(db, world):
    with db.session() as s:
        a = reload(s, world.rep_a)
        with pytest.raises(Invalid):
            svc.create_customer(s, a, "   ")
        with pytest.raises(Invalid):
            svc.create_customer(s, a, "X", status="maybe")


@pytest.mark.parametrize("query", ["华为", "huawei", "HuaWei", "hw", "hwjs", "weiji", "华为技", "HW"])
def test_fuzzy_find_by_name_pinyin_initials_alias(db, world, query):
    with db.session() as s:
        a = reload(s, world.rep_a)
        svc.create_customer(s, a, "华为技术", aliases=["HW"])
        svc.create_customer(s, a, "小米科技")
    with db.reader() as s:
        names = [c.name for c in svc.find_customers(s, reload(s, world.rep_a), query)]
    assert names and names[0] == "华为技术"
    assert "小米科技" not in names


def test_find_ties_go_to_the_customer_created_first_and_stop_at_the_limit(db, world):
    """Equal matched text: the customer created first (the index order, on SQLite and PostgreSQL
    alike); kinds of match still rank first, and a limit below the matches is honoured."""
    with db.session() as s:
        a = reload(s, world.rep_a)
        for name in ("丙科技有限公司", "甲科技有限公司", "乙科技有限公司", "科技有限公司"):
            svc.create_customer(s, a, name)
        svc.create_customer(s, reload(s, world.rep_b), "丁科技有限公司")  # not rep_a's
    with db.reader() as s:
        rep = reload(s, world.rep_a)
        names = [c.name for c in svc.find_customers(s, rep, "科技有限")]
        assert names == ["科技有限公司", "丙科技有限公司", "甲科技有限公司", "乙科技有限公司"]
        assert [c.name for c in svc.find_customers(s, rep, "科技有限", limit=2)] == names[:2]
        admin = [c.name for c in svc.find_customers(s, reload(s, world.admin), "科技有限")]
        assert admin == names + ["丁科技有限公司"]


def test_find_ranks_exact_before_substring_and_respects_visibility(db, world):
    with db.session() as s:
        a, b = reload(s, world.rep_a), reload(s, world.rep_b)
        svc.create_customer(s, a, "张三汽车服务")
        svc.create_customer(s, a, "张三")
        svc.create_customer(s, b, "张三丰")  # rep_b's: invisible to rep_a
    with db.reader() as s:
        names = [c.name for c in svc.find_customers(s, reload(s, world.rep_a), "张三")]
        assert names == ["张三", "张三汽车服务"]
        names_mgr = [c.name for c in svc.find_customers(s, reload(s, world.manager_1), "zhangsan")]
        assert set(names_mgr) == {"张三", "张三汽车服务", "张三丰"}


def test_resolve_customer_exact_id_and_ambiguous(db, world):
    with db.session() as s:
        a = reload(s, world.rep_a)
        c1 = svc.create_customer(s, a, "恒通物流")
        svc.create_customer(s, a, "恒通科技")
    with db.reader() as s:
        a = reload(s, world.rep_a)
        assert svc.resolve_customer(s, a, f"#{c1.id}").id == c1.id
        assert svc.resolve_customer(s, a, "恒通物流").id == c1.id
        with pytest.raises(Ambiguous) as exc:
            svc.resolve_customer(s, a, "恒通")
        assert len(exc.value.params["candidates"]) == 2
        with pytest.raises(NotFound):
            svc.resolve_customer(s, a, "不存在的公司")


def test_update_reindexes_search_terms_and_checks_duplicates(db, world):
    with db.session() as s:
        a = reload(s, world.rep_a)
        c = svc.create_customer(s, a, "旧名字")
        svc.create_customer(s, a, "别的客户")
        svc.update_customer(s, a, c.id, name="新名字", aliases="xm")
        with pytest.raises(Duplicate):
            svc.update_customer(s, a, c.id, name="别的客户")
    with db.reader() as s:
        assert [x.name for x in svc.find_customers(s, reload(s, world.rep_a), "xinmingzi")] == ["新名字"]
        assert svc.find_customers(s, reload(s, world.rep_a), "jiu") == []


def test_soft_delete_hides_but_keeps_row(db, world):
    with db.session() as s:
        c = svc.create_customer(s, reload(s, world.rep_a), "要删除的")
        svc.delete_customer(s, reload(s, world.rep_a), c.id)
    with db.reader() as s:
        assert s.get(Customer, c.id).active is False
        assert svc.find_customers(s, reload(s, world.rep_a), "要删除") == []
        with pytest.raises(NotFound):
            svc.resolve_customer(s, reload(s, world.rep_a), c.id)
        assert s.query(AuditLog).filter_by(entity="customers", entity_id=c.id, action="delete").count() == 1


def test_share_gives_read_and_log_but_not_manage(db, world):
    from core.services.activities import log_activity

    with db.session() as s:
        c = svc.create_customer(s, reload(s, world.rep_a), "共享客户")
        svc.share_customer(s, reload(s, world.rep_a), c.id, reload(s, world.rep_c))
    with db.session() as s:
        c_user = reload(s, world.rep_c)
        assert [x.id for x in svc.find_customers(s, c_user, "共享")] == [c.id]
        log_activity(s, c_user, c.id, "call", "帮忙打了电话")
        with pytest.raises(AccessDenied):
            svc.delete_customer(s, c_user, c.id)
    with db.session() as s:
        svc.unshare_customer(s, reload(s, world.rep_a), c.id, reload(s, world.rep_c))
    with db.reader() as s:
        assert svc.find_customers(s, reload(s, world.rep_c), "共享") == []


def test_rep_cannot_create_for_someone_else(db, world):
    with pytest.raises(AccessDenied), db.session() as s:
        svc.create_customer(s, reload(s, world.rep_a), "X", owner=reload(s, world.rep_b))


CSV_OK = "name,aliases,industry,owner,contact_name,contact_phone\n甲公司,甲,IT,rep_a,王总,138\n乙公司,,制造,rep_b,,\n"


def test_import_csv_creates_all_rows(db, world):
    with db.session() as s:
        created = svc.import_customers_csv(s, reload(s, world.admin), CSV_OK)
    assert [c.name for c in created] == ["甲公司", "乙公司"]
    with db.reader() as s:
        rows = {c.name: c for c in s.query(Customer)}
        assert rows["乙公司"].owner_id == world.rep_b.id and rows["甲公司"].contacts[0].phone == "138"


@pytest.mark.parametrize("text,line,error", [
    ("name,owner\n甲公司,rep_a\n,rep_a\n", 3, Invalid),
    ("name,owner\n甲公司,rep_a\n乙公司,nobody\n", 3, Invalid),
    ("name\n甲公司\n乙公司\n甲公司\n", 4, Duplicate),
    ("name,status\n甲公司,won\n乙公司,maybe\n", 3, Invalid),
])
def test_import_csv_all_or_nothing_names_the_line(db, world, text, line, error):
    with pytest.raises(error) as exc, db.session() as s:
        svc.import_customers_csv(s, reload(s, world.admin), text)
    assert exc.value.params["line"] == line
    with db.reader() as s:
        assert s.query(Customer).count() == 0


def test_import_csv_needs_name_column(db, world):
    with pytest.raises(Invalid), db.session() as s:
        svc.import_customers_csv(s, reload(s, world.admin), "title,owner\nx,y\n")
