"""Batch scoring of whole cases (customers) and leave-one-event-out reasons.

``score_log`` is what the product calls: every customer's full activity sequence in, one calibrated
P(sign) per customer out (numbers, never tensors). Encoding is vectorised over all events and the
sequence backbones run padded/packed batches under ``torch.inference_mode``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from ml.calibration import apply_platt
from ml.eventlog import Case, EventLog
from ml.models.base import IntentModel

DEFAULT_CHUNK = 4096  # cases encoded at a time: bounded memory, and small arrays are reused (fewer page faults)


def length_sorted_chunks(cases: Sequence[Case], chunk: int = DEFAULT_CHUNK) -> list[np.ndarray]:
    """Case indexes in chunks of similar length: batches inside a chunk then carry little padding."""
    order = np.argsort(np.fromiter((len(c) for c in cases), np.int64, count=len(cases)), kind="stable")
    return [order[i : i + chunk] for i in range(0, len(order), chunk)]


def score_cases(model: IntentModel, cases: Sequence[Case], *, chunk: int = DEFAULT_CHUNK) -> np.ndarray:
    """Calibrated P(sign) of each case's full sequence, aligned with ``cases``.

    (Encoding the next chunk in a helper thread while torch scores the current one was measured and
    gained nothing on two cores: torch's two compute threads already keep both busy.)
    """
    out = np.zeros(len(cases))
    for index in length_sorted_chunks(cases, chunk):
        encoded = model.spec.encode([cases[i] for i in index], last_only=True)
        out[index] = apply_platt(model.score_last(encoded), *model.calibration)
    return out


def score_log(model: IntentModel, log: EventLog, *, chunk: int = DEFAULT_CHUNK) -> dict[str, float]:
    """``{case_id: P(sign)}`` for every case in ``log``."""
    proba = score_cases(model, log.cases, chunk=chunk)
    return {case.case_id: float(p) for case, p in zip(log.cases, proba)}


@dataclass(frozen=True)
class Reason:
    """How much one past event moved the score: ``effect = P(with it) - P(without it)``."""

    index: int  # position of the event in the case
    activity: str
    timestamp: datetime
    effect: float


def explain_case(model: IntentModel, case: Case, *, top_k: int = 3, max_events: int = 64) -> tuple[float, list[Reason]]:
    """Leave-one-event-out: rescore the case with each of its last ``max_events`` events removed.

    Returns the full score and the ``top_k`` events with the largest absolute effect (all variants
    go through one batch).
    """
    events = case.events
    first = max(0, len(events) - max_events)
    variants = [case] + [
        Case(case.case_id, events[:i] + events[i + 1 :]) for i in range(first, len(events)) if len(events) > 1
    ]
    scores = score_cases(model, variants)
    full = float(scores[0])
    reasons = [
        Reason(i, events[i].activity, events[i].timestamp, full - float(s))
        for i, s in zip(range(first, len(events)), scores[1:])
    ]
    reasons.sort(key=lambda r: -abs(r.effect))
    return full, reasons[:top_k]


def explain_log(model: IntentModel, log: EventLog, case_ids: Iterable[str] | None = None, *, top_k: int = 3):
    """``{case_id: (score, [Reason...])}`` for the chosen (default: all) cases."""
    by_id = log.by_id()
    wanted = list(case_ids) if case_ids is not None else list(by_id)
    return {cid: explain_case(model, by_id[cid], top_k=top_k) for cid in wanted}
