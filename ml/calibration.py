"""Platt scaling: p = sigmoid(a * logit + b), fit by Newton's method on a validation slice."""

from __future__ import annotations

import numpy as np


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def fit_platt(logits: np.ndarray, y: np.ndarray, *, l2: float = 1e-3, iterations: int = 50) -> tuple[float, float]:
    """Return (a, b); the identity (1, 0) when there is nothing to fit on."""
    z = np.asarray(logits, np.float64)
    t = np.asarray(y, np.float64)
    if len(z) == 0 or t.min() == t.max():
        return 1.0, 0.0
    # Platt's smoothed targets keep a and b finite on separable data
    n_pos, n_neg = t.sum(), len(t) - t.sum()
    t = np.where(t > 0.5, (n_pos + 1) / (n_pos + 2), 1 / (n_neg + 2))
    w = np.array([1.0, 0.0])
    x = np.stack([z, np.ones_like(z)], axis=1)
    for _ in range(iterations):
        p = sigmoid(x @ w)
        grad = x.T @ (p - t) + l2 * w
        hess = (x * (p * (1 - p))[:, None]).T @ x + l2 * np.eye(2)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-9:
            break
    return float(w[0]), float(w[1])


def apply_platt(logits: np.ndarray, a: float, b: float) -> np.ndarray:
    return sigmoid(a * np.asarray(logits, np.float64) + b)


def logit(p: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    p = np.clip(np.asarray(p, np.float64), eps, 1 - eps)
    return np.log(p / (1 - p))
