"""AUC (pooled and mean per prefix length) and Brier score over a prefix set."""

from __future__ import annotations

import numpy as np

from ml.dataset import PrefixSet


def auc(y: np.ndarray, p: np.ndarray) -> float | None:
    """ROC AUC; None when only one class is present."""
    from sklearn.metrics import roc_auc_score

    if len(y) == 0 or np.min(y) == np.max(y):
        return None
    return float(roc_auc_score(y, p))


def per_length_auc(prefixes: PrefixSet, proba: np.ndarray) -> dict[int, float | None]:
    y = prefixes.y
    return {int(k): auc(y[prefixes.length == k], proba[prefixes.length == k]) for k in np.unique(prefixes.length)}


def score_metrics(prefixes: PrefixSet, proba: np.ndarray) -> dict[str, float | None]:
    """``auc`` pooled over all prefixes, ``auc_mean_prefix`` mean of per-length AUCs, ``brier``."""
    y = prefixes.y
    per_length = [a for a in per_length_auc(prefixes, proba).values() if a is not None]
    return {
        "auc": _round(auc(y, proba)),
        "auc_mean_prefix": _round(float(np.mean(per_length)) if per_length else None),
        "brier": _round(float(np.mean((proba - y) ** 2))) if len(y) else None,
    }


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)
