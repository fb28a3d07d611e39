"""The intent model in the product: a versioned registry, training on the team's own won/lost
customers, batched scoring into IntentScore rows with reasons, and the scheduler's jobs.

Registry: <model_dir>/versions/<version>/ (weights + manifest.json) and <model_dir>/ACTIVE naming
the active version. Without one, the model shipped in ml/shipped/default (trained by
`mammoth model train --from-db` on the demo organisation) is used."""
from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
from sqlalchemy import func, select

from core.db import Database, utcnow
from core.models import Activity, Customer, IntentScore
from core.models.collab import EXAMPLE_MODEL_PREFIX, OWN_MODEL_MIN_EACH
from core.settings import get_settings
from ml.crm import NODE_PREFIX, CrmLog, crm_log
from ml.dataset import cut_before as cut_log
from ml.eventlog import Case, EventLog

log = logging.getLogger("mammoth.ml")
SHIPPED = Path(__file__).resolve().parent / "shipped" / "default"
MIN_EACH = OWN_MODEL_MIN_EACH  # won and lost customers needed before the team's own model replaces the current one
HOLDOUT = 0.2
# A team's history is small (hundreds to thousands of customers): one network and a short
# schedule train in well under a minute on two cores; BPIC-scale evaluation uses the defaults.
# The piecewise-linear aggregates (agg_bins) that lift BPIC 2012 overfit a few hundred customers
# within one epoch (measured on the demo: best epoch 1, Platt slope 4.5, open customers' median
# score 0.89 against a 44 % win rate), so a team's model uses the plain head.
CRM_PARAMS = {"members": 1, "epochs": 12, "patience": 3, "agg_bins": 0}
TOP_REASONS = 3


class NotEnoughData(ValueError):
    pass


def model_dir() -> Path:
    return Path(get_settings().model_dir)


def active_folder() -> Path:
    pointer = model_dir() / "ACTIVE"
    if pointer.exists():
        folder = model_dir() / "versions" / pointer.read_text(encoding="utf-8").strip()
        if (folder / "manifest.json").exists():
            return folder
    return SHIPPED


SHIPPED_NAME = "shipped"


@dataclass
class VersionInfo:
    version: str  # folder name under versions/, or "shipped"
    backbone: str
    created_at: str
    holdout_auc: float | None
    previous_auc: float | None
    n_cases: int | None
    active: bool


def _point_active(version: str | None) -> None:
    """Write (or, for None, remove) the ACTIVE pointer atomically: a reader never sees half a name."""
    pointer = model_dir() / "ACTIVE"
    if version is None:
        pointer.unlink(missing_ok=True)
        return
    pointer.parent.mkdir(parents=True, exist_ok=True)
    tmp = pointer.with_suffix(".tmp")
    tmp.write_text(version, encoding="utf-8")
    tmp.replace(pointer)


def list_versions() -> list[VersionInfo]:
    """The registry's versions, oldest first, then the shipped model; exactly one is active."""
    from ml.registry import read_manifest

    active = active_folder()
    folders = [f for f in (model_dir() / "versions").glob("*") if f.name != "pending"]
    manifests = {f: read_manifest(f) for f in folders if (f / "manifest.json").exists()}
    registered = sorted(manifests, key=lambda f: (manifests[f].get("created_at", ""), len(f.name), f.name))  # -2 before -10
    if (SHIPPED / "manifest.json").exists():
        manifests[SHIPPED] = read_manifest(SHIPPED)
        registered.append(SHIPPED)
    out = []
    for folder in registered:
        m = manifests[folder]
        metrics = m.get("metrics") or {}
        out.append(VersionInfo(SHIPPED_NAME if folder == SHIPPED else folder.name, m.get("backbone", "?"),
                               m.get("created_at", ""), metrics.get("holdout_auc"),
                               metrics.get("previous_holdout_auc"), (m.get("training") or {}).get("n_cases"),
                               folder.resolve() == active.resolve()))
    return out


def activate(version: str) -> Path:
    """Make a registered version (or "shipped": the model in the repository) the active one, e.g.
    to roll back a retrain that looked better on the holdout than it is. The folder must load."""
    from ml.registry import load_model

    if version == SHIPPED_NAME:
        _point_active(None)
        return SHIPPED
    folder = model_dir() / "versions" / version
    if version in ("", ".", "..", "pending") or "/" in version or not (folder / "manifest.json").exists():
        known = ", ".join(v.version for v in list_versions()) or "none"
        raise ValueError(f"no model version {version!r}; known: {known}")
    load_model(folder)  # refuse a folder that would not load at scoring time
    _point_active(version)
    return folder


def load_active():
    from ml.registry import load_model

    folder = active_folder()
    return load_model(folder) if (folder / "manifest.json").exists() else None


# ------------------------------------------------------------------ training
def holdout_auc(model, log: EventLog, labels: dict[str, int], max_len: int = 40) -> float | None:
    """Pooled AUC over every prefix of the held-out cases."""
    from ml.metrics import auc
    from ml.scoring import score_cases

    prefixes, y = [], []
    for case in log.cases:
        for n in range(1, min(len(case), max_len) + 1):
            prefixes.append(case.head(n))
            y.append(labels[case.case_id])
    if not prefixes:
        return None
    return auc(np.array(y), score_cases(model, prefixes))


@dataclass
class TrainResult:
    version: str
    folder: Path
    holdout_auc: float | None
    previous_auc: float | None
    activated: bool


