"""Shared machinery of the sequence backbones (LSTM, transformer). Imports torch — load lazily.

A network maps a padded batch of cases to one logit per event position: the logit at position
``t`` only depends on events ``0..t`` (unidirectional LSTM / causal attention), so one forward pass
scores every prefix of a case. Beside the sequence state, the aggregated prefix features of the
last event (``agg``, the GBM's view) are concatenated before the head.

Training: BCE over every prefix up to ``max_len`` plus an auxiliary next-activity loss, AdamW,
batches of similar length, early stopping on the validation slice (pooled + mean per-length AUC);
an ensemble of ``members`` networks with different seeds (trained side by side in worker
processes) whose logits are averaged; ``_refit`` retrains each member on the whole period for its
chosen number of epochs.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
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


class AggEncoder(nn.Module):
    """The prefix aggregates as the head sees them: the standardised values and, when bin edges are
    given, their piecewise-linear encoding (per column, one input per quantile bin: 0 below the bin,
    1 above it, linear inside). An MLP then gets GBM-like thresholds for free instead of having to
    learn them from one number per column (Gorishniy et al., "On embeddings for numerical features
    in tabular deep learning", 2022).
    """

    def __init__(self, n_agg: int, edges: list[list[float]] | None):
        super().__init__()
        self.binned = bool(edges)
        bins = max((len(e) - 1 for e in edges), default=0) if edges else 0
        self.out_dim = n_agg * (1 + bins)
        if self.binned:
            lo = torch.zeros(n_agg, bins)
            width = torch.full((n_agg, bins), 1e9)  # unused bins of a column: always 0
            for j, column in enumerate(edges):
                for b in range(len(column) - 1):
                    lo[j, b] = column[b]
                    width[j, b] = max(column[b + 1] - column[b], 1e-6)
            self.register_buffer("lo", lo)
            self.register_buffer("width", width)

    def forward(self, agg: torch.Tensor) -> torch.Tensor:
        if not self.binned:
            return agg
        ple = torch.clamp((agg[..., None] - self.lo) / self.width, 0.0, 1.0)
        return torch.cat([agg, ple.flatten(-2)], dim=-1)


def agg_bin_edges(agg: np.ndarray, bins: int) -> list[list[float]]:
    """Quantile edges per column of the (standardised) aggregates, duplicates removed."""
    quantiles = np.linspace(0, 1, bins + 1)
    return [[float(x) for x in np.unique(np.quantile(agg[:, j], quantiles))] for j in range(agg.shape[1])]


def head(in_dim: int, hidden: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Dropout(dropout), nn.Linear(in_dim, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))


def embedding_dims(spec: FeatureSpec, params: dict[str, Any]) -> list[int]:
    base = {"activity": params["emb_activity"], "lifecycle": 4, "resource": params["emb_resource"], "weekday": 3,
            "hour": 4, "direction": 2, "amount_bin": 4, "start_hour": 4, "start_weekday": 3,
            "elapsed_bin": 4, "gap_bin": 4}
    return [base[c] for c in CAT_COLUMNS]


class Batch:
    """A right-padded batch: event rows ``starts[i] .. starts[i] + lengths[i] - 1`` of ``data``."""

    def __init__(self, data: EncodedLog, starts: np.ndarray, lengths: np.ndarray, agg_index: list[int] | None):
        width = int(lengths.max())
        steps = np.arange(width)
        mask = steps[None, :] < lengths[:, None]
        rows = np.where(mask, starts[:, None] + steps[None, :], 0)
        self.lengths = torch.from_numpy(lengths.astype(np.int64))
        self.mask = torch.from_numpy(mask)
        self.cat = torch.from_numpy(data.cat[rows] * mask[..., None])
        self.num = torch.from_numpy(data.num[rows] * mask[..., None])
        self.agg = None if agg_index is None else torch.from_numpy(data.agg[rows][..., agg_index] * mask[..., None])

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
        "workers": 2,  # processes training ensemble members side by side (1 = in this process)
        "aux_next": 0.5,  # weight of the auxiliary next-activity loss (0 = off)
        "agg_bins": 8,  # piecewise-linear encoding of the aggregates in this many quantile bins (0 = off)
        "agg_edges": None,  # their edges, fit on the training prefixes (set by fit, saved in the manifest)
    }

    def __init__(self, spec: FeatureSpec, **params: Any):
        super().__init__(spec, **params)
        self.members: list[nn.Module] = []

    # ------------------------------------------------------------------ network
    def build_network(self) -> nn.Module:
        raise NotImplementedError

    @property
    def n_next(self) -> int:
        """Outputs of the next-activity head: every activity code plus END."""
        return self.spec.cat_cardinalities[0] + 1

    def _agg_index(self) -> list[int]:
        return self.spec.agg_numeric_index if self.params["use_agg"] else []

    def _new_agg_encoder(self) -> AggEncoder:
        return AggEncoder(len(self._agg_index()), self.params["agg_edges"] if self.params["agg_bins"] else None)

    def _new_encoder(self) -> EventEncoder:
        return EventEncoder(self.spec.cat_cardinalities, embedding_dims(self.spec, self.params), len(NUM_COLUMNS))

    # ------------------------------------------------------------------ training
    def _fit(self, train: PrefixSet, valid: PrefixSet | None, seed: int, progress: Progress) -> None:
        self.params["max_len"] = min(self.params["max_len"], train.max_length)
        if self.params["agg_bins"] and self._agg_index():
            rows = train.event_rows()
            self.params["agg_edges"] = agg_bin_edges(train.data.agg[rows][:, self._agg_index()], self.params["agg_bins"])
        jobs = [(train, valid, seed, m, None) for m in range(self.params["members"])]
        results = self._run_members(jobs, progress)
        self.members = [net for net, _ in results]
        self.fit_info = {"members": [info for _, info in results]}

    def _refit(self, final: PrefixSet, seed: int, progress: Progress) -> None:
        jobs = [(final, None, seed, m, info["best_epoch"]) for m, info in enumerate(self.fit_info["members"])]
        self.members = [net for net, _ in self._run_members(jobs, progress)]

    def _run_members(self, jobs: list[tuple], progress: Progress) -> list[tuple[nn.Module, dict[str, Any]]]:
        """Train ensemble members, in ``workers`` processes of one thread each when there are several.

        Each member is seeded by (seed, member index) alone, so the result does not depend on which
        process trains it; the ensemble is the same for a seed whatever the scheduling.
        """
        workers = min(self.params["workers"], len(jobs))
        if workers <= 1:
            results = []
            for i, job in enumerate(jobs):
                report = lambda f, i=i: progress(f"member {i + 1}/{len(jobs)}", (i + f) / len(jobs))  # noqa: E731
                results.append(self._train_member(*job, progress=report, threads=self.params["threads"]))
            return results
        from ml.models.workers import run_jobs

        payload = {"backbone": self.backbone, "spec": self.spec.to_dict(), "params": self.params,
                   "threads": max(1, self.params["threads"] // workers)}
        progress(f"{len(jobs)} members in {workers} processes", 0.0)
        outputs = run_jobs([{**payload, "job": job} for job in jobs], workers,
                           lambda done: progress(f"{done}/{len(jobs)} members", done / len(jobs)))
        results = []
        for output in outputs:
            net = self.build_network()
            net.load_state_dict(output["state"])
            net.eval()
            results.append((net, output["info"]))
        return results

    def _train_member(
        self, train: PrefixSet, valid: PrefixSet | None, seed: int, member: int, epochs: int | None,
        *, progress: Callable[[float], None] = lambda _f: None, threads: int = 1,
    ) -> tuple[nn.Module, dict[str, Any]]:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(True)
        torch.manual_seed(seed * 1000 + member)
        rng = np.random.default_rng(seed * 1000 + member)
        net = self.build_network()
        cases = np.unique(train.case_index)
        labels = torch.from_numpy(train.labels.astype(np.float32))
        info = self._train_one(net, train.data, cases, labels, valid, self.params["max_len"], rng, progress, epochs)
        return net, info

    def _train_one(self, net, data, cases, labels, valid, max_len, rng, progress, epochs=None) -> dict[str, Any]:
        opt = torch.optim.AdamW(net.parameters(), lr=self.params["lr"], weight_decay=self.params["weight_decay"])
        epochs = epochs or self.params["epochs"]
        patience, bs = self.params["patience"], self.params["batch_size"]
        case_len = np.minimum(data.lengths[cases], max_len)
        best_score, best_state, best_epoch, stale = -math.inf, None, 0, 0
        curve: list[float] = []
        agg_index = self._agg_index()
        aux_weight, end = self.params["aux_next"], self.n_next - 1
        for epoch in range(epochs):
            net.train()
            # batches of similar length (little padding), composition and order reshuffled each epoch
            order = cases[np.argsort(case_len + rng.uniform(0, 4, len(cases)), kind="stable")]
            chunks = [order[i : i + bs] for i in range(0, len(order), bs)]
            for i in rng.permutation(len(chunks)):
                chunk = chunks[i]
                batch = Batch.of_cases(data, chunk, max_len, agg_index)
                states = net.sequence(batch.cat, batch.num, batch.lengths)
                logits = net.score(states, batch.agg)
                target = labels[torch.from_numpy(chunk)][:, None].expand_as(logits)
                loss = nn.functional.binary_cross_entropy_with_logits(logits[batch.mask], target[batch.mask])
                if aux_weight:
                    aux_target, aux_mask = _next_activity_targets(batch, data.lengths[chunk], end)
                    aux_logits = net.next_head(states)
                    loss = loss + aux_weight * nn.functional.cross_entropy(aux_logits[aux_mask], aux_target[aux_mask])
                opt.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                opt.step()
            if valid is None or not len(valid):
                best_epoch = epoch + 1
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
        if best_state is not None:
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

    window: int | None = None  # longest sequence the network accepts; longer ones keep their last events

    @torch.inference_mode()
    def score_last(self, encoded: EncodedLog, batch_size: int = 2048) -> np.ndarray:
        """Logits of every case's full sequence: batches of similar length, one pass per member."""
        if not self.members:
            raise RuntimeError("model is not fitted")
        torch.set_num_threads(self.params["threads"])
        lengths = encoded.lengths
        order = np.argsort(lengths, kind="stable")
        last_rows = encoded.offsets[1:] - 1
        agg_last_all = encoded.last_agg()[:, self._agg_index()]
        out = np.zeros(len(encoded), np.float32)
        for start in range(0, len(order), batch_size):
            sel = order[start : start + batch_size]
            size = lengths[sel]
            if self.window is not None:
                size = np.minimum(size, self.window)
            batch = Batch(encoded, last_rows[sel] + 1 - size, size, None)
            agg_last = torch.from_numpy(agg_last_all[sel])
            total = sum(net.last(batch.cat, batch.num, agg_last, batch.lengths) for net in self.members)
            out[sel] = (total / len(self.members)).numpy()
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
            # heads of retired training-only tasks are not part of the scoring network
            member_state = {k: v for k, v in member_state.items() if not k.startswith("time_head.")}
            net.load_state_dict(member_state)
            net.eval()
            self.members.append(net)


def _next_activity_targets(batch: Batch, full_lengths: np.ndarray, end: int):
    """Next event's activity code per position, ``end`` after the last event. The last position of
    a batch row cut at ``max_len`` has an unseen successor and is masked out. (Training only: the
    auxiliary task shapes the state; nothing of it is used at scoring time.)
    """
    act = batch.cat[..., 0]
    target = torch.full_like(act, end)
    target[:, :-1] = act[:, 1:]
    lengths = batch.lengths
    rows = torch.arange(len(lengths))
    target[rows, lengths - 1] = end
    mask = batch.mask.clone()
    cut = torch.from_numpy(full_lengths > lengths.numpy())
    mask[rows[cut], lengths[cut] - 1] = False
    return target, mask


def _selection_score(valid: PrefixSet, logits: np.ndarray) -> float:
    """Early-stopping criterion: pooled AUC plus mean per-length AUC on the validation slice."""
    from ml.metrics import auc

    y = valid.y
    pooled = auc(y, logits) or 0.5
    per = [auc(y[valid.length == k], logits[valid.length == k]) for k in np.unique(valid.length)]
    per = [a for a in per if a is not None]
    return pooled + (float(np.mean(per)) if per else 0.5)
