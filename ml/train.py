"""Train a production model on a labelled event log and save it as a folder.

Same data path as the evaluation protocol, minus the test split: labelled cases, outcome cut,
the last ``valid_fraction`` of the period as validation slice (early stopping + calibration), then a
refit on everything. The CRM passes its activities through :func:`ml.eventlog.from_rows` and its
won/lost customers as ``labels``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ml.dataset import DEFAULT_MAX_PREFIX, PrefixSet, cut_before as cut_log, data_hash, label_vector, max_prefix_length, temporal_split
from ml.eventlog import EventLog
from ml.features import FeatureSpec
from ml.models.base import IntentModel, Progress

MIN_CASES = 20


def train_model(
    log: EventLog,
    labels: Mapping[str, int],
    backbone: str = "lstm",
    *,
    cut_before: Iterable[str] = (),
    valid_fraction: float = 0.2,
    max_prefix_cap: int = DEFAULT_MAX_PREFIX,
    seed: int = 0,
    params: Mapping[str, Any] | None = None,
    progress: Progress | None = None,
) -> tuple[IntentModel, dict[str, Any]]:
    """Return the fitted model and a ``training`` record (hash, sizes, validation metrics).

    Raises ``ValueError`` when there are too few labelled cases or only one outcome.
    """
    from ml.evaluate import set_determinism
    from ml.registry import create_model

    log = cut_log(log.select(c for c in log.case_ids if c in labels), cut_before)
    outcomes = {labels[c] for c in log.case_ids}
    if len(log) < MIN_CASES or outcomes != {0, 1}:
        raise ValueError(
            f"need at least {MIN_CASES} labelled cases with both outcomes; got {len(log)} with {sorted(outcomes)}"
        )
    split = temporal_split(log, valid_fraction)
    max_len = max_prefix_length(log, labels, cap=max_prefix_cap)
    spec = FeatureSpec.fit(log)

    def prefixes(part: EventLog) -> PrefixSet:
        encoded = spec.encode(part)
        return PrefixSet.all_prefixes(encoded, max_len, label_vector(encoded, labels))

    fit, valid, final = prefixes(split.train), prefixes(split.test), prefixes(log)
    set_determinism(seed)
    model = create_model(backbone, spec, **dict(params or {}))
    model.fit(fit, valid, final=final, seed=seed, progress=progress)
    record = {
        "data_hash": data_hash(log, labels),
        "n_cases": len(log),
        "n_positive": int(sum(labels[c] for c in log.case_ids)),
        "n_prefixes": len(final),
        "max_prefix_len": max_len,
        "cut_before": sorted(set(cut_before)),
        "valid_start": split.test_start.isoformat(),
        "seed": seed,
        "valid_metrics": model.fit_info.get("valid_metrics", {}),
    }
    return model, record


def train_and_save(
    log: EventLog, labels: Mapping[str, int], folder: str | Path, backbone: str = "lstm", **kwargs: Any
) -> Path:
    """Train with :func:`train_model` and write the model folder (weights + manifest.json)."""
    from ml.registry import save_model

    model, record = train_model(log, labels, backbone, **kwargs)
    return save_model(
        model, folder, data_hash=record["data_hash"], metrics={"validation": record["valid_metrics"]}, training=record
    )
