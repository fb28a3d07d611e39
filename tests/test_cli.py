"""The `mammoth` command line: happy paths and every error path named in the issue. In-process
through typer's runner (fast), plus one real subprocess for the console script itself."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from bot.cli import app
from core.settings import get_settings

runner = CliRunner()


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("MAMMOTH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.setenv("MAMMOTH_DEFAULT_LOCALE", "en")
    get_settings.cache_clear()

    def run(*args, ok=True):
        result = runner.invoke(app, [str(a) for a in args])
        if ok:
            assert result.exit_code == 0, result.output
        return result

    yield run
    get_settings.cache_clear()


@pytest.fixture
def demo_cli(cli):
    cli("demo", "--customers", 20, "--seed", 3, "--anchor", "2026-06-01")
    return cli


def test_every_command_has_help(cli):
    for args in (["--help"], ["init", "--help"], ["demo", "--help"], ["users", "add", "--help"],
                 ["users", "list", "--help"], ["users", "invite", "--help"], ["customers", "import", "--help"],
                 ["customers", "export", "--help"], ["playbooks", "import", "--help"],
                 ["playbooks", "list", "--help"], ["materials", "sync", "--help"], ["timeline", "--help"]):
        assert "Usage" in cli(*args).output


def test_demo_users_and_customers_json(demo_cli):
    users = json.loads(demo_cli("users", "list", "--json").output)
    roles = [u["role"] for u in users]
    assert roles.count("rep") == 6 and roles.count("manager") == 2 and roles.count("admin") == 1
    assert {u["team"] for u in users if u["role"] == "rep"} == {"汽车销售一组", "大客户二组"}
    assert all(set(u) >= {"login", "role", "team"} for u in users)
    customers = json.loads(demo_cli("customers", "export", "--format", "json").output)
    assert len(customers) == 20 and all(set(c) >= {"id", "name", "owner"} for c in customers)
    mine = json.loads(demo_cli("customers", "export", "--format", "json", "--as", "zhangwei").output)
    assert 0 < len(mine) < 20 and {c["owner"] for c in mine} == {"zhangwei"}


def test_demo_twice_refused_unless_if_absent(demo_cli):
    assert demo_cli("demo", ok=False).exit_code == 1
    assert "already" in demo_cli("demo", "--if-absent").output


def test_unknown_user_and_customer(demo_cli):
    r = demo_cli("timeline", "1", "--as", "nobody", ok=False)
    assert r.exit_code == 1 and 'No user "nobody"' in r.output
    r = demo_cli("timeline", "不存在的客户", "--as", "admin", ok=False)
    assert r.exit_code == 1 and "No customer matches" in r.output
    rows = json.loads(demo_cli("timeline", "1", "--as", "admin", "--json").output)
    assert rows and rows[0]["customer_id"] == 1


def test_timeline_of_someone_elses_customer_is_refused(demo_cli):
    customers = json.loads(demo_cli("customers", "export", "--format", "json").output)
    other = next(c for c in customers if c["owner"] != "zhangwei")
    r = demo_cli("timeline", other["id"], "--as", "zhangwei", ok=False)
    assert r.exit_code == 1 and "not visible to you" in r.output


def test_customers_import_all_or_none(demo_cli, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("name,owner\n新客户甲,zhangwei\n新客户乙,ghost\n", encoding="utf-8")
    r = demo_cli("customers", "import", bad, ok=False)
    assert r.exit_code == 1 and "Line 3" in r.output
    assert "新客户甲" not in demo_cli("customers", "export").output
    good = tmp_path / "good.csv"
    good.write_text("\ufeffname,owner\n新客户甲,zhangwei\n", encoding="utf-8")
    assert "imported 1" in demo_cli("customers", "import", good).output
    r = demo_cli("customers", "import", good, ok=False)
    assert r.exit_code == 1 and "already exists" in r.output


def test_playbook_import_missing_field(cli, tmp_path):
    cli("init", "--org", "测试")
    bad = tmp_path / "pb.yaml"
    bad.write_text("key: x\nname: X\nnodes:\n  - key: a\n", encoding="utf-8")
    r = cli("playbooks", "import", bad, ok=False)
    assert r.exit_code == 1 and '"title"' in r.output and "Node 1" in r.output
    bad.write_text("key: x\nnodes: [{key: a, title: A}]\n", encoding="utf-8")
    assert '"name"' in cli("playbooks", "import", bad, ok=False).output
    good = tmp_path / "ok.yaml"
    good.write_text("key: mini\nname: 迷你\nnodes: [{key: a, title: 甲}, {key: b, title: 乙}]\n", encoding="utf-8")
    cli("playbooks", "import", good)
    keys = [p["key"] for p in json.loads(cli("playbooks", "list", "--json").output)]
    assert keys == ["b2b", "car_dealer", "mini"]


def test_users_add_invite_and_errors(cli):
    cli("init", "--org", "测试")
    cli("users", "add", "xiaoming", "--name", "小明", "--team", "一组")
    assert cli("users", "add", "xiaoming", ok=False).exit_code == 1
    assert "role" in cli("users", "add", "bad", "--role", "boss", ok=False).output
    invite = json.loads(cli("users", "invite", "--role", "rep", "--team", "一组", "--json").output)[0]
    assert len(invite["code"]) >= 10
    r = cli("users", "invite", "--as", "xiaoming", ok=False)
    assert r.exit_code == 1 and "invite" in r.output.lower()


def test_materials_sync_and_missing_folder(demo_cli, tmp_path):
    assert "unchanged" in demo_cli("materials", "sync", Path(__file__).resolve().parents[1] / "materials").output
    assert demo_cli("materials", "sync", tmp_path / "nope", ok=False).exit_code == 1


def test_console_script_runs_as_a_process(tmp_path):
    env = {**os.environ, "MAMMOTH_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}", "MAMMOTH_DEFAULT_LOCALE": "zh"}
    r = subprocess.run([sys.executable, "-m", "bot", "init", "--org", "进程测试"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([sys.executable, "-m", "bot", "timeline", "1", "--as", "ghost"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "没有找到用户「ghost」" in r.stderr


def test_model_score_all_uses_the_shipped_model_and_train_refuses_too_little_data(demo_cli, tmp_path, monkeypatch):
    monkeypatch.setenv("MAMMOTH_MODEL_DIR", str(tmp_path / "models"))
    get_settings.cache_clear()
    scored = demo_cli("model", "score", "--all").output
    assert "scored" in scored and "with default" in scored
    r = demo_cli("model", "train", "--from-db", ok=False)
    assert r.exit_code == 1 and "kept the current model" in r.output


def test_model_list_and_activate_roll_back_and_rescore(demo_cli, tmp_path, monkeypatch):
    import shutil

    from ml import jobs

    registry = tmp_path / "models"
    monkeypatch.setenv("MAMMOTH_MODEL_DIR", str(registry))
    get_settings.cache_clear()
    for name in ("lstm-older", "lstm-newer"):  # two registered versions: copies of the shipped model
        shutil.copytree(jobs.SHIPPED, registry / "versions" / name)
        manifest = registry / "versions" / name / "manifest.json"
        data = json.loads(manifest.read_text())
        data.update(version=name, created_at=f"2026-0{1 if name == 'lstm-older' else 2}-01T00:00:00+00:00")
        manifest.write_text(json.dumps(data))
    (registry / "ACTIVE").write_text("lstm-newer")
    listed = json.loads(demo_cli("model", "list", "--json").output)
    assert [(v["version"], v["active"]) for v in listed] == [
        ("lstm-older", False), ("lstm-newer", True), ("shipped", False)]

    r = demo_cli("model", "activate", "lstm-older")
    assert "active model: lstm-older" in r.output and "scored" in r.output and "with lstm-older" in r.output
    assert (registry / "ACTIVE").read_text() == "lstm-older"
    table = demo_cli("model", "list").output
    assert "lstm-older" in table and "✓" in table

    r = demo_cli("model", "activate", "lstm-missing", ok=False)
    assert r.exit_code == 1 and "no model version 'lstm-missing'" in r.output and "lstm-newer" in r.output
    demo_cli("model", "activate", "shipped", "--no-rescore")
    assert not (registry / "ACTIVE").exists()
    assert json.loads(demo_cli("model", "list", "--json").output)[-1]["active"] is True
