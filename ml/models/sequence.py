"""Shared machinery of the sequence backbones (LSTM, transformer). Imports torch — load lazily.

A network maps a padded batch of cases to one logit per event position: the logit at position
``t`` only depends on events ``0..t`` (unidirectional LSTM / causal attention), so one forward pass
scores every prefix of a case. Beside the sequence state, the aggregated prefix features of the
last event (``agg``, the GBM's view) are concatenated before the head.

Training: BCE over every prefix up to ``max_len``, Adam, early stopping on the validation slice,
an ensemble of ``members`` networks with different seeds whose logits are averaged.
"""

from __future__ import annotations

import copy
import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ml.dataset import PrefixSet
from ml.features import CAT_COLUMNS, NUM_COLUMNS, EncodedLog, FeatureSpec
from ml.models.base import IntentModel, Progress

WEIGHTS = "weights.pt"


class EventEncoder(nn.Module):
    """Embeddings of the categorical event columns concatenated with the numeric ones."""

    def __init__(self, cardinalities: list[int], dims: list[int], n_num: int):
        super().__init__()
        self.embeddings = nn.ModuleList(nn.Embedding(n, d, padding_idx=0) for n, d in zip(cardinalities, dims))
        self.out_dim = sum(dims) + n_num

    def forward(self, cat: torch.Tensor, num: torch.Tensor) -> torch.Tensor:
        parts = [emb(cat[..., i]) for i, emb in enumerate(self.embeddings)]
        parts.append(num)
        return torch.cat(parts, dim=-1)


def head(in_dim: int, hidden: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))


def embedding_dims(spec: FeatureSpec, params: dict[str, Any]) -> list[int]:
    base = {"activity": params["emb_activity"], "lifecycle": 4, "resource": params["emb_resource"], "weekday": 3, "hour": 4, "direction": 2}
    return [base[c] for c in CAT_COLUMNS]


class Batch:
    """A right-padded batch: event rows ``starts[i] .. starts[i] + lengths[i] - 1`` of ``data``."""

    def __init__(self, data: EncodedLog, starts: np.ndarray, lengths: np.ndarray, agg_index: list[int]):
        width = int(lengths.max())
        steps = np.arange(width)
        mask = steps[None, :] < lengths[:, None]
        rows = np.where(mask, starts[:, None] + steps[None, :], 0)
        self.lengths = torch.from_numpy(lengths.astype(np.int64))
        self.mask = torch.from_numpy(mask)
        self.cat = torch.from_numpy(data.cat[rows] * mask[..., None])
        self.num = torch.from_numpy(data.num[rows] * mask[..., None])
        self.agg = torch.from_numpy(data.agg[rows][..., agg_index] * mask[..., None])

    @classmethod
    def of_cases(cls, data: EncodedLog, cases: np.ndarray, max_len: int, agg_index: list[int]) -> Batch:
        return cls(data, data.offsets[cases], np.minimum(data.lengths[cases], max_len), agg_index)


