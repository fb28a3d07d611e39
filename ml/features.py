"""Turn an :class:`~ml.eventlog.EventLog` into flat numpy arrays, vectorised over all events.

One :class:`FeatureSpec` (vocabularies + standardisation statistics, fit on training data only) is
shared by every backbone, so the LSTM, the transformer and the GBM see the same information:

* ``cat``  per-event categorical codes (activity, lifecycle, resource, weekday, hour, direction),
* ``num``  per-event numeric inputs (log time gaps, log amount, node index, hour of day ...),
* ``agg``  aggregated features of the prefix *ending at* each event (counts per activity class,
  elapsed time, amount, prefix length ...). Row ``i`` only uses events ``<= i`` of its case, so a
  sequence model can take ``agg`` beside its state and the GBM scores prefix ``k`` from row ``k-1``.

Only numpy is needed here (no torch).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from operator import attrgetter
from typing import Any

import numpy as np

from ml.eventlog import Case, EventLog

PAD, UNK = 0, 1
CAT_COLUMNS = (
    "activity",
    "lifecycle",
    "resource",
    "weekday",
    "hour",
    "direction",
    "amount_bin",  # quantile bin of the last known amount (1 = none yet)
    "start_hour",  # local hour and weekday the case started: static context at every step
    "start_weekday",
    "elapsed_bin",  # quantile bins of time since case start and since the previous event
    "gap_bin",
)
AMOUNT_BINS = 16
TIME_BINS = 16
NUM_COLUMNS = (
    "log_gap_h",  # hours since the previous event of the case
    "log_elapsed_h",  # hours since the case started
    "log_amount",
    "amount_missing",
    "node_index",
    "node_missing",
    "hour_sin",
    "hour_cos",
    "log_position",
    "log_since_same_h",  # hours since the previous event of the same activity (0 for the first)
    "first_of_activity",
    "log_activity_count",  # occurrences of this activity so far, this one included
)
AGG_FIXED = (
    "log_prefix_len",
    "log_elapsed_h",
    "log_gap_h",
    "log_mean_gap_h",
    "log_amount",
    "start_hour",
    "start_weekday",
    "last_hour",
    "last_weekday",
    "n_distinct_classes",
    "log_n_in",
    "log_n_out",
    "last_node",
    "max_node",
    "log_since_same_h",
    "log_activity_count",
)
AGG_CATEGORICAL = ("last_class", "last_resource")
_DIRECTION_CODES = {"": 1, "in": 2, "out": 3}


def _class_of(activity: str, lifecycle: str) -> str:
    return f"{activity}|{lifecycle}" if lifecycle else activity


@dataclass
class EncodedLog:
    """Flat per-event arrays; case ``j`` owns rows ``offsets[j]:offsets[j+1]``."""

    case_ids: list[str]
    offsets: np.ndarray  # int64 [n_cases + 1]
    cat: np.ndarray  # int64 [n_events, len(CAT_COLUMNS)]
    num: np.ndarray  # float32 [n_events, len(NUM_COLUMNS)], standardised
    agg: np.ndarray  # float32 [n_events, n_agg] (or [n_cases, n_agg] when last_only), numeric part standardised
    last_only: bool = False  # agg holds each case's last event only (what scoring whole cases needs)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def last_agg(self) -> np.ndarray:
        """The aggregates of each case's last event, [n_cases, n_agg]."""
        return self.agg if self.last_only else self.agg[self.offsets[1:] - 1]

    def __len__(self) -> int:
        return len(self.case_ids)


