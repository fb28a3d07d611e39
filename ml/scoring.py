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
from ml.features import EventColumns
from ml.models.base import IntentModel

DEFAULT_CHUNK = 4096  # cases encoded at a time: bounded memory, and small arrays are reused (fewer page faults)


def length_sorted_chunks(lengths: np.ndarray, chunk: int = DEFAULT_CHUNK) -> list[np.ndarray]:
    """Case indexes in chunks of similar length: batches inside a chunk then carry little padding."""
    order = np.argsort(lengths, kind="stable")
    return [order[i : i + chunk] for i in range(0, len(order), chunk)]


def score_cases(model: IntentModel, cases: Sequence[Case], *, chunk: int = DEFAULT_CHUNK) -> np.ndarray:
    """Calibrated P(sign) of each case's full sequence, aligned with ``cases``."""
    return score_columns(model, model.spec.columns(list(cases)), chunk=chunk)


def score_columns(model: IntentModel, columns: EventColumns, *, chunk: int = DEFAULT_CHUNK) -> np.ndarray:
    """:func:`score_cases` for cases already read into arrays (:func:`explain_cases` cuts variants
    from them). (Encoding the next chunk in a helper thread while torch scores the current one was
    measured and gained nothing on two cores: torch's two compute threads already keep both busy.)"""
    out = np.zeros(len(columns))
    for index in length_sorted_chunks(columns.lengths, chunk):
        encoded = model.spec.encode_columns(columns.cases(index), last_only=True)
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

    Returns the full score and the ``top_k`` events with the largest absolute effect."""
    return explain_cases(model, [case], top_k=top_k, max_events=max_events)[0]


def explain_cases(
    model: IntentModel, cases: Sequence[Case], *, top_k: int = 3, max_events: int = 64, chunk: int = 256
) -> list[tuple[float, list[Reason]]]:
    """:func:`explain_case` for many cases, their leave-one-out variants scored together.

    A customer with n events needs n + 1 scores; scored one customer at a time that is n + 1
    sequences in a tiny batch, so the per-call cost dominates. Here each customer's events are
    read once, the variants of ``chunk`` customers are cut from those arrays (no Event is read
    again) and scored together in length-sorted padded batches like any scoring."""
    results: list[tuple[float, list[Reason]]] = []
    for start in range(0, len(cases), chunk):
        part = cases[start : start + chunk]
        columns = model.spec.columns(part)  # each event read once; the variants are cut from the arrays
        rows, lengths, ids, spans = [], [], [], []
        for j, case in enumerate(part):
            n, offset = len(case), int(columns.offsets[j])
            first = max(0, n - max_events)
            spans.append((len(lengths), first))
            rows.append(np.arange(offset, offset + n))
            lengths.append(n)
            if n > 1:
                left_out = np.arange(first, n)
                keep = np.arange(n)[None, :] != left_out[:, None]  # one row per variant
                rows.append(offset + np.broadcast_to(np.arange(n), keep.shape)[keep])
                lengths.extend([n - 1] * len(left_out))
            ids.extend([case.case_id] * (1 + (n - first if n > 1 else 0)))
        variants = columns.take(np.concatenate(rows), np.asarray(lengths, np.int64), ids)
        scores = score_columns(model, variants)
        for case, (begin, first) in zip(part, spans):
            full = float(scores[begin])
            events = case.events
            reasons = [
                Reason(i, events[i].activity, events[i].timestamp, full - float(scores[begin + 1 + i - first]))
                for i in range(first, len(events))
            ] if len(events) > 1 else []
            reasons.sort(key=lambda r: -abs(r.effect))
            results.append((full, reasons[:top_k]))
    return results


def explain_log(model: IntentModel, log: EventLog, case_ids: Iterable[str] | None = None, *, top_k: int = 3):
    """``{case_id: (score, [Reason...])}`` for the chosen (default: all) cases."""
    by_id = log.by_id()
    wanted = list(case_ids) if case_ids is not None else list(by_id)
    return dict(zip(wanted, explain_cases(model, [by_id[cid] for cid in wanted], top_k=top_k)))
