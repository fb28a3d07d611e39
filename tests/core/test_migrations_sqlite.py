"""Migrations up and down (on PostgreSQL the session fixture runs them too), and SQLite under
two writing processes."""
import subprocess
import sys
import textwrap

import pytest
from sqlalchemy import create_engine, inspect

from core.db import Base
from core.migrate import current, downgrade, upgrade
from tests.conftest import ON_POSTGRES


def test_migrations_up_down_up_match_models(tmp_path, db_url):
    url = db_url if ON_POSTGRES else f"sqlite:///{tmp_path / 'm.db'}"
    if ON_POSTGRES:
        downgrade(url)
    upgrade(url)
    assert current(url) is not None
    engine = create_engine(url)
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in Base.metadata.sorted_tables} <= tables
    engine.dispose()
    downgrade(url)
    assert current(url) is None
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    engine.dispose()
    upgrade(url)


WRITER = textwrap.dedent("""
    import sys
    from core import audit
    from core.db import Database
    from core.models import User
    from core.services.customers import create_customer
    from core.services.activities import log_activity
    db = Database(sys.argv[1])
    tag = sys.argv[2]
    with db.session() as s:
        actor = s.get(User, 1)
        cid = create_customer(s, actor, "并发客户" + tag).id
    for i in range(60):
        with db.session() as s:
            log_activity(s, s.get(User, 1), cid, "call", f"{tag}-{i}", source=("test", f"{tag}-{i}"))
    print("ok")
""")


@pytest.mark.sqlite_only
def test_two_processes_writing_never_lock(tmp_path, db, world):
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, db.url, tag], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for tag in ("A", "B")]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (out, err) in zip(procs, outputs):
        assert proc.returncode == 0, err
        assert "database is locked" not in err
    from core.models import Activity

    with db.reader() as s:
        assert s.query(Activity).filter(Activity.source_platform == "test").count() == 120


@pytest.mark.sqlite_only
def test_sqlite_pragmas(db):
    with db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000


def test_migrated_schema_matches_the_models(tmp_path, db_url):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    url = db_url if ON_POSTGRES else f"sqlite:///{tmp_path / 'cmp.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