class SequenceModel(IntentModel):
    """Base of the torch backbones; subclasses provide ``build_network``."""

    common_defaults: dict[str, Any] = {
        "emb_activity": 16,
        "emb_resource": 8,
        "dropout": 0.2,
        "head_hidden": 64,
        "use_agg": True,
        "members": 3,
        "epochs": 30,
        "patience": 5,
        "batch_size": 64,
        "lr": 2e-3,
        "weight_decay": 1e-5,
        "max_len": 40,
        "threads": 2,
    }

    def __init__(self, spec: FeatureSpec, **params: Any):
        super().__init__(spec, **params)
        self.members: list[nn.Module] = []

    # ------------------------------------------------------------------ network
    def build_network(self) -> nn.Module:
        raise NotImplementedError

    def _agg_index(self) -> list[int]:
        return self.spec.agg_numeric_index if self.params["use_agg"] else []

    def _new_encoder(self) -> EventEncoder:
        return EventEncoder(self.spec.cat_cardinalities, embedding_dims(self.spec, self.params), len(NUM_COLUMNS))

    # ------------------------------------------------------------------ training
    def _fit(self, train: PrefixSet, valid: PrefixSet | None, seed: int, progress: Progress) -> None:
        torch.set_num_threads(self.params["threads"])
        torch.use_deterministic_algorithms(True)
        max_len = min(self.params["max_len"], train.max_length)
        self.params["max_len"] = max_len
        cases = np.unique(train.case_index)
        labels = torch.from_numpy(train.labels.astype(np.float32))
        n_members = self.params["members"]
        self.members, history = [], []
        for m in range(n_members):
            torch.manual_seed(seed * 1000 + m)
            rng = np.random.default_rng(seed * 1000 + m)
            net = self.build_network()
            best = self._train_one(net, train.data, cases, labels, valid, max_len, rng, lambda f, m=m: progress(
                f"member {m + 1}/{n_members}", (m + f) / n_members))
            history.append(best)
            self.members.append(net)
        self.fit_info = {"members": history}
        progress("done", 1.0)

    def _train_one(self, net, data, cases, labels, valid, max_len, rng, progress) -> dict[str, Any]:
        opt = torch.optim.AdamW(net.parameters(), lr=self.params["lr"], weight_decay=self.params["weight_decay"])
        epochs, patience, bs = self.params["epochs"], self.params["patience"], self.params["batch_size"]
        # bucket by length so batches carry little padding; shuffle buckets and members within them
        order_by_len = cases[np.argsort(data.lengths[cases], kind="stable")]
        best_score, best_state, best_epoch, stale = -math.inf, None, 0, 0
        curve: list[float] = []
        agg_index = self._agg_index()
        for epoch in range(epochs):
            net.train()
            chunks = [order_by_len[i : i + bs] for i in range(0, len(order_by_len), bs)]
            for i in rng.permutation(len(chunks)):
                chunk = chunks[i]
                batch = Batch.of_cases(data, chunk, max_len, agg_index)
                logits = net(batch.cat, batch.num, batch.agg, batch.lengths)
                target = labels[torch.from_numpy(chunk)][:, None].expand_as(logits)
                loss = nn.functional.binary_cross_entropy_with_logits(logits[batch.mask], target[batch.mask])
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                opt.step()
            if valid is None or not len(valid):
                best_state, best_epoch = copy.deepcopy(net.state_dict()), epoch + 1
                progress((epoch + 1) / epochs)
                continue
            score = _selection_score(valid, self._logits(net, valid))
            curve.append(round(score, 4))
            if score > best_score + 1e-4:
                best_score, best_state, best_epoch, stale = score, copy.deepcopy(net.state_dict()), epoch + 1, 0
            else:
                stale += 1
            progress((epoch + 1) / epochs)
            if stale >= patience:
                break
        net.load_state_dict(best_state)
        net.eval()
        return {"best_epoch": best_epoch, "valid_score": None if best_score == -math.inf else round(best_score, 4), "curve": curve}

    # ------------------------------------------------------------------ scoring
    @torch.inference_mode()
    def _logits(self, net: nn.Module, prefixes: PrefixSet, batch_size: int = 512) -> np.ndarray:
        """One forward pass per case up to its longest requested prefix; gather the asked positions."""
        net.eval()
        data = prefixes.data
        cases, inverse = np.unique(prefixes.case_index, return_inverse=True)
        need = np.zeros(len(cases), np.int64)
        np.maximum.at(need, inverse, prefixes.length)
        order = np.argsort(need, kind="stable")  # similar lengths together: little padding
        slot = np.empty(len(cases), np.int64)
        slot[order] = np.arange(len(cases))
        prefix_slot = slot[inverse]
        out = np.zeros(len(prefixes), np.float32)
        agg_index = self._agg_index()
        for start in range(0, len(order), batch_size):
            sel = order[start : start + batch_size]
            batch = Batch(data, data.offsets[cases[sel]], need[sel], agg_index)
            logits = net(batch.cat, batch.num, batch.agg, batch.lengths).numpy()
            hit = np.flatnonzero((prefix_slot >= start) & (prefix_slot < start + len(sel)))
            out[hit] = logits[prefix_slot[hit] - start, prefixes.length[hit] - 1]
        return out

    def decision_function(self, prefixes: PrefixSet) -> np.ndarray:
        if not self.members:
            raise RuntimeError("model is not fitted")
        torch.set_num_threads(self.params["threads"])
        return np.mean([self._logits(net, prefixes) for net in self.members], axis=0)

    # ------------------------------------------------------------------ persistence
    def _save_weights(self, folder: Path) -> list[str]:
        torch.save({"members": [net.state_dict() for net in self.members]}, folder / WEIGHTS)
        return [WEIGHTS]

    def _load_weights(self, folder: Path, manifest: dict[str, Any]) -> None:
        state = torch.load(folder / WEIGHTS, map_location="cpu", weights_only=True)
        self.members = []
        for member_state in state["members"]:
            net = self.build_network()
            net.load_state_dict(member_state)
            net.eval()
            self.members.append(net)


def _selection_score(valid: PrefixSet, logits: np.ndarray) -> float:
    """Early-stopping criterion: pooled AUC plus mean per-length AUC on the validation slice."""
    from ml.evaluate import auc

    y = valid.y
    pooled = auc(y, logits) or 0.5
    per = [auc(y[valid.length == k], logits[valid.length == k]) for k in np.unique(valid.length)]
    per = [a for a in per if a is not None]
    return pooled + (float(np.mean(per)) if per else 0.5)


def state_bytes(net: nn.Module) -> bytes:
    buffer = io.BytesIO()
    torch.save(net.state_dict(), buffer)
    return buffer.getvalue()
