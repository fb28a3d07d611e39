from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np

from ml.dataset import PrefixSet, cut_before, max_prefix_length, temporal_split
from ml.eventlog import Case, Event, EventLog
from ml.evaluate import prepare
from ml.features import FeatureSpec

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def make_case(case_id: str, start_h: float, activities: list[str], gap_h: float = 5.0) -> Case:
    return Case(case_id, [Event(case_id, a, T0 + timedelta(hours=start_h + i * gap_h)) for i, a in enumerate(activities)])


def outcome_log() -> tuple[EventLog, dict[str, int]]:
    cases, labels = [], {}
    for i in range(50):
        tail = ["WON"] if i % 2 else ["LOST", "call"]
        body = ["lead", "call", "visit", "quote"][: 1 + i % 4]
        if i % 10 == 0:
            body = []  # starts with the outcome: becomes empty after the cut
        cases.append(make_case(f"c{i}", i * 10.0, body + tail + ["after"]))
        labels[f"c{i}"] = i % 2
    return EventLog(cases), labels


def test_cut_stops_before_first_outcome_and_drops_empty_cases():
    log, _ = outcome_log()
    cut = cut_before(log, ["WON", "LOST"])
    assert len(cut) == 45  # the five cases starting with an outcome are gone
    for case in cut:
        assert all(e.activity not in {"WON", "LOST", "after"} for e in case.events)
    assert [e.activity for e in cut.by_id()["c3"].events] == ["lead", "call", "visit", "quote"]


def test_temporal_split_drops_training_events_from_test_start():
    log, _ = outcome_log()
    split = temporal_split(log, 0.2)
    assert len(split.test) == 10 and len(split.train) == 40
    assert all(c.start >= split.test_start for c in split.test)
    assert all(e.timestamp < split.test_start for c in split.train for e in c.events)
    # a training case overlapping the test period was truncated, not dropped
    overlapping = [c for c in log.cases if c.start < split.test_start <= c.end]
    assert overlapping and all(len(split.train.by_id()[c.case_id]) < len(c) for c in overlapping)


def test_prefixes_respect_cap_and_case_length():
    log, labels = outcome_log()
    cut = cut_before(log, ["WON", "LOST"])
    assert max_prefix_length(cut, labels, cap=3) == 3
    assert max_prefix_length(cut, labels, cap=40) == 4  # 90th percentile of positive lengths
    enc = FeatureSpec.fit(cut).encode(cut)
    prefixes = PrefixSet.all_prefixes(enc, 3)
    assert prefixes.length.max() == 3
    assert np.all(prefixes.length <= enc.lengths[prefixes.case_index])
    assert len(prefixes) == int(np.minimum(enc.lengths, 3).sum())


def test_prepare_no_cut_activity_in_any_prefix_and_no_training_event_in_test_period():
    log, labels = outcome_log()
    labels.pop("c1")  # unlabelled cases are not used
    data = prepare(log, labels, ["WON", "LOST"])
    codes = {a: i + 2 for i, a in enumerate(data.spec.activities)}
    assert "WON" not in codes and "LOST" not in codes  # never seen in training either
    for part in (data.fit, data.valid, data.test, data.train):
        assert "c1" not in part.data.case_ids
        # cut activities never reach the vocabulary; any left in a case would encode as unknown (1)
        assert np.all(part.data.cat[:, 0] != 1)
    assert data.valid_start < data.test_start


def test_training_events_before_test_start_on_real_timestamps():
    log, labels = outcome_log()
    data = prepare(log, labels, ["WON", "LOST"])
    split = temporal_split(cut_before(log.select(labels), ["WON", "LOST"]), 0.2)
    assert data.test_start == split.test_start
    assert set(data.train.data.case_ids).isdisjoint(data.test.data.case_ids)
    assert all(e.timestamp < data.test_start for c in split.train for e in c.events)


def test_aggregates_only_look_backwards(small_log):
    log, _ = small_log
    spec = FeatureSpec.fit(log)
    case = max(log.cases, key=len)
    full = spec.encode([case])
    for k in (1, 3, len(case) - 1):
        head = spec.encode([case.head(k)])
        np.testing.assert_allclose(head.agg, full.agg[:k], rtol=1e-6)
        np.testing.assert_allclose(head.num, full.num[:k], rtol=1e-6)
        np.testing.assert_array_equal(head.cat, full.cat[:k])


def test_last_only_encoding_equals_the_last_row_of_the_full_encoding(small_log):
    """Scoring encodes aggregates at each case's last event only; they must be the same numbers
    the full encoding (training, evaluation) has at that row."""
    log, _ = small_log
    spec = FeatureSpec.fit(log.select(log.case_ids[:80]))  # the rest has unseen values too
    cases = log.cases[::-1] + [Case("one", log.cases[0].events[:1])]
    full = spec.encode(cases)
    last = spec.encode(cases, last_only=True)
    assert last.last_only and last.agg.shape == (len(cases), full.agg.shape[1])
    np.testing.assert_allclose(last.agg, full.agg[full.offsets[1:] - 1], rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(last.last_agg(), full.last_agg(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(last.cat, full.cat)
    np.testing.assert_array_equal(last.num, full.num)


def test_columns_of_chosen_cases_equal_reading_those_cases(small_log):
    log, _ = small_log
    spec = FeatureSpec.fit(log)
    columns = spec.columns(log.cases)
    chosen = np.array([7, 2, 2, 40])
    cut = columns.cases(chosen)
    read = spec.columns([log.cases[i] for i in chosen])
    assert cut.case_ids == read.case_ids
    for name in ("offsets", "act", "lc", "res", "direction", "ts", "offset_s", "amount", "node"):
        np.testing.assert_array_equal(getattr(cut, name), getattr(read, name))
    assert len(columns.cases(np.array([], np.int64))) == 0
    np.testing.assert_allclose(spec.encode_columns(cut).agg, spec.encode([log.cases[i] for i in chosen]).agg)
