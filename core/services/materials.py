"""武器云: the material library — sync from a folder, record who sent what. Search lives in
core.services.material_search, effectiveness in core.services.material_stats."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from core.errors import Invalid, NotFound
from core.models import MATERIAL_KINDS, Material, MaterialUse, User
from core.services.access import acting, get_customer

CATALOG = "catalog.yaml"
KIND_BY_SUFFIX = {
    ".png": "image", ".jpg": "image", ".jpeg": "image", ".gif": "image", ".webp": "image",
    ".mp4": "video", ".mov": "video", ".doc": "doc", ".docx": "doc", ".xls": "sheet", ".xlsx": "sheet",
    ".csv": "sheet", ".ppt": "slides", ".pptx": "slides", ".pdf": "pdf",
}


def _checksum(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class SyncReport:
    added: list[str]
    changed: list[str]
    unchanged: list[str]
    removed: list[str]


def sync_materials(s: Session, org_id: int, folder: Path) -> SyncReport:
    """Read catalog.yaml (title, category, tags, nodes per file) and the files it lists.
    New files are added, files whose checksum changed are updated and lose their cached
    platform file ids (the old upload is stale); unchanged files keep them."""
    folder = Path(folder)
    if not folder.is_dir():
        raise NotFound(f"no folder {folder}", entity="folder", ref=str(folder))
    catalog: dict = {}
    if (folder / CATALOG).exists():
        doc = yaml.safe_load((folder / CATALOG).read_text(encoding="utf-8")) or {}
        for i, item in enumerate(doc.get("materials", []), start=1):
            if not isinstance(item, dict) or not item.get("file"):
                raise Invalid(f"{CATALOG}: entry {i} has no 'file'", field="file", line=i)
            catalog[item["file"]] = item
    existing = {m.key: m for m in s.scalars(select(Material).where(Material.org_id == org_id))}
    report = SyncReport([], [], [], [])
    seen = set()
    # With a catalogue, only catalogued files are material (the folder may hold a README or the
    # script that made them); without one, every visible file is.
    candidates = ([folder / name for name in catalog] if catalog else
                  [p for p in folder.rglob("*") if p.is_file() and not p.name.startswith(".")])
    for path in sorted(p for p in candidates if p.is_file()):
        key = path.relative_to(folder).as_posix()
        seen.add(key)
        meta = catalog.get(key, {})
        kind = meta.get("kind") or KIND_BY_SUFFIX.get(path.suffix.lower(), "other")
        if kind not in MATERIAL_KINDS:
            raise Invalid(f"{key}: unknown kind {kind}", field="kind", value=kind)
        checksum = _checksum(path)
        material = existing.get(key)
        if material is None:
            material = Material(org_id=org_id, key=key, file_ids={})
            s.add(material)
            report.added.append(key)
        elif material.checksum != checksum:
            material.file_ids = {}
            report.changed.append(key)
        else:
            report.unchanged.append(key)
        material.title = meta.get("title") or path.stem
        material.kind = kind
        material.path = str(path.resolve())
        material.category = meta.get("category", "") or ""
        material.tags = list(meta.get("tags", []) or [])
        material.node_keys = list(meta.get("nodes", []) or [])
        material.checksum = checksum
        material.size = path.stat().st_size
        material.active = True
    for key, material in existing.items():
        if key not in seen and material.path and material.active:
            material.active = False
            report.removed.append(key)
    s.flush()
    return report


def list_categories(s: Session, actor: User) -> list[str]:
    return sorted({c for c in s.scalars(select(Material.category).where(
        Material.org_id == actor.org_id, Material.active.is_(True))) if c})


def get_material(s: Session, actor: User, material_id: int) -> Material:
    m = s.get(Material, material_id)
    if m is None or m.org_id != actor.org_id or not m.active:
        raise NotFound("material not found", entity="material", ref=material_id)
    return m


def record_material_use(s: Session, actor: User, material_id: int, *, customer_id: int | None = None,
                        node_key: str | None = None, platform: str | None = None) -> MaterialUse:
    acting(s, actor)
    material = get_material(s, actor, material_id)
    if customer_id is not None:
        get_customer(s, actor, customer_id)
    use = MaterialUse(material_id=material.id, user_id=actor.id, customer_id=customer_id,
                      node_key=node_key, platform=platform)
    s.add(use)
    s.flush()
    return use


def cache_file_id(s: Session, material_id: int, platform: str, file_id: str) -> None:
    material = s.get(Material, material_id)
    if material is not None and material.file_ids.get(platform) != file_id:
        material.file_ids = {**material.file_ids, platform: file_id}
        s.flush()
