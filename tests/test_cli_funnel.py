"""`mammoth funnel` (bot/cli_funnel.py): table, --json, --png, scopes and their refusals, dates."""
import json

import pytest
import typer
from typer.testing import CliRunner

from bot.cli import app as mammoth
from bot.cli_funnel import funnel
from core.settings import get_settings

runner = CliRunner()
funnel_app = typer.Typer()
funnel_app.command("funnel")(funnel)  # bot/cli.py registers it as `mammoth funnel`


@pytest.fixture
def run(tmp_path, monkeypatch):
    monkeypatch.setenv("MAMMOTH_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    get_settings.cache_clear()
    assert runner.invoke(mammoth, ["demo", "--customers", "60", "--seed", "3", "--anchor", "2026-06-01"]).exit_code == 0

    def invoke(*args, code=0):
        result = runner.invoke(funnel_app, [str(a) for a in args])
        assert result.exit_code == code, result.output
        return result

    yield invoke
    get_settings.cache_clear()


def test_json_for_a_team_with_the_stuck_node(run):
    data = json.loads(run("--playbook", "car_dealer", "--team", "汽车销售一组", "--as", "wangqiang", "--json").stdout)
    assert data["scope"] == {"kind": "team", "label": "汽车销售一组", "team_id": data["scope"]["team_id"], "user_id": None}
    assert [n["title"] for n in data["nodes"]][:2] == ["来电接听", "预约来电"]
    first = data["nodes"][0]
    assert first["reached"] == 30 and first["moved_on"] <= first["reached"]
    assert set(first) >= {"conversion_pct", "dwell_median_days", "dwell_p90_days", "current", "current_median_days"}
    assert data["stuck"] is None or data["stuck"]["kind"] in ("conversion", "dwell")
    assert "suggested_material" in data


def test_table_png_and_period(run, tmp_path):
    png = tmp_path / "f.png"
    result = run("--rep", "zhaolei", "--as", "chenjing", "--since", "2026-01-01", "--until", "2026-05-31",
                 "--png", png, "--lang", "en")
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert "B2B" in result.stdout and "2026-01-01 to 2026-05-31" in result.stdout and "reached" in result.stdout


def test_refusals_and_bad_dates(run):
    assert "may not see" in run("--rep", "zhaolei", "--as", "zhangwei", "--lang", "en", code=1).output
    assert "无权查看" in run("--team", "大客户二组", "--as", "wangqiang", code=1).output
    assert "expected a date" in run("--since", "2026-13-01", code=2).output