def train_from_db(db: Database, *, backbone: str = "lstm", seed: int = 0, min_each: int = MIN_EACH,
                  out: Path | None = None, progress=None, params: dict | None = None) -> TrainResult:
    """Train on the closed customers that started first; compare with the active model on the
    later ones (a time-ordered holdout); activate the new version only if it does better.
    `out` writes the model to a folder and activates nothing (used to build the shipped one)."""
    from ml.registry import save_model
    from ml.train import train_model

    with db.reader() as s:
        data = crm_log(s)
    closed = data.log.select(c for c in data.log.case_ids if c in data.labels)
    closed = cut_log(closed, data.cut_before)
    won = sum(data.labels[c] for c in closed.case_ids)
    lost = len(closed) - won
    if won < min_each or lost < min_each:
        raise NotEnoughData(f"need at least {min_each} won and {min_each} lost customers; have {won} won, {lost} lost")
    cases = sorted(closed.cases, key=lambda c: c.start)
    cut = int(len(cases) * (1 - HOLDOUT))
    train, holdout = closed.with_cases(cases[:cut]), closed.with_cases(cases[cut:])
    model, record = train_model(train, data.labels, backbone, seed=seed, progress=progress,
                                params=params if params is not None else (CRM_PARAMS if backbone != "gbm" else None))
    new_auc = holdout_auc(model, holdout, data.labels)
    current = None if out is not None else load_active()
    old_auc = holdout_auc(current, holdout, data.labels) if current is not None else None
    should_activate = out is None and (old_auc is None or (new_auc or 0) > old_auc)
    target = out or model_dir() / "versions" / "pending"
    if target.exists() and out is None:
        shutil.rmtree(target)
    folder = save_model(model, target, data_hash=record["data_hash"],
                        unique_in=None if out else model_dir() / "versions",
                        metrics={"holdout_auc": new_auc, "previous_holdout_auc": old_auc,
                                 "validation": record["valid_metrics"]},
                        training={**record, "source": "crm", "cut_before": data.cut_before})
    from ml.registry import read_manifest

    version = read_manifest(folder)["version"]
    if out is None:
        folder = Path(shutil.move(str(folder), str(model_dir() / "versions" / version)))
        if should_activate:
            _point_active(version)
    return TrainResult(version, folder, new_auc, old_auc, should_activate)



# ------------------------------------------------------------------ scoring
def _reason(data: CrmLog, case: Case, r) -> dict:
    event = case.events[r.index]
    out = {"activity": r.activity, "at": event.timestamp.replace(tzinfo=None).isoformat(timespec="minutes"),
           "delta": round(float(r.effect), 3)}
    if r.activity.startswith(NODE_PREFIX):
        outcome, _, key = r.activity[len(NODE_PREFIX):].partition(":")
        out.update(kind="node", outcome=outcome, node=data.titles.get(r.activity, key).split(":")[0])
    else:
        out.update(kind="type", type=r.activity)
    return out


def score_customers(db: Database, *, customer_ids: list[int] | None = None, now: datetime | None = None,
                    explain: bool = True, chunk: int = 4096) -> int:
    """Score open customers (all, or these) in batches and write IntentScore rows with the top
    reasons (leave one event out). Returns how many were scored."""
    from ml.scoring import explain_cases, score_cases

    model = load_active()
    if model is None:
        log.warning("no intent model available (train one with `mammoth model train --from-db`)")
        return 0
    version = model.manifest_info["version"]
    if active_folder() == SHIPPED:  # the card tells reps these numbers come from the example model
        version = EXAMPLE_MODEL_PREFIX + version
    now = now or utcnow()
    with db.reader() as s:
        data = crm_log(s, customer_ids=customer_ids, open_only=True)
    open_log = cut_log(data.log, data.cut_before)
    cases = open_log.cases
    written = 0
    for start in range(0, len(cases), chunk):
        part = cases[start:start + chunk]
        if explain:  # the full score comes with the leave-one-out variants, in the same batches
            explained = explain_cases(model, part, top_k=TOP_REASONS)
        else:
            explained = [(float(p), []) for p in score_cases(model, part)]
        rows = [dict(customer_id=int(case.case_id), score=score, model_version=version, computed_at=now,
                     reasons=[_reason(data, case, r) for r in top])
                for case, (score, top) in zip(part, explained)]
        with db.session() as s:
            s.bulk_insert_mappings(IntentScore, rows)
        written += len(rows)
    return written


def changed_customers(db: Database) -> list[int]:
    """Open customers with an activity newer than their latest score (or never scored)."""
    with db.reader() as s:
        latest_score = (select(IntentScore.customer_id, func.max(IntentScore.computed_at).label("at"))
                        .group_by(IntentScore.customer_id).subquery())
        latest_act = (select(Activity.customer_id, func.max(Activity.created_at).label("at"))
                      .where(Activity.active.is_(True)).group_by(Activity.customer_id).subquery())
        stmt = (select(Customer.id).join(latest_act, latest_act.c.customer_id == Customer.id)
                .outerjoin(latest_score, latest_score.c.customer_id == Customer.id)
                .where(Customer.active.is_(True), Customer.status.in_(("lead", "active")),
                       (latest_score.c.at.is_(None)) | (latest_act.c.at > latest_score.c.at)))
        return list(s.scalars(stmt))


def rescore_changed(db: Database) -> int:
    ids = changed_customers(db)
    return score_customers(db, customer_ids=ids) if ids else 0


def retrain_if_better(db: Database) -> TrainResult | None:
    try:
        result = train_from_db(db)
    except NotEnoughData as exc:
        log.info("weekly retrain skipped: %s", exc)
        return None
    log.info("retrained %s: holdout AUC %.3f vs %s; %s", result.version, result.holdout_auc or 0,
             result.previous_auc, "activated" if result.activated else "kept the current model")
    return result
