"""The evaluation protocol: every backbone trained and scored on exactly the same prefixes.

1. keep labelled cases; cut every case before its first ``cut_before`` activity (drop empty cases);
2. temporal split 80/20 by case start; training events at/after the test start are dropped;
3. the last 20 % of the training period (same rule again) is the validation slice: models learn
   from the rest, stop early and are Platt-calibrated on it, then are refit on the whole training
   period for the chosen number of epochs/rounds (the most recent weeks matter: BPIC drifts);
4. prefixes of length 1..min(40, 90th percentile of positive training case length);
5. AUC pooled over all test prefixes, mean of per-length AUCs, Brier score.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from ml.dataset import (
    DEFAULT_MAX_PREFIX,
    PrefixSet,
    cut_before as cut_log,
    label_vector,
    max_prefix_length,
    temporal_split,
)
from ml.eventlog import EventLog, read_event_log, read_labels
from ml.features import FeatureSpec
from ml.metrics import auc, per_length_auc, score_metrics  # noqa: F401  (re-exported)

BACKBONES = ("lstm", "transformer", "gbm")
BPIC2012_CUT = (
    "O_ACCEPTED",
    "O_DECLINED",
    "O_CANCELLED",
    "A_APPROVED",
    "A_REGISTERED",
    "A_ACTIVATED",
    "A_DECLINED",
    "A_CANCELLED",
)
ProgressFactory = Callable[[str], Callable[[str, float], None]]


@dataclass
class Prepared:
    spec: FeatureSpec
    train: PrefixSet  # the whole training period
    fit: PrefixSet  # training period minus the validation slice
    valid: PrefixSet  # last slice of the training period
    test: PrefixSet
    max_len: int
    test_start: datetime
    valid_start: datetime
    n_train_cases: int
    n_test_cases: int


def prepare(
    log: EventLog,
    labels: Mapping[str, int],
    cut_before: Iterable[str] = (),
    *,
    test_fraction: float = 0.2,
    valid_fraction: float = 0.2,
    max_prefix_cap: int = DEFAULT_MAX_PREFIX,
) -> Prepared:
    log = log.select(c for c in log.case_ids if c in labels)
    log = cut_log(log, cut_before)
    if len(log) < 10:
        raise ValueError(f"only {len(log)} labelled non-empty cases; need at least 10")
    split = temporal_split(log, test_fraction)
    inner = temporal_split(split.train, valid_fraction)
    max_len = max_prefix_length(split.train, labels, cap=max_prefix_cap)
    spec = FeatureSpec.fit(split.train)

    def prefixes(part: EventLog) -> PrefixSet:
        encoded = spec.encode(part)
        return PrefixSet.all_prefixes(encoded, max_len, label_vector(encoded, labels))

    return Prepared(
        spec=spec,
        train=prefixes(split.train),
        fit=prefixes(inner.train),
        valid=prefixes(inner.test),
        test=prefixes(split.test),
        max_len=max_len,
        test_start=split.test_start,
        valid_start=inner.test_start,
        n_train_cases=len(split.train),
        n_test_cases=len(split.test),
    )


def set_determinism(seed: int, threads: int = 2) -> None:
    """Seed numpy and, if torch is already in use, torch too (called before every fit)."""
    np.random.seed(seed)
    import sys

    if "torch" in sys.modules:
        import torch

        torch.manual_seed(seed)
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)


def run_protocol(
    data: Prepared,
    *,
    backbones: Sequence[str] = BACKBONES,
    seed: int = 0,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: ProgressFactory | None = None,
    refit: bool = True,
) -> dict[str, Any]:
    from ml.registry import create_model

    result: dict[str, Any] = {}
    started = time.perf_counter()
    seconds: dict[str, float] = {}
    for name in backbones:
        t0 = time.perf_counter()
        set_determinism(seed)
        model = create_model(name, data.spec, **(params or {}).get(name, {}))
        model.fit(data.fit, data.valid, final=data.train if refit else None, seed=seed,
                  progress=progress(name) if progress else None)
        proba = model.predict_proba(data.test)
        result[name] = score_metrics(data.test, proba)
        seconds[name] = round(time.perf_counter() - t0, 1)
    result["n_test_prefixes"] = int(len(data.test))
    result["train_seconds"] = round(time.perf_counter() - started, 1)
    result["details"] = {
        "seconds": seconds,
        "max_prefix_len": data.max_len,
        "n_train_cases": data.n_train_cases,
        "n_test_cases": data.n_test_cases,
        "n_fit_prefixes": int(len(data.fit)),
        "n_valid_prefixes": int(len(data.valid)),
        "test_start": data.test_start.isoformat(),
        "valid_start": data.valid_start.isoformat(),
        "seed": seed,
    }
    return result


def evaluate(
    events: str | Path,
    labels: str | Path,
    *,
    label_column: str = "label",
    cut_before: Iterable[str] = (),
    seed: int = 0,
    backbones: Sequence[str] = BACKBONES,
    params: Mapping[str, Mapping[str, Any]] | None = None,
    progress: ProgressFactory | None = None,
) -> dict[str, Any]:
    """Read the files, run the protocol, return the JSON-able result."""
    log = read_event_log(events)
    label_map = read_labels(labels, label_column)
    data = prepare(log, label_map, list(cut_before))
    return run_protocol(data, backbones=backbones, seed=seed, params=params, progress=progress)