@dataclass
class EventColumns:
    """What encoding reads from the ``Event`` objects, read once into arrays in a spec's codes;
    case ``j`` owns rows ``offsets[j]:offsets[j+1]``. Reading attributes is the Python-bound part
    of encoding: variants of the same events (leave-one-out reasons) are cut from these arrays
    instead of being read again."""

    case_ids: list[str]
    offsets: np.ndarray  # int64 [n_cases + 1]
    act: np.ndarray  # int64 codes
    lc: np.ndarray
    res: np.ndarray
    direction: np.ndarray
    ts: np.ndarray  # float64 epoch seconds
    offset_s: np.ndarray  # float64, the source's UTC offset in seconds
    amount: np.ndarray  # float64, NaN = none
    node: np.ndarray  # float64, NaN = none

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def __len__(self) -> int:
        return len(self.case_ids)

    def take(self, rows: np.ndarray, lengths: np.ndarray, case_ids: list[str]) -> EventColumns:
        """New cases made of these rows, in this order, ``lengths[j]`` rows for case ``j``."""
        offsets = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        return EventColumns(case_ids, offsets, self.act[rows], self.lc[rows], self.res[rows], self.direction[rows],
                            self.ts[rows], self.offset_s[rows], self.amount[rows], self.node[rows])

    def cases(self, index: np.ndarray) -> EventColumns:
        """The whole cases at these positions."""
        lengths = self.lengths[index]
        starts = self.offsets[:-1][index]
        rows = np.repeat(starts - np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths) + np.arange(lengths.sum())
        return self.take(rows, lengths, [self.case_ids[i] for i in index])


