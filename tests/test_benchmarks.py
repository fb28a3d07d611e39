"""Every benchmark still runs, at toy sizes, and its correctness lines hold. Speed is never
asserted here (benchmarks print figures; notes quote them): this only keeps the scripts from rotting."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

RUNS = {
    "core_bench": ["--customers", "2000", "--activities", "20000", "--samples", "5"],
    "funnel_bench": ["--customers", "2000", "--activities", "20000", "--samples", "3"],
    "nudge_bench": ["--reps", "20", "--customers-per-rep", "10", "--sends", "20"],
    "score_bench": ["--customers", "3000", "--loop-sample", "100", "--reason-sample", "40"],
    "chat_throughput": ["--updates", "60", "--users", "4", "--customers", "40", "--paced-updates", "20"],
    "nudge_ranking": ["--customers", "200"],
}


def run(name: str, tmp_path: Path) -> str:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / f"{name}.py"), *RUNS[name]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.parametrize("name", ["core_bench", "funnel_bench", "nudge_bench", "chat_throughput", "nudge_ranking"])
def test_benchmark_runs_and_reports(name, tmp_path):
    out = run(name, tmp_path)
    expected = {
        "core_bench": ["customer view (first page)", "fuzzy find (rep)", "log activity"],
        "funnel_bench": ["funnel: organisation, all time", "drill-down", "material effectiveness"],
        "nudge_bench": ["compute and queue every digest", "relay to fake Bot API"],
        "chat_throughput": ["reply latency", "router alone"],
        "nudge_ranking": ["precision@10", "base rate"],
    }[name]
    for label in expected:
        assert label in out, out
    assert "WARNING" not in out and "timed out" not in out, out


def test_score_bench_batched_equals_the_loop_and_reasons_agree(tmp_path):
    out = run("score_bench", tmp_path)
    diff = float(re.search(r"max \|batched - loop\| on the sample: (\S+)", out).group(1))
    assert diff < 1e-5, out
    assert "same top reasons on the common customers: True" in out, out
