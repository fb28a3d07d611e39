"""Saved models are folders: weights + ``manifest.json``. Loading needs only the folder.

Backbone classes are imported lazily, so reading a manifest (or ``import ml``) never imports torch.
"""

from __future__ import annotations

import importlib
import json
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ml.models.base import dump_json

if TYPE_CHECKING:
    from ml.models.base import IntentModel

MANIFEST = "manifest.json"
FORMAT = 1
BACKBONES = {
    "lstm": "ml.models.lstm:LSTMModel",
    "transformer": "ml.models.transformer:TransformerModel",
    "gbm": "ml.models.gbm:GBMModel",
}


def backbone_class(name: str) -> type[IntentModel]:
    try:
        module_name, attr = BACKBONES[name].split(":")
    except KeyError:
        raise ValueError(f"unknown backbone {name!r} (choose from {', '.join(BACKBONES)})") from None
    return getattr(importlib.import_module(module_name), attr)


def create_model(backbone: str, spec, **params: Any) -> IntentModel:
    return backbone_class(backbone)(spec, **params)


def save_model(
    model: IntentModel,
    folder: str | Path,
    *,
    data_hash: str = "",
    metrics: dict[str, Any] | None = None,
    training: dict[str, Any] | None = None,
    version: str | None = None,
    unique_in: Path | None = None,
) -> Path:
    """Write weights and manifest. ``version`` defaults to ``<backbone>-<UTC time>-<hash[:8]>``,
    with a counter when ``unique_in`` already holds a folder of that name (two trainings on the
    same data within a second must not overwrite each other, least of all the active one)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    created = datetime.now(timezone.utc).replace(microsecond=0)
    if version is None:
        version = base = f"{model.backbone}-{created:%Y%m%dT%H%M%SZ}-{(data_hash or 'nohash')[:8]}"
        n = 1
        while unique_in is not None and (unique_in / version).exists():
            n += 1
            version = f"{base}-{n}"
    files = model._save_weights(folder)
    manifest = {
        "format": FORMAT,
        "version": version,
        "created_at": created.isoformat(),
        "training_data_hash": data_hash,
        "training": training or {},
        "metrics": metrics or {},
        "files": files,
        **model.manifest(),
    }
    dump_json(folder / MANIFEST, manifest)
    return folder


def read_manifest(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"no {MANIFEST} in {folder}") from None
    if manifest.get("format") != FORMAT:
        raise ValueError(f"{path}: unsupported model format {manifest.get('format')!r}")
    return manifest


def load_model(folder: str | Path) -> IntentModel:
    folder = Path(folder)
    manifest = read_manifest(folder)
    model = backbone_class(manifest["backbone"]).from_manifest(folder, manifest)
    model.manifest_info = manifest
    return model