@dataclass
class FeatureSpec:
    activities: list[str]  # code = position + 2 (0 = padding, 1 = unknown)
    lifecycles: list[str]
    resources: list[str]
    classes: list[str]  # activity|lifecycle classes counted in ``agg``; unknown ones go to "other"
    num_mean: list[float] = field(default_factory=list)
    num_std: list[float] = field(default_factory=list)
    agg_mean: list[float] = field(default_factory=list)
    agg_std: list[float] = field(default_factory=list)
    amount_edges: list[float] = field(default_factory=list)  # inner quantile edges of log1p(amount)
    elapsed_edges: list[float] = field(default_factory=list)  # ... of log1p(hours since start)
    gap_edges: list[float] = field(default_factory=list)  # ... of log1p(hours since previous event)
    version: int = 1

    # ------------------------------------------------------------------ construction
    @classmethod
    def fit(cls, log: EventLog, *, min_resource_count: int = 5) -> FeatureSpec:
        events = [e for c in log.cases for e in c.events]
        activities = sorted({e.activity for e in events})
        lifecycles = sorted({e.lifecycle for e in events})
        resource_counts = Counter(e.resource for e in events if e.resource)
        resources = sorted(r for r, n in resource_counts.items() if n >= min_resource_count)
        classes = sorted({_class_of(e.activity, e.lifecycle) for e in events})
        spec = cls(activities, lifecycles, resources, classes)
        amounts = np.log1p(np.abs([e.amount for e in events if e.amount is not None]))
        if len(amounts):
            edges = np.unique(np.quantile(amounts, np.linspace(0, 1, AMOUNT_BINS + 1)[1:-1]))
            spec.amount_edges = [float(x) for x in edges]
        columns = spec.columns(log.cases)
        _, num, _, _ = spec._raw(columns)
        inner = np.linspace(0, 1, TIME_BINS + 1)[1:-1]
        if len(num):
            spec.elapsed_edges = [float(x) for x in np.unique(np.quantile(num[:, 1], inner))]
            gaps = num[num[:, 0] > 0, 0]  # the first event of a case has no gap
            spec.gap_edges = [float(x) for x in np.unique(np.quantile(gaps, inner))] if len(gaps) else []
        cat, num, agg, _ = spec._raw(columns)
        spec.num_mean, spec.num_std = _stats(num)
        numeric = agg[:, spec.agg_numeric_index]
        spec.agg_mean, spec.agg_std = _stats(numeric)
        return spec

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(cat_columns=list(CAT_COLUMNS), num_columns=list(NUM_COLUMNS), agg_columns=self.agg_columns)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureSpec:
        if data.get("version") != 1:
            raise ValueError(f"unsupported feature spec version {data.get('version')!r}")
        names = {f for f in cls.__dataclass_fields__}
        spec = cls(**{k: v for k, v in data.items() if k in names})
        if (
            data.get("agg_columns", spec.agg_columns) != spec.agg_columns
            or data.get("cat_columns", list(CAT_COLUMNS)) != list(CAT_COLUMNS)
            or data.get("num_columns", list(NUM_COLUMNS)) != list(NUM_COLUMNS)
        ):
            raise ValueError("the model's feature columns do not match this code version; retrain it")
        return spec

    # ------------------------------------------------------------------ shape
    @property
    def agg_columns(self) -> list[str]:
        return [f"n[{c}]" for c in self.classes] + ["n[other]"] + list(AGG_FIXED) + list(AGG_CATEGORICAL)

    @property
    def agg_numeric_index(self) -> list[int]:
        return list(range(len(self.classes) + 1 + len(AGG_FIXED)))

    @property
    def agg_categorical_index(self) -> list[int]:
        start = len(self.classes) + 1 + len(AGG_FIXED)
        return list(range(start, start + len(AGG_CATEGORICAL)))

    @property
    def cat_cardinalities(self) -> list[int]:
        """Embedding table sizes per ``cat`` column (codes 0 and 1 reserved)."""
        return [len(self.activities) + 2, len(self.lifecycles) + 2, len(self.resources) + 2, 9, 26, 4,
                AMOUNT_BINS + 2, 26, 9, TIME_BINS + 2, TIME_BINS + 2]

    # ------------------------------------------------------------------ encoding
    def encode(self, log: EventLog | list[Case], *, last_only: bool = False) -> EncodedLog:
        """Encode every event; with ``last_only`` the aggregates are computed for each case's last
        event only (scoring whole cases needs no more, and the per-class counts of every event are
        the widest array of the encoding)."""
        cases = log.cases if isinstance(log, EventLog) else list(log)
        return self.encode_columns(self.columns(cases), last_only=last_only)

    def encode_columns(self, columns: EventColumns, *, last_only: bool = False) -> EncodedLog:
        """:meth:`encode` from events already read into arrays (numpy only)."""
        cat, num, agg, offsets = self._raw(columns, last_only=last_only)
        if self.num_mean:
            num = (num - np.asarray(self.num_mean, np.float32)) / np.asarray(self.num_std, np.float32)
            k = len(self.agg_numeric_index)  # numeric columns come first, categorical codes last
            agg[:, :k] -= np.asarray(self.agg_mean, np.float32)
            agg[:, :k] /= np.asarray(self.agg_std, np.float32)
        return EncodedLog(list(columns.case_ids), offsets, cat, num.astype(np.float32, copy=False), agg, last_only)

    def _class_table(self) -> np.ndarray:
        """[activity code, lifecycle code] -> class column of the counts ("other" when unseen)."""
        other = len(self.classes)
        index = {c: i for i, c in enumerate(self.classes)}
        table = np.full((len(self.activities) + 2, len(self.lifecycles) + 2), other, np.int64)
        for a, activity in enumerate(self.activities):
            for b, lifecycle in enumerate(self.lifecycles):
                table[a + 2, b + 2] = index.get(_class_of(activity, lifecycle), other)
        return table

    def columns(self, cases: list[Case]) -> EventColumns:
        """Read the events' attributes once: one C-level pass per attribute (map + attrgetter +
        dict lookups). This is what bounds encoding speed; everything after it is numpy."""
        lengths = np.fromiter((len(c) for c in cases), np.int64, count=len(cases))
        offsets = np.zeros(len(cases) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        events = [e for c in cases for e in c.events]
        n = len(events)
        return EventColumns(
            [c.case_id for c in cases],
            offsets,
            _codes(self.activities, events, "activity", n),
            _codes(self.lifecycles, events, "lifecycle", n),
            _codes(self.resources, events, "resource", n),
            np.fromiter(map(_DIRECTION_CODES.__getitem__, map(attrgetter("direction"), events)), np.int64, n),
            np.fromiter(map(attrgetter("epoch"), events), np.float64, n),
            np.fromiter(map(attrgetter("utc_offset_min"), events), np.float64, n) * 60.0,
            _optional_floats(events, "amount", n),
            _optional_floats(events, "node_index", n),
        )

    def _raw(self, columns: EventColumns, *, last_only: bool = False):
        offsets, lengths = columns.offsets, columns.lengths
        n_cases, n = len(columns), int(offsets[-1])
        act, lc, res, direction = columns.act, columns.lc, columns.res, columns.direction
        ts, offset_s, amount, node = columns.ts, columns.offset_s, columns.amount, columns.node
        klass = self._class_table()[act, lc]

        case_of = np.repeat(np.arange(n_cases), lengths)
        first = offsets[:-1][case_of]
        position = np.arange(n) - first
        gap_h = np.zeros(n)
        if n:
            gap_h[1:] = np.diff(ts) / 3600.0
        gap_h[position == 0] = 0.0
        gap_h = np.maximum(gap_h, 0.0)
        elapsed_h = np.maximum((ts - ts[first]) / 3600.0 if n else ts, 0.0)
        local = ts + offset_s
        hour = (local % 86400.0) / 3600.0
        weekday = ((local // 86400.0) + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0

        has_amount = ~np.isnan(amount)
        amount_ff = _forward_fill(np.where(has_amount, np.log1p(np.abs(np.nan_to_num(amount))), np.nan), first)
        has_node = ~np.isnan(node)
        node_ff = _forward_fill(np.where(has_node, node, np.nan), first)

        since_same_h, occurrence = _same_activity_history(act, ts, case_of)
        amount_bin = np.where(
            np.isnan(amount_ff), 1, 2 + np.searchsorted(np.asarray(self.amount_edges), np.nan_to_num(amount_ff), side="right")
        )
        hour_code = hour.astype(np.int64) + 2
        weekday_code = weekday.astype(np.int64) + 2
        log_elapsed, log_gap = np.log1p(elapsed_h), np.log1p(gap_h)
        elapsed_bin = 1 + np.searchsorted(np.asarray(self.elapsed_edges), log_elapsed, side="right")
        gap_bin = np.where(position == 0, 1, 2 + np.searchsorted(np.asarray(self.gap_edges), log_gap, side="right"))
        cat = np.stack(
            [act, lc, res, weekday_code, hour_code, direction, amount_bin, hour_code[first], weekday_code[first],
             elapsed_bin, gap_bin],
            axis=1,
        )
        num = np.stack(
            [
                log_gap,
                log_elapsed,
                np.where(has_amount, np.log1p(np.abs(np.nan_to_num(amount))), 0.0),
                (~has_amount).astype(np.float64),
                np.nan_to_num(node),
                (~has_node).astype(np.float64),
                np.sin(2 * np.pi * hour / 24),
                np.cos(2 * np.pi * hour / 24),
                np.log1p(position),
                np.log1p(since_same_h),
                (occurrence == 1).astype(np.float64),
                np.log1p(occurrence),
            ],
            axis=1,
        ).astype(np.float32)

        # aggregates: at every event, or (last_only) at each case's last event; the two agree row for row
        width = len(self.classes) + 1
        if last_only:
            at = offsets[1:] - 1
            counts = np.bincount(case_of * width + klass, minlength=n_cases * width).reshape(n_cases, width).astype(np.float64)
            n_in = np.bincount(case_of, weights=(direction == 2), minlength=n_cases)
            n_out = np.bincount(case_of, weights=(direction == 3), minlength=n_cases)
            node_masked = np.where(has_node, node, -1.0)
            max_node = np.maximum.reduceat(node_masked, offsets[:-1]) if n else node_masked
        else:
            at = slice(None)
            counts = _segment_cumsum_onehot(klass, width, offsets, case_of)
            n_in = _segment_cumsum((direction == 2).astype(np.float64), first)
            n_out = _segment_cumsum((direction == 3).astype(np.float64), first)
            max_node = _segment_cummax(np.where(has_node, node, -1.0), case_of)
        prefix_len = position[at] + 1.0
        elapsed_at = elapsed_h[at]
        fixed = np.stack(
            [
                np.log1p(prefix_len),
                np.log1p(elapsed_at),
                log_gap[at],
                np.log1p(elapsed_at / prefix_len),
                np.nan_to_num(amount_ff[at], nan=0.0),
                hour[first][at] if n else hour,
                weekday[first][at] if n else weekday,
                hour[at],
                weekday[at],
                (counts > 0).sum(axis=1),
                np.log1p(n_in),
                np.log1p(n_out),
                np.nan_to_num(node_ff[at], nan=-1.0),
                max_node,
                np.log1p(since_same_h[at]),
                np.log1p(occurrence[at]),
            ],
            axis=1,
        )
        agg = np.concatenate(
            [np.log1p(counts), fixed, np.stack([klass[at], res[at]], axis=1).astype(np.float64)], axis=1
        ).astype(np.float32)
        return cat, num, agg, offsets


def _same_activity_history(act: np.ndarray, ts: np.ndarray, case_of: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per event: hours since the previous event of the same activity in the case (0 if none) and
    how many events of that activity the case has had so far (this one included)."""
    n = len(act)
    since = np.zeros(n)
    count = np.ones(n)
    if n == 0:
        return since, count
    order = np.lexsort((np.arange(n), act, case_of))  # by case, then activity, then time order
    same = np.zeros(n, bool)
    same[1:] = (case_of[order][1:] == case_of[order][:-1]) & (act[order][1:] == act[order][:-1])
    gaps = np.zeros(n)
    gaps[1:] = np.diff(ts[order]) / 3600.0
    since[order] = np.where(same, np.maximum(gaps, 0.0), 0.0)
    group_start = np.maximum.accumulate(np.where(~same, np.arange(n), 0))
    count[order] = np.arange(n) - group_start + 1
    return since, count


class _Codes(dict):
    def __missing__(self, key: str) -> int:
        return UNK


def _codes(vocabulary: list[str], events: list, attribute: str, n: int) -> np.ndarray:
    table = _Codes((v, i + 2) for i, v in enumerate(vocabulary))
    return np.fromiter(map(table.__getitem__, map(attrgetter(attribute), events)), np.int64, n)


def _optional_floats(events: list, attribute: str, n: int) -> np.ndarray:
    values = [np.nan if v is None else v for v in map(attrgetter(attribute), events)]
    return np.fromiter(values, np.float64, n)


def _stats(values: np.ndarray) -> tuple[list[float], list[float]]:
    if len(values) == 0:
        return [0.0] * values.shape[1], [1.0] * values.shape[1]
    mean = values.mean(axis=0, dtype=np.float64)
    std = values.std(axis=0, dtype=np.float64)
    std[std < 1e-6] = 1.0
    return [float(x) for x in mean], [float(x) for x in std]


def _forward_fill(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Last non-NaN value within each case up to each row (NaN when none yet)."""
    n = len(values)
    idx = np.where(~np.isnan(values), np.arange(n), -1)
    np.maximum.accumulate(idx, out=idx)
    valid = idx >= first
    out = np.full(n, np.nan)
    out[valid] = values[idx[valid]]
    return out


def _segment_cumsum(values: np.ndarray, first: np.ndarray) -> np.ndarray:
    total = np.concatenate([[0.0], np.cumsum(values)])
    return total[1:] - total[first]


def _segment_cumsum_onehot(codes: np.ndarray, width: int, offsets: np.ndarray, case_of: np.ndarray) -> np.ndarray:
    n = len(codes)
    onehot = np.zeros((n + 1, width), np.int32)
    onehot[np.arange(1, n + 1), codes] = 1
    np.cumsum(onehot, axis=0, out=onehot)
    return (onehot[1:] - onehot[offsets[:-1]][case_of]).astype(np.float64)


def _segment_cummax(values: np.ndarray, case_of: np.ndarray) -> np.ndarray:
    if len(values) == 0:
        return values
    span = float(np.max(np.abs(values))) * 2 + 2
    shifted = values + case_of * span
    return np.maximum.accumulate(shifted) - case_of * span
