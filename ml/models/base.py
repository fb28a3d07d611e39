"""The one interface every backbone implements.

``fit(train, valid)`` learns from a :class:`~ml.dataset.PrefixSet` (early stopping and Platt
calibration on ``valid``, a later slice of the training period); ``predict_proba(prefixes)`` returns
one calibrated P(sign) per prefix; ``save(folder)`` / ``ml.registry.load_model(folder)`` round-trip
through a folder holding the weights and ``manifest.json``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ml.calibration import apply_platt, fit_platt
from ml.dataset import PrefixSet
from ml.features import FeatureSpec

Progress = Callable[[str, float], None]  # (message, fraction done of this fit)


def _no_progress(_message: str, _fraction: float) -> None:
    pass


class IntentModel:
    backbone: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, spec: FeatureSpec, **params: Any):
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise TypeError(f"{self.backbone}: unknown parameter(s) {sorted(unknown)}")
        self.spec = spec
        self.params: dict[str, Any] = {**self.defaults, **params}
        self.calibration: tuple[float, float] = (1.0, 0.0)
        self.fit_info: dict[str, Any] = {}

    # ------------------------------------------------------------------ to implement
    def _fit(self, train: PrefixSet, valid: PrefixSet | None, seed: int, progress: Progress) -> None:
        raise NotImplementedError

    def decision_function(self, prefixes: PrefixSet) -> np.ndarray:
        """Uncalibrated logits, one per prefix."""
        raise NotImplementedError

    def _save_weights(self, folder: Path) -> list[str]:
        raise NotImplementedError

    def _load_weights(self, folder: Path, manifest: dict[str, Any]) -> None:
        raise NotImplementedError

    # ------------------------------------------------------------------ shared
    def fit(
        self, train: PrefixSet, valid: PrefixSet | None = None, *, seed: int = 0, progress: Progress | None = None
    ) -> IntentModel:
        if train.labels is None:
            raise ValueError("training prefixes need labels")
        self._fit(train, valid, seed, progress or _no_progress)
        if valid is not None and len(valid) and valid.labels is not None:
            self.calibration = fit_platt(self.decision_function(valid), valid.y)
        return self

    def predict_proba(self, prefixes: PrefixSet) -> np.ndarray:
        if len(prefixes) == 0:
            return np.zeros(0)
        return apply_platt(self.decision_function(prefixes), *self.calibration)

    def manifest(self) -> dict[str, Any]:
        return {
            "backbone": self.backbone,
            "params": self.params,
            "calibration": {"method": "platt", "a": self.calibration[0], "b": self.calibration[1]},
            "feature_spec": self.spec.to_dict(),
            "fit": self.fit_info,
        }

    def save(self, folder: str | Path, **info: Any) -> Path:
        from ml.registry import save_model

        return save_model(self, folder, **info)

    @classmethod
    def from_manifest(cls, folder: Path, manifest: dict[str, Any]) -> IntentModel:
        model = cls(FeatureSpec.from_dict(manifest["feature_spec"]), **manifest.get("params", {}))
        cal = manifest.get("calibration", {})
        model.calibration = (float(cal.get("a", 1.0)), float(cal.get("b", 0.0)))
        model.fit_info = manifest.get("fit", {})
        model._load_weights(folder, manifest)
        return model


def json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dump_json(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False, default=json_default), encoding="utf-8")
