from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ml.dataset import PrefixSet
from ml.evaluate import prepare, run_protocol
from ml.registry import load_model, read_manifest
from ml.scoring import explain_case, score_cases, score_log
from ml.train import train_and_save, train_model

from .conftest import TINY

ROOT = Path(__file__).resolve().parents[2]


def test_import_ml_does_not_import_torch():
    code = (
        "import ml, ml.eventlog, ml.features, ml.dataset, ml.evaluate, ml.registry, ml.scoring, ml.train, sys;"
        "assert 'torch' not in sys.modules, 'torch imported';"
        "assert 'transformers' not in sys.modules, 'transformers imported'"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_same_seed_same_numbers(small_log):
    log, labels = small_log
    data = prepare(log, labels)
    first = run_protocol(data, seed=3, params=TINY)
    second = run_protocol(data, seed=3, params=TINY)
    for name in ("lstm", "transformer", "gbm"):
        assert first[name] == second[name]
        assert 0.0 <= first[name]["brier"] <= 1.0
    assert first["n_test_prefixes"] == len(data.test)


@pytest.fixture(scope="module")
def trained(small_log):
    """One tiny fitted model per variant, shared by the tests below."""
    log, labels = small_log
    variants = {"lstm": ("lstm", {}), "lstm-pool": ("lstm", {"pool": True}), "transformer": ("transformer", {}),
                "gbm": ("gbm", {})}
    return {name: train_model(log, labels, backbone, params={**TINY[backbone], **extra}, seed=1)
            for name, (backbone, extra) in variants.items()}


@pytest.mark.parametrize("backbone", ["lstm", "transformer", "gbm"])
def test_save_load_round_trip_identical_predictions(small_log, trained, tmp_path, backbone):
    log, labels = small_log
    model, record = trained[backbone]
    folder = model.save(tmp_path / backbone, data_hash=record["data_hash"], training=record)
    manifest = read_manifest(folder)
    assert manifest["backbone"] == backbone and manifest["training_data_hash"] == record["data_hash"]
    assert manifest["feature_spec"]["activities"] == model.spec.activities
    assert set(manifest["files"]) <= {p.name for p in folder.iterdir()}
    loaded = load_model(folder)
    assert loaded.version == manifest["version"]
    encoded = model.spec.encode(log)
    prefixes = PrefixSet.all_prefixes(encoded, 12)
    np.testing.assert_array_equal(model.predict_proba(prefixes), loaded.predict_proba(prefixes))
    np.testing.assert_array_equal(score_cases(model, log.cases), score_cases(loaded, log.cases))


@pytest.mark.parametrize("variant", ["lstm", "lstm-pool", "transformer"])
def test_sequence_scores_do_not_peek_at_later_events(small_log, trained, variant):
    log, labels = small_log
    model, _ = trained[variant]
    case = max(log.cases, key=len)
    k = 4
    other = max((c for c in log.cases if c is not case), key=len)
    mixed = type(case)(case.case_id, case.events[:k] + [e for e in other.events[k:]])
    full = model.decision_function(PrefixSet.all_prefixes(model.spec.encode([case]), 12))
    changed = model.decision_function(PrefixSet.all_prefixes(model.spec.encode([mixed]), 12))
    np.testing.assert_allclose(full[:k], changed[:k], rtol=1e-5, atol=1e-6)
    assert not np.allclose(full[k:], changed[k:])
    # scoring a prefix inside a padded batch of longer cases == scoring the cut case on its own
    for n in (1, k, len(case) - 1):
        alone = model.score_last(model.spec.encode([case.head(n)]))
        np.testing.assert_allclose(alone, full[n - 1 : n], rtol=1e-5, atol=1e-5)
    # the production path (full sequences only) agrees with the every-prefix path
    enc = model.spec.encode(log)
    np.testing.assert_allclose(model.score_last(enc), model.decision_function(PrefixSet.last(enc)), atol=1e-5)
    if variant == "lstm-pool":
        # regression: extreme attention energies (either sign) must not let later events or the
        # padding in through underflow; compare every prefix with the cut case scored on its own
        import torch

        weight = model.members[0].attend[-1].weight
        original = weight.detach().clone()
        for scale in (1e4, -1e4):
            with torch.no_grad():
                weight.copy_(original * scale)
            for case in sorted(log.cases, key=len)[-3:]:
                full = model.decision_function(PrefixSet.all_prefixes(model.spec.encode([case]), 12))
                alone = [model.score_last(model.spec.encode([case.head(n)]))[0] for n in range(1, len(full) + 1)]
                np.testing.assert_allclose(alone, full, rtol=1e-4, atol=1e-5)
        with torch.no_grad():
            weight.copy_(original)  # the model is shared with other tests


def test_train_from_crm_rows_then_score_and_explain(small_log, tmp_path):
    from ml.eventlog import from_rows
    from ml.synthetic import to_rows

    log, labels = small_log
    crm_log = from_rows(to_rows(log))
    assert crm_log.cases == log.cases
    folder = train_and_save(crm_log, labels, tmp_path / "m", "lstm", params=TINY["lstm"])
    model = load_model(folder)
    scores = score_log(model, crm_log)
    assert set(scores) == set(crm_log.case_ids) and all(0.0 < p < 1.0 for p in scores.values())
    case = crm_log.cases[0]
    full, reasons = explain_case(model, case, top_k=2)
    assert full == pytest.approx(scores[case.case_id])
    assert len(reasons) == min(2, len(case)) and abs(reasons[0].effect) >= abs(reasons[-1].effect)


def test_too_few_labels_is_a_clear_error(small_log):
    log, labels = small_log
    with pytest.raises(ValueError, match="both outcomes"):
        train_model(log, {k: 1 for k in labels}, "gbm")


def test_cli_evaluate_json_and_help(small_log, tmp_path):
    from typer.testing import CliRunner

    from bot.cli_model import model_app

    log, labels = small_log
    events = tmp_path / "events.csv"
    lines = ["case_id,activity,timestamp,resource"]
    for case in log.cases:
        lines += [f"{e.case_id},{e.activity},{e.timestamp.isoformat()},{e.resource}" for e in case.events]
    lines.append(f"{log.cases[0].case_id},WON,2030-01-01T00:00:00+00:00,x")
    events.write_text("\n".join(lines) + "\n")
    label_file = tmp_path / "labels.csv"
    label_file.write_text("case_id,won\n" + "".join(f"{k},{v}\n" for k, v in labels.items()))
    runner = CliRunner()
    for command in ([], ["evaluate"], ["train"], ["score"], ["explain"]):
        assert runner.invoke(model_app, [*command, "--help"]).exit_code == 0
    result = runner.invoke(model_app, ["evaluate", "--events", str(events), "--labels", str(label_file),
                                       "--label-column", "won", "--cut-before", "WON", "--backbones", "gbm",
                                       "--seed", "1", "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert set(payload) >= {"gbm", "n_test_prefixes", "train_seconds"}
    assert set(payload["gbm"]) == {"auc", "auc_mean_prefix", "brier"}
    bad = runner.invoke(model_app, ["evaluate", "--events", str(events), "--labels", str(label_file), "--json"])
    assert bad.exit_code == 1 and "label" in bad.output


def test_aggregates_piecewise_linear_encoding():
    import torch

    from ml.models.sequence import AggEncoder, agg_bin_edges

    values = np.array([[0.0, 5.0], [1.0, 5.0], [2.0, 5.0], [4.0, 5.0]], np.float32)
    edges = agg_bin_edges(values, 2)
    assert edges == [[0.0, 1.5, 4.0], [5.0]]  # a constant column keeps one edge: no bins
    enc = AggEncoder(2, edges)
    assert enc.out_dim == 2 * 3
    out = enc(torch.tensor([[0.75, 5.0], [3.0, 9.0], [-1.0, 5.0]])).numpy()
    np.testing.assert_allclose(out[0], [0.75, 5.0, 0.5, 0.0, 0.0, 0.0], atol=1e-6)  # half way through bin 1
    np.testing.assert_allclose(out[1], [3.0, 9.0, 1.0, 0.6, 0.0, 0.0], atol=1e-6)  # bin 1 full, 60 % of bin 2
    np.testing.assert_allclose(out[2], [-1.0, 5.0, 0.0, 0.0, 0.0, 0.0], atol=1e-6)  # below every edge
    assert AggEncoder(2, None).out_dim == 2


def test_lstm_learns_and_saves_its_aggregate_bins(trained, tmp_path):
    model, _ = trained["lstm"]
    edges = model.params["agg_edges"]
    assert model.params["agg_bins"] == 8 and len(edges) == len(model._agg_index())
    assert all(list(column) == sorted(set(column)) for column in edges)
    manifest = read_manifest(model.save(tmp_path / "m"))
    assert manifest["params"]["agg_edges"] == edges


def test_batched_reasons_equal_leaving_each_event_out_one_at_a_time(small_log, trained):
    from ml.eventlog import Case
    from ml.scoring import explain_cases

    log, _ = small_log
    model, _ = trained["lstm"]
    cases = log.cases[:20] + [Case("single", log.cases[0].events[:1])]
    explained = explain_cases(model, cases, top_k=3, chunk=7)  # chunks end mid-way through the list
    assert len(explained) == len(cases)
    for case, (full, reasons) in zip(cases, explained):
        alone = float(score_cases(model, [case])[0])
        assert full == pytest.approx(alone, abs=1e-5)
        effects = {i: alone - float(score_cases(model, [Case(case.case_id, case.events[:i] + case.events[i + 1:])])[0])
                   for i in range(len(case))} if len(case) > 1 else {}
        expected = sorted(effects, key=lambda i: -abs(effects[i]))[:3]
        assert [r.index for r in reasons] == expected or all(
            abs(abs(r.effect) - abs(effects[i])) < 1e-5 for r, i in zip(reasons, expected))  # ties may swap
        for r in reasons:
            assert r.effect == pytest.approx(effects[r.index], abs=1e-5)
            assert r.activity == case.events[r.index].activity
