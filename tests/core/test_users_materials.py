from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from core.db import utcnow
from core.errors import AccessDenied, Duplicate, Invalid, NotFound
from core.models import Material, User
from core.services import materials, users
from core.services.material_search import search_materials
from tests.conftest import reload

MATERIALS = Path(__file__).resolve().parents[2] / "materials"


def test_invite_creates_user_once_and_binds(db, world):
    with db.session() as s:
        code = users.create_invite(s, reload(s, world.manager_1), world.org.id, role="rep", team="一组").code
    with db.session() as s:
        u = users.redeem_invite(s, code, "telegram", "1001", display_name="新人")
        assert (u.role, u.team.name, u.name) == ("rep", "一组", "新人")
    with db.session() as s:  # the same /start delivered twice
        assert users.redeem_invite(s, code, "telegram", "1001").id == u.id
        assert users.identity_user(s, "telegram", "1001").id == u.id
    with pytest.raises(Invalid) as exc, db.session() as s:
        users.redeem_invite(s, code, "telegram", "2002")
    assert exc.value.params["reason"] == "used"


def test_invite_for_existing_user_binds_that_user(db, world):
    with db.session() as s:
        code = users.create_invite(s, reload(s, world.admin), world.org.id, user=reload(s, world.rep_a)).code
        assert users.redeem_invite(s, code, "wecom", "zhangsan").id == world.rep_a.id


def test_invite_expiry_unknown_code_and_permissions(db, world):
    with db.session() as s:
        code = users.create_invite(s, reload(s, world.admin), world.org.id).code
    with pytest.raises(Invalid) as exc, db.session() as s:
        users.redeem_invite(s, code, "telegram", "1", now=utcnow() + timedelta(days=8))
    assert exc.value.params["reason"] == "expired"
    with pytest.raises(NotFound), db.session() as s:
        users.redeem_invite(s, "nope", "telegram", "1")
    with pytest.raises(AccessDenied), db.session() as s:
        users.create_invite(s, reload(s, world.rep_a), world.org.id)
    with pytest.raises(AccessDenied), db.session() as s:
        users.create_invite(s, reload(s, world.manager_1), world.org.id, role="admin")


def test_a_chat_account_binds_to_one_user(db, world):
    with db.session() as s:
        users.bind_identity(s, reload(s, world.rep_a), "telegram", "77")
        with pytest.raises(Duplicate):
            users.bind_identity(s, reload(s, world.rep_b), "telegram", "77")


def test_add_user_validation(db, world):
    with db.session() as s:
        with pytest.raises(Duplicate):
            users.add_user(s, world.org.id, "rep_a")
        with pytest.raises(Invalid):
            users.add_user(s, world.org.id, "x", role="boss")
        with pytest.raises(Invalid):
            users.add_user(s, world.org.id, "y", timezone="Mars/Olympus")
        with pytest.raises(Invalid):
            users.update_profile(s, reload(s, world.rep_a), locale="fr")
        assert users.update_profile(s, reload(s, world.rep_a), locale="en").locale == "en"


def test_sync_shipped_materials_then_changes_keep_file_id_cache(db, world, tmp_path):
    folder = tmp_path / "lib"
    folder.mkdir()
    catalog = yaml.safe_load((MATERIALS / "catalog.yaml").read_text(encoding="utf-8"))
    for item in catalog["materials"]:
        (folder / item["file"]).write_bytes((MATERIALS / item["file"]).read_bytes())
    (folder / "catalog.yaml").write_text(yaml.safe_dump(catalog, allow_unicode=True), encoding="utf-8")
    (folder / "README.md").write_text("not material")
    with db.session() as s:
        report = materials.sync_materials(s, world.org.id, folder)
        assert len(report.added) == len(catalog["materials"]) and "README.md" not in report.added
        price = s.query(Material).filter_by(key="price_sheet.pdf").one()
        photo = s.query(Material).filter_by(key="product_photo.png").one()
        materials.cache_file_id(s, price.id, "telegram", "TG-PRICE")
        materials.cache_file_id(s, photo.id, "telegram", "TG-PHOTO")
    (folder / "product_photo.png").write_bytes(b"a new picture")
    with db.session() as s:
        report = materials.sync_materials(s, world.org.id, folder)
        assert report.changed == ["product_photo.png"] and "price_sheet.pdf" in report.unchanged
        assert s.query(Material).filter_by(key="price_sheet.pdf").one().file_ids == {"telegram": "TG-PRICE"}
        assert s.query(Material).filter_by(key="product_photo.png").one().file_ids == {}


def test_search_materials_chinese_pinyin_english_category_node(db, world):
    with db.session() as s:
        materials.sync_materials(s, world.org.id, MATERIALS)
    with db.reader() as s:
        a = reload(s, world.rep_a)
        titles = lambda ms: [m.key for m in ms]  # noqa: E731
        assert "price_sheet.pdf" in titles(search_materials(s, a, "价格"))
        assert "price_sheet.pdf" in titles(search_materials(s, a, "jiage"))
        assert "price_sheet.pdf" in titles(search_materials(s, a, "price"))
        assert titles(search_materials(s, a, node_key="test_drive"))[0] == "test_drive_checklist.pdf"
        by_cat = search_materials(s, a, category="价格")
        assert by_cat and all(m.category == "价格" for m in by_cat)
        assert search_materials(s, a, "完全不存在的词") == []
        assert "价格" in materials.list_categories(s, a)


def test_material_use_checks_customer_visibility(db, world):
    from core.services.customers import create_customer

    with db.session() as s:
        materials.sync_materials(s, world.org.id, MATERIALS)
        c = create_customer(s, reload(s, world.rep_a), "资料客户")
        mid = s.query(Material).first().id
        use = materials.record_material_use(s, reload(s, world.rep_a), mid, customer_id=c.id, node_key="quote")
        assert use.id
        with pytest.raises(AccessDenied):
            materials.record_material_use(s, reload(s, world.rep_b), mid, customer_id=c.id)
