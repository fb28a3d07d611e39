"""Labels, the outcome cut, the temporal split and prefix sets — the evaluation protocol's data side."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from ml.eventlog import EventLog
from ml.features import EncodedLog

DEFAULT_MAX_PREFIX = 40


def cut_before(log: EventLog, activities: Iterable[str]) -> EventLog:
    """Cut every case just before its first event whose activity is in ``activities``.

    Those activities reveal the outcome; cases that start with one become empty and are dropped.
    """
    stop = set(activities)
    if not stop:
        return log
    cut = []
    for case in log.cases:
        n = next((i for i, e in enumerate(case.events) if e.activity in stop), len(case))
        cut.append(case if n == len(case) else case.head(n))
    return log.with_cases(cut)


def drop_events_from(log: EventLog, moment: datetime) -> EventLog:
    """Drop every event at or after ``moment`` (cases that become empty are dropped)."""
    kept = []
    for case in log.cases:
        n = next((i for i, e in enumerate(case.events) if e.timestamp >= moment), len(case))
        kept.append(case if n == len(case) else case.head(n))
    return log.with_cases(kept)


@dataclass
class TemporalSplit:
    train: EventLog  # cases started before ``test_start``, events at/after it dropped
    test: EventLog
    test_start: datetime


def temporal_split(log: EventLog, test_fraction: float = 0.2) -> TemporalSplit:
    """Order cases by start time; the last ``test_fraction`` are the test cases.

    Training cases lose every event at or after the first test case's start, so nothing the model
    learns from happened during the test period.
    """
    if not 0 < test_fraction < 1:
        raise ValueError("test_fraction must be between 0 and 1")
    cases = sorted(log.cases, key=lambda c: c.start)
    if len(cases) < 2:
        raise ValueError("need at least two cases for a temporal split")
    n_test = min(len(cases) - 1, max(1, int(round(len(cases) * test_fraction))))
    head, tail = cases[: len(cases) - n_test], cases[len(cases) - n_test :]
    test_start = tail[0].start
    # cases starting at exactly test_start belong to the test side
    tail = [c for c in head if c.start >= test_start] + tail
    head = [c for c in head if c.start < test_start]
    train = drop_events_from(log.with_cases(head), test_start)
    return TemporalSplit(train, log.with_cases(tail), test_start)


def max_prefix_length(log: EventLog, labels: Mapping[str, int], cap: int = DEFAULT_MAX_PREFIX, quantile: float = 0.9) -> int:
    """min(cap, the ``quantile`` of positive case lengths) — positives from ``log`` only."""
    positive = [len(c) for c in log.cases if labels.get(c.case_id) == 1]
    if not positive:
        positive = [len(c) for c in log.cases] or [1]
    return int(max(1, min(cap, int(np.ceil(np.quantile(positive, quantile))))))


def label_vector(log: EventLog | EncodedLog, labels: Mapping[str, int]) -> np.ndarray:
    ids = log.case_ids
    missing = [c for c in ids if c not in labels]
    if missing:
        raise KeyError(f"{len(missing)} case(s) without a label, e.g. {missing[:3]}")
    return np.asarray([labels[c] for c in ids], np.float32)


@dataclass
class PrefixSet:
    """Prefixes ``(case, length)`` over an encoded log; every model scores exactly these rows."""

    data: EncodedLog
    case_index: np.ndarray  # int64 [n_prefixes]
    length: np.ndarray  # int64 [n_prefixes], 1..len(case)
    labels: np.ndarray | None = None  # float32 per case

    def __len__(self) -> int:
        return len(self.case_index)

    @property
    def y(self) -> np.ndarray:
        if self.labels is None:
            raise ValueError("this prefix set has no labels")
        return self.labels[self.case_index]

    @property
    def max_length(self) -> int:
        return int(self.length.max()) if len(self.length) else 0

    @classmethod
    def all_prefixes(cls, data: EncodedLog, max_length: int, labels: np.ndarray | None = None) -> PrefixSet:
        """Every prefix of length 1..min(max_length, len(case)), ordered by case then length."""
        lengths = np.minimum(data.lengths, max_length)
        case_index = np.repeat(np.arange(len(lengths)), lengths)
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(lengths) else lengths
        length = np.arange(len(case_index)) - np.repeat(starts, lengths) + 1
        return cls(data, case_index.astype(np.int64), length.astype(np.int64), labels)

    @classmethod
    def last(cls, data: EncodedLog, labels: np.ndarray | None = None) -> PrefixSet:
        """One prefix per case: the whole case (what production scoring needs)."""
        return cls(data, np.arange(len(data), dtype=np.int64), data.lengths.astype(np.int64), labels)

    def event_rows(self) -> np.ndarray:
        """Row in ``data`` of the last event of each prefix."""
        return self.data.offsets[self.case_index] + self.length - 1


def data_hash(log: EventLog, labels: Mapping[str, int] | None = None) -> str:
    """sha256 of the canonical training events (and labels) — recorded in the model manifest."""
    digest = hashlib.sha256()
    for case in sorted(log.cases, key=lambda c: c.case_id):
        digest.update(f"{case.case_id}\x1f{labels.get(case.case_id, '') if labels else ''}\x1e".encode())
        for e in case.events:
            digest.update(
                f"{e.activity}\x1f{e.timestamp.isoformat()}\x1f{e.lifecycle}\x1f{e.resource}\x1f{e.amount}"
                f"\x1f{e.node_index}\x1f{e.direction}\x1e".encode()
            )
    return digest.hexdigest()
