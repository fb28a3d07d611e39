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
from ml.metrics import score_metrics
from ml.features import EncodedLog, FeatureSpec

Progress = Callable[[str, float], None]  # (message, fraction done of this fit)


def _no_progress(_message: str, _fraction: float) -> None:
    pass


class IntentModel:
    backbone: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}
    # training-only knobs of earlier versions; saved manifests may still list them
    retired: ClassVar[frozenset[str]] = frozenset({"aux_time", "length_weight", "select", "aux_target"})

    def __init__(self, spec: FeatureSpec, **params: Any):
        unknown = set(params) - set(self.defaults)
        if unknown:
            raise TypeError(f"{self.backbone}: unknown parameter(s) {sorted(unknown)}")
        self.spec = spec
        self.params: dict[str, Any] = {**self.defaults, **params}
        self.calibration: tuple[float, float] = (1.0, 0.0)
        self.fit_info: dict[str, Any] = {}
        self.manifest_info: dict[str, Any] = {}  # filled by ml.registry.load_model

    @property
    def version(self) -> str:
        return self.manifest_info.get("version", "")

    # ------------------------------------------------------------------ to implement
    def _fit(self, train: PrefixSet, valid: PrefixSet | None, seed: int, progress: Progress) -> None:
        """Learn from ``train``; when ``valid`` is given, stop early on it and remember when."""
        raise NotImplementedError

    def _refit(self, final: PrefixSet, seed: int, progress: Progress) -> None:
        """Retrain from scratch on ``final`` for the epochs/rounds chosen by ``_fit``."""
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
        self,
        train: PrefixSet,
        valid: PrefixSet | None = None,
        *,
        final: PrefixSet | None = None,
        seed: int = 0,
        progress: Progress | None = None,
    ) -> IntentModel:
        """Fit on ``train`` with early stopping and Platt calibration on ``valid``.

        ``final`` (normally the whole training period, i.e. ``train`` plus the validation slice)
        makes the model retrain from scratch on it for the chosen number of epochs/rounds; the
        calibration fitted on ``valid`` is kept, since ``final`` has no held-out part left.
        """
        if train.labels is None or (final is not None and final.labels is None):
            raise ValueError("training prefixes need labels")
        progress = progress or _no_progress
        stage = (lambda msg, f: progress(msg, f / 2)) if final is not None else progress
        self._fit(train, valid, seed, stage)
        if valid is not None and len(valid) and valid.labels is not None:
            logits = self.decision_function(valid)
            self.calibration = fit_platt(logits, valid.y)
            # measured before any refit, on data the weights never saw
            self.fit_info["valid_metrics"] = score_metrics(valid, apply_platt(logits, *self.calibration))
        if final is not None:
            self._refit(final, seed, lambda msg, f: progress(f"refit {msg}", 0.5 + f / 2))
            self.fit_info["refit_prefixes"] = len(final)
        progress("done", 1.0)
        return self

    def score_last(self, encoded: EncodedLog) -> np.ndarray:
        """Uncalibrated logits of each case's full sequence (production scoring path)."""
        return self.decision_function(PrefixSet.last(encoded))

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
        params = {k: v for k, v in manifest.get("params", {}).items() if k not in cls.retired}
        model = cls(FeatureSpec.from_dict(manifest["feature_spec"]), **params)
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
