"""Console transcripts: `mammoth chat --as LOGIN` in a subprocess with a scripted stdin, on a
demo database made by `mammoth demo --customers 40`."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from core.models import Activity, Customer, User

MAMMOTH = Path(sys.executable).with_name("mammoth")
PHOTO = Path(__file__).resolve().parents[2] / "materials" / "product_photo.png"


def _env(data_dir: Path, db_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMMOTH_")}
    env.update(MAMMOTH_DATA_DIR=str(data_dir), MAMMOTH_DATABASE_URL=f"sqlite:///{db_path}",
               PYTHONIOENCODING="utf-8")
    return env


def mammoth(args: list[str], env: dict, cwd: Path, stdin: str = "", timeout: int = 60) -> subprocess.CompletedProcess:
    command = [str(MAMMOTH)] if MAMMOTH.exists() else [sys.executable, "-m", "bot"]
    return subprocess.run(command + args, input=stdin, env=env, cwd=cwd, capture_output=True, text=True,
                          encoding="utf-8", timeout=timeout)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("console-demo")
    db_path = folder / "mammoth.db"
    result = mammoth(["demo", "--customers", "40"], _env(folder, db_path), folder)
    assert result.returncode == 0, result.stderr
    return db_path


@pytest.fixture
def console(demo_db, tmp_path):
    db_path = tmp_path / "mammoth.db"
    shutil.copy(demo_db, db_path)
    env = _env(tmp_path, db_path)

    def chat(script: list[str], login: str = "zhangwei", command: str = "chat") -> subprocess.CompletedProcess:
        args = [command, "--as", login] if login else [command]
        return mammoth(args, env, tmp_path, "\n".join(script) + "\n")

    chat.db_path = db_path
    chat.env = env
    return chat


def _session(db_path: Path) -> Session:
    return Session(create_engine(f"sqlite:///{db_path}"))


def _open_customer(db_path: Path, login: str = "zhangwei") -> Customer:
    """The login's first customer still in play (else their first customer)."""
    with _session(db_path) as s:
        owner = s.scalar(select(User).where(User.login == login))
        mine = select(Customer).where(Customer.owner_id == owner.id).order_by(Customer.id)
        return (s.scalars(mine.where(Customer.status.in_(("lead", "active")))).first()
                or s.scalars(mine).first())


def _blocks(stdout: str) -> dict[str, str]:
    """The transcript as {input line: the bot's answer}; a repeated input keeps its last answer."""
    out, current = {}, None
    for line in stdout.splitlines():
        if line.startswith("» "):
            current = line[2:]
            out[current] = ""
        elif current is not None:
            out[current] += line + "\n"
    return out


def test_scripted_rep_session(console):
    customer = _open_customer(console.db_path)
    name = customer.name
    result = console([
        "/help",
        f"/find {name}",
        "1",  # press the first button: the customer card
        f"/c {name}",
        f"/log {name}",
        "1",  # 拜访
        "到店看车,聊了配置和置换补贴",
        "明天",
        "1",  # ✅ 保存
        "/undo",
        f"/log {name}",
        "2",  # 电话
        f"photo: {PHOTO}",
        "电话确认了试驾时间",
        "3天后",
        "1",
        f"/node {name}",
        "1",  # ✔ 完成
        "客户很满意",
        "/m 报价",
        "1",  # send the first file
        "/today",
    ])
    assert result.returncode == 0, result.stderr
    out = result.stdout
    answers = _blocks(out)
    assert "/find 关键词" in answers["/help"] and "/undo" in answers["/help"]
    assert f"{name} #{customer.id}" in answers[f"/find {name}"] and "[1]" in answers[f"/find {name}"]
    card = answers[f"/c {name}"]
    assert "三一客" in card and "AI意向" in card and "[1] 🕘 时间线" in card
    assert "跟单草稿" in out and "到店看车" in out
    assert "已记录" in out and "已设置跟进提醒" in out
    assert "已撤销" in answers["/undo"] and "跟单记录×1" in answers["/undo"]
    assert "已完成" in answers["客户很满意"] or "所有节点" in answers["客户很满意"]
    assert "📎 /" in out and "materials/" in out
    assert "今日待跟进" in answers["/today"] or "今天没有待跟进" in answers["/today"]
    assert "抱歉" not in out  # no unexpected error anywhere
    with _session(console.db_path) as s:
        logged = {a.content: a.active for a in s.scalars(select(Activity).where(
            Activity.customer_id == customer.id, Activity.source_platform == "console",
            Activity.type != "node_change"))}
        attachments = s.scalar(select(Activity.attachments).where(Activity.content == "电话确认了试驾时间"))
    assert logged == {"到店看车,聊了配置和置换补贴": False, "电话确认了试驾时间": True}
    assert [(a["kind"], a["path"], a["platform"]) for a in attachments] == [("photo", str(PHOTO), "console")]
    assert "已收到附件" in answers[f"photo: {PHOTO}"]


def test_english_and_a_domain_error(console):
    result = console(["/lang en", "/help", "/c 这个客户不存在", "/team", "/find"])
    assert result.returncode == 0, result.stderr
    answers = _blocks(result.stdout)
    assert "Language set to English" in answers["/lang en"]
    assert "/find TEXT" in answers["/help"]
    assert "No customer matches" in answers["/c 这个客户不存在"]
    assert "Only managers and admins" in answers["/team"]
    assert "Usage: /find" in answers["/find"]


def test_dialog_continues_in_a_new_process(console):
    customer = _open_customer(console.db_path)
    first = console([f"/log {customer.name}", "1"])  # stops while the bot asks for the content
    assert "拜访情况" in first.stdout
    second = console(["第二个进程里接着说", "不用", "1"])
    assert second.returncode == 0, second.stderr
    assert "跟单草稿" in second.stdout and "已记录" in second.stdout
    with _session(console.db_path) as s:
        assert s.scalar(select(Activity).where(Activity.content == "第二个进程里接着说")).customer_id == customer.id


def test_manager_team_and_a_team_customer(console):
    customer = _open_customer(console.db_path, "lina")  # a rep in wangqiang's team
    result = console(["/team", f"/c #{customer.id}"], login="wangqiang")
    answers = _blocks(result.stdout)
    assert "团队概况" in answers["/team"] and "张伟" in answers["/team"] and "逾期" in answers["/team"]
    assert customer.name in answers[f"/c #{customer.id}"]


def test_unknown_login_fails_clearly(console):
    result = console(["/help"], login="nobody")
    assert result.returncode == 1
    assert "nobody" in result.stderr


def test_run_without_telegram_token_starts_the_console_as_the_first_rep(console):
    result = console(["/help"], login=None, command="run")
    assert result.returncode == 0, result.stderr
    assert "张伟" in result.stdout and "zhangwei" in result.stdout and "/find" in result.stdout
